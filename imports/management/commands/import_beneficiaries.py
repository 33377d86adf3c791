"""Scheduled imports from a drop folder: `manage.py import_beneficiaries <folder> [--organism caf] [--dry-run]`.

Imports every file of the folder (not its subfolders) in name order, in this process: a file whose
SHA-256 an earlier finished import already had is skipped (importing it again would change nothing);
each imported file is moved to the `traites/` subfolder. A refused file (wrong structure, unreadable)
stays where it is for someone to look at, and the command exits with status 1. With --dry-run, files
are checked and counted, nothing is written to the files and nothing is moved. Counts go to stdout.
"""

import hashlib
import shutil
import sys
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from casework.models import Beneficiary
from imports.models import BeneficiaryImport
from imports.services import FORMATS_BY_EXTENSION, beneficiary_import_from_path, beneficiary_import_process

DONE_FOLDER = "traites"


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


class Command(BaseCommand):
    help = "Importe les fichiers CAF/MSA d'un dossier de dépôt (les fichiers traités vont dans traites/)."

    def add_arguments(self, parser):
        parser.add_argument("folder", type=Path)
        parser.add_argument("--organism", choices=Beneficiary.Organism.values, default="")
        parser.add_argument("--dry-run", action="store_true", help="Vérifier et compter sans rien enregistrer.")

    def handle(self, *args, folder: Path, organism: str, dry_run: bool, **options):
        if not folder.is_dir():
            raise CommandError(f"Le dossier {folder} n'existe pas.")
        done_folder = folder / DONE_FOLDER
        refused = 0
        for path in sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")):
            if path.suffix.lower() not in FORMATS_BY_EXTENSION:
                self.stderr.write(f"{path.name} : ignoré (ni CSV, ni .xlsx, ni XML).")
                continue
            imported = BeneficiaryImport.objects.filter(
                sha256=file_sha256(path), dry_run=False, status=BeneficiaryImport.Status.DONE
            ).first()
            if imported is not None:
                self.stdout.write(f"{path.name} : déjà importé le {imported.finished_at:%d/%m/%Y}, ignoré.")
                if not dry_run:
                    self._move(path, done_folder)
                continue
            try:
                created = beneficiary_import_from_path(path=path, default_organism=organism, dry_run=dry_run)
            except ValidationError as error:
                refused += 1
                self.stderr.write(f"{path.name} : refusé. {' '.join(error.messages)}")
                continue
            result = beneficiary_import_process(import_id=created.pk)
            created.refresh_from_db()
            if result is None:
                refused += 1
                self.stderr.write(f"{path.name} : refusé. {created.error}")
                continue
            self.stdout.write(self._summary(path, created))
            if not dry_run:
                self._move(path, done_folder)
        if refused:
            sys.exit(1)

    def _summary(self, path: Path, done: BeneficiaryImport) -> str:
        if done.dry_run:
            return (
                f"{path.name} (simulation) : {done.rows_processed} lignes, {done.created_count} à créer, "
                f"{done.updated_count} à mettre à jour, {done.closed_count} à terminer, "
                f"{done.unchanged_count} inchangés, {done.refused_count} refusées, "
                f"{done.warning_count} avec avertissement."
            )
        return (
            f"{path.name} : {done.created_count} créés, {done.updated_count} mis à jour, "
            f"{done.closed_count} terminés, {done.unchanged_count} inchangés, {done.refused_count} lignes refusées "
            f"et {done.warning_count} avec avertissement sur {done.rows_processed}."
        )

    def _move(self, path: Path, done_folder: Path) -> None:
        done_folder.mkdir(exist_ok=True)
        target = done_folder / path.name
        counter = 1
        while target.exists():
            target = done_folder / f"{path.stem}-{counter}{path.suffix}"
            counter += 1
        shutil.move(path, target)
