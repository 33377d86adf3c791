from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from casework.models import Beneficiary
from casework.permissions import GrantDrift, sync_grants


class Command(BaseCommand):
    help = (
        "Vérifie que les droits d'accès aux dossiers (django-guardian) correspondent aux désignations, "
        "partages et accès exceptionnels ; avec --fix, les reconstruit et supprime les droits orphelins "
        "ou expirés."
    )

    def add_arguments(self, parser):
        parser.add_argument("--fix", action="store_true", help="Corriger l'écart au lieu de seulement le signaler.")
        parser.add_argument("--chunk-size", type=int, default=2000)

    def handle(self, *args, fix: bool, chunk_size: int, **options):
        drift = GrantDrift()
        ids = list(Beneficiary.objects.order_by("pk").values_list("pk", flat=True))
        for start in range(0, len(ids), chunk_size):
            with transaction.atomic():
                drift += sync_grants(ids[start : start + chunk_size], dry_run=not fix)
        summary = (
            f"{len(ids)} dossiers vérifiés ; écart : {drift.created} droit(s) manquant(s), "
            f"{drift.updated} échéance(s) fausse(s), {drift.deleted} droit(s) en trop, "
            f"sur {len(drift.files)} dossier(s)."
        )
        if drift.total and not fix:
            raise CommandError(summary + " Relancez avec --fix pour corriger.")
        self.stdout.write(summary + (" Corrigé." if drift.total else " Aucun écart."))
