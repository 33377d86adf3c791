"""`manage.py seed_demo`: the demo data set (see casework/demo.py). Refused in production."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from accounts.models import Role
from demo.data import BENEFICIARY_COUNT, DEPARTMENTS, SEED, STRUCTURES, SeedReport, seed_demo


class Command(BaseCommand):
    help = (
        "Crée les données de démonstration : un Département du Nord fictif (3 services, 6 structures), "
        "des comptes de démonstration et quelques centaines de bénéficiaires fictifs avec leur parcours. "
        "Peut être relancée sans doublon. Refusée en production."
    )

    def handle(self, *args, **options):
        # Known passwords and fictional people have no place in a real Département's database.
        if settings.PRODUCTION:
            raise CommandError(
                "Refusé : seed_demo crée des comptes au mot de passe connu et des bénéficiaires fictifs ; "
                "elle ne s'exécute jamais en production (PARCOURS_ENV=production)."
            )
        if not settings.DEMO_PASSWORD:
            raise CommandError("DEMO_PASSWORD est vide : définissez le mot de passe des comptes de démonstration.")
        report = seed_demo()
        self._write_summary(report)

    def _write_summary(self, report: SeedReport) -> None:
        write = self.stdout.write
        write(self.style.SUCCESS(f"Données de démonstration prêtes (Département du Nord fictif, graine {SEED})."))
        write(f"  {len(DEPARTMENTS)} services du Département, {len(STRUCTURES)} structures.")
        if report.created_beneficiaries:
            write(
                f"  {report.created_beneficiaries} bénéficiaires créés, dont {report.awaiting_orientation} "
                "en attente d'orientation (sans référent·e)."
            )
            details = ", ".join(f"{count} {name}" for name, count in report.created.items())
            write(f"  Avec leur parcours : {details}.")
        if report.existing_beneficiaries:
            if report.existing_beneficiaries == BENEFICIARY_COUNT:
                write(
                    f"  Les {BENEFICIARY_COUNT} bénéficiaires de démonstration existaient déjà : rien n'a été ajouté."
                )
            else:
                write(f"  {report.existing_beneficiaries} bénéficiaires de démonstration existaient déjà (inchangés).")
        write("")
        write("Comptes de démonstration (mots de passe remis à jour à chaque exécution) :")
        rows = [
            (user.username, f"{Role(account.role).label} – {structure.name}")
            for account, user, structure in report.accounts
        ]
        username_width = max(len(username) for username, _ in rows) + 2
        role_width = max(len(role) for _, role in rows) + 2
        for username, role in rows:
            write(f"  {username.ljust(username_width)}{role.ljust(role_width)}mot de passe : {settings.DEMO_PASSWORD}")
