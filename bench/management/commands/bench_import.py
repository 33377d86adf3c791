"""Measure imports: rows per second of a creation run and of a replay of the same file, queries per batch,
and the peak resident memory (VmHWM) of the process that imports.

For a scratch database only (it adds synthetic files and, if missing, the intake structure); refused in
production:

    createdb bench && DATABASE_URL=postgres:///bench python manage.py migrate
    DATABASE_URL=postgres:///bench python manage.py bench_import --rows 100000

The synthetic files are removed at the end (with their import traces) unless --keep is given.
"""

import tempfile
import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from accounts.models import Structure
from bench.management.commands.bench_audit_export import peak_memory_kib
from casework.models import Beneficiary, HouseholdMember
from imports.models import BeneficiaryImport, ImportChange, ImportRowError
from imports.services import beneficiary_import_from_path, beneficiary_import_process, import_file_path

# Synthetic allocataire numbers start here (13 digits), far from real ones.
FIRST_NUMBER = 9_900_000_000_000
HEADER = (
    "organisme;numero_allocataire;nom;prenom;nom_naissance;date_naissance;sexe;adresse;code_postal;commune;"
    "code_insee;telephone;courriel;statut_droits;date_statut;sdd;date_entree_rsa;foyer"
)
STATUSES = ("ouvert", "ouvert", "ouvert", "suspendu", "clos")


def write_synthetic_csv(path: Path, rows: int, *, first_number: int = FIRST_NUMBER) -> Path:
    """A CSV of `rows` distinct beneficiaries, as a CAF export would look (one in five with a household)."""
    with path.open("w", encoding="utf-8", newline="") as handle:
        handle.write(HEADER + "\n")
        for index in range(rows):
            number = first_number + index
            day = 1 + index % 28
            household = f"CJT:Martin:Léa:0{1 + index % 9}/01/1980|ENF:Martin:Tom:04/03/2015" if index % 5 == 0 else ""
            handle.write(
                f"CAF;{number};Martin{index % 997};Camille;;{day:02d}/05/1985;F;{index} rue des Lilas;59000;Lille;"
                f"59350;06{index % 100_000_000:08d};;{STATUSES[index % 5]};{day:02d}/01/2025;oui;01/01/2025;"
                f"{household}\n"
            )
    return path


class QueryCounter:
    def __init__(self):
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)


def remove_synthetic(first_number: int = FIRST_NUMBER) -> int:
    files = Beneficiary.objects.filter(allocataire_number__gte=str(first_number), allocataire_number__startswith="99")
    imports = BeneficiaryImport.objects.filter(changes__beneficiary__in=files).distinct()
    ImportChange.objects.filter(beneficiary__in=files).delete()
    HouseholdMember.objects.filter(beneficiary__in=files).delete()
    count, _ = files.delete()
    for beneficiary_import in imports:
        ImportRowError.objects.filter(beneficiary_import=beneficiary_import).delete()
    return count


class Command(BaseCommand):
    help = "Mesure le débit des imports (création puis rejeu), les requêtes par lot et la mémoire de pointe."

    def add_arguments(self, parser):
        parser.add_argument("--rows", type=int, default=10_000)
        parser.add_argument("--keep", action="store_true", help="Garder les dossiers synthétiques.")

    def handle(self, *args, rows: int, keep: bool, **options):
        if settings.PRODUCTION:
            raise CommandError("bench_import ne s'exécute pas en production : il écrit des dossiers synthétiques.")
        if rows < 1:
            raise CommandError("--rows doit être positif.")
        Structure.objects.get_or_create(
            code=settings.IMPORT_INTAKE_STRUCTURE,
            defaults={"name": "Service insertion (banc d'essai)", "kind": Structure.Kind.DEPARTMENT_SERVICE},
        )
        with tempfile.TemporaryDirectory() as directory:
            path = write_synthetic_csv(Path(directory) / "banc-essai.csv", rows)
            size = path.stat().st_size
            self.stdout.write(
                f"{rows} lignes, {size / 1e6:.1f} Mo, lots de {settings.IMPORT_BATCH_SIZE}, {connection.vendor}"
            )
            for label in ("création", "rejeu"):
                self._run(label, path, rows)
        if not keep:
            self.stdout.write(f"{remove_synthetic()} dossiers synthétiques supprimés.")

    def _run(self, label: str, path: Path, rows: int) -> None:
        created = beneficiary_import_from_path(path=path, dry_run=False)
        counter = QueryCounter()
        started = time.perf_counter()
        with connection.execute_wrapper(counter):
            done = beneficiary_import_process(import_id=created.pk)
        elapsed = time.perf_counter() - started
        if done is None:
            created.refresh_from_db()
            raise CommandError(f"L'import a échoué : {created.error}")
        batches = -(-rows // settings.IMPORT_BATCH_SIZE)
        self.stdout.write(
            f"{label} : {elapsed:.1f} s, {rows / elapsed:,.0f} lignes/s ; {counter.count} requêtes "
            f"({counter.count / batches:.1f} par lot) ; créés {done.created_count}, mis à jour {done.updated_count}, "
            f"terminés {done.closed_count}, inchangés {done.unchanged_count}, refusées {done.refused_count} ; "
            f"mémoire de pointe du processus {peak_memory_kib() / 1024:.0f} Mo"
        )
        import_file_path(done).unlink(missing_ok=True)
