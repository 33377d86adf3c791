from django.core.management.base import BaseCommand, CommandError

from audit.trail import verify_chains


class Command(BaseCommand):
    help = "Vérifie la chaîne d'empreintes du journal d'audit et signale le premier maillon rompu."

    def handle(self, *args, **options):
        checked, broken, why = verify_chains()
        if broken is not None:
            raise CommandError(
                f"Maillon rompu : événement n° {broken.pk} du {broken.occurred_at:%d/%m/%Y %H:%M:%S} "
                f"(chaîne du {broken.chain_day:%d/%m/%Y}, n° {broken.chain_shard}, rang {broken.sequence}) : "
                f"{why}. {checked} événement(s) vérifié(s) jusque-là."
            )
        self.stdout.write(f"{checked} événement(s) vérifié(s) : la chaîne est intacte.")
