from django.conf import settings
from django.core.management.base import BaseCommand

from audit.retention import audit_events_purge_expired


class Command(BaseCommand):
    help = (
        "Supprime les événements d'audit des journées entières dont la durée de conservation "
        "(AUDIT_RETENTION_MONTHS) est passée, et enregistre la purge dans le journal. "
        "La tâche périodique purge_expired_audit_events fait la même chose."
    )

    def handle(self, *args, **options):
        result = audit_events_purge_expired()
        if not result.days:
            self.stdout.write(
                f"Rien à purger : aucun événement antérieur au {result.cutoff:%d/%m/%Y} "
                f"(conservation : {settings.AUDIT_RETENTION_MONTHS} mois)."
            )
            return
        first, last = min(result.days), max(result.days)
        self.stdout.write(
            f"{result.deleted} événement(s) supprimé(s), du {first:%d/%m/%Y} au {last:%d/%m/%Y} "
            f"({len(result.days)} journée(s)) ; conservation : {settings.AUDIT_RETENTION_MONTHS} mois."
        )
        if result.remaining_expired_days:
            self.stdout.write(
                f"{result.remaining_expired_days} journée(s) expirée(s) restent pour la prochaine exécution."
            )
