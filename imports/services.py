"""Imports of the CAF/MSA files: upload, dry run, real run, in the background (docs/imports.md).

A department admin uploads a file (`beneficiary_import_upload`): it is stored under
PRIVATE_MEDIA_ROOT/imports/ (outside the web root) under the import's public id, its structure is checked
at once (a file refused as a whole is a form error, nothing is queued), and the import is enqueued with
its primary key only. A dry run reads and checks every row and counts what would be created, updated,
closed and refused, writing nothing but its own counts and refused rows; `beneficiary_import_run` then
launches the real import of the same stored file.

The worker (`beneficiary_import_process`) claims the import (row lock, attempts, heartbeat), reads the
file from its start and applies it IMPORT_BATCH_SIZE rows at a time, each batch in its own transaction
with its progress (a conditional UPDATE that also proves the claim is still this attempt's). After a
crash, a new attempt re-reads the whole file: the batches already committed find nothing to change (an
update compares values, a creation finds the file by its key), so nothing is done twice. The counts of a
real import are taken from its ImportChange rows at the end, so they say what the import did over all its
attempts. `beneficiary_imports_sweep` enqueues again what a lost message or a dead worker left behind.
"""

import datetime
import hashlib
import itertools
import logging
import os
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db import transaction
from django.db.models import Count, Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from accounts.models import Structure, User
from casework.models import Beneficiary
from core.formats import file_size
from imports import tasks
from imports.apply import HOUSEHOLD_FIELD, ApplyContext, BatchCounts, end_reason, process_batch
from imports.models import BeneficiaryImport, ImportChange, ImportColumnMapping, ImportRowError
from imports.permissions import check_manages_imports
from imports.records import ImportFileError

logger = logging.getLogger(__name__)

IMPORT_DIRECTORY = "imports"
TEMPORARY_SUFFIX = ".part"
FORMATS_BY_EXTENSION = {
    ".csv": BeneficiaryImport.Format.CSV,
    ".txt": BeneficiaryImport.Format.CSV,
    ".xlsx": BeneficiaryImport.Format.XLSX,
    ".xml": BeneficiaryImport.Format.XML,
}
FINISHED = frozenset(
    {BeneficiaryImport.Status.CHECKED, BeneficiaryImport.Status.DONE, BeneficiaryImport.Status.FAILED}
)
WORKING = frozenset({BeneficiaryImport.Status.CHECKING, BeneficiaryImport.Status.RUNNING})

FAILED_RETRYING = "L'import a échoué (tentative {attempt} sur {max_attempts}) ; il sera relancé automatiquement."
FAILED_FINAL = (
    "L'import a échoué après {attempts} tentatives. Les lots déjà enregistrés le restent ; relancez l'import "
    "du même fichier (rien ne sera fait deux fois) et, si l'échec se répète, prévenez l'administrateur de Parcours."
)
FAILED_STALE = (
    "L'import ne s'est pas terminé après {attempts} tentatives (le traitement s'est interrompu). Relancez "
    "l'import du même fichier (rien ne sera fait deux fois) ; si l'échec se répète, prévenez l'administrateur "
    "de Parcours."
)
NO_INTAKE_STRUCTURE = (
    "La structure qui accueille les nouveaux dossiers (code « {code} », réglage IMPORT_INTAKE_STRUCTURE) "
    "n'existe pas : créez-la ou corrigez le réglage, puis déposez le fichier à nouveau."
)
FILE_MISSING = "Le fichier déposé n'est plus disponible sur le serveur : déposez-le à nouveau."


class ClaimLost(Exception):
    """Another attempt took the import over (the sweeper found this one silent for too long)."""


class ImportRefused(Exception):
    """The import cannot be done, and trying again would not change that (`message` in French)."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


# --- Where files live -----------------------------------------------------------------------------


def import_directory() -> Path:
    return Path(settings.PRIVATE_MEDIA_ROOT) / IMPORT_DIRECTORY


def import_file_path(beneficiary_import: BeneficiaryImport) -> Path:
    return import_directory() / beneficiary_import.file_name


def detect_format(filename: str) -> str:
    """The import format from the file's extension; ValidationError (French) for anything else."""
    extension = Path(filename).suffix.lower()
    if extension not in FORMATS_BY_EXTENSION:
        raise ValidationError(
            {"file": "Format non reconnu : déposez un fichier CSV (.csv), Excel (.xlsx) ou le flux XML CAF/MSA."}
        )
    return FORMATS_BY_EXTENSION[extension]


def _too_big_message() -> str:
    return f"Le fichier dépasse la taille maximale autorisée ({file_size(settings.IMPORT_MAX_BYTES)})."


def _store(chunks: Iterable[bytes], public_id: uuid.UUID, format: str) -> tuple[str, int, str]:
    """Write the chunks to the import directory under the public id; return (name, size, sha256).
    A file bigger than IMPORT_MAX_BYTES is refused before it is all written."""
    directory = import_directory()
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    name = f"{public_id}.{format}"
    partial = directory / f"{name}{TEMPORARY_SUFFIX}"
    digest = hashlib.sha256()
    size = 0
    try:
        with partial.open("wb") as handle:
            for chunk in chunks:
                size += len(chunk)
                if size > settings.IMPORT_MAX_BYTES:
                    raise ValidationError({"file": _too_big_message()})
                digest.update(chunk)
                handle.write(chunk)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(partial, directory / name)
    finally:
        partial.unlink(missing_ok=True)
    return name, size, digest.hexdigest()


def _check_structure(path: Path, *, filename: str, mapping: dict, default_organism: str) -> None:
    """Refuse at once a file refused as a whole (not a CSV/xlsx/XML flux, empty, missing a required
    column): ImportFileError is raised on the first row at the latest."""
    from imports.readers import read_import_file

    rows = read_import_file(
        path, filename=filename, mapping=mapping or None, default_organism=default_organism or None
    )
    try:
        next(rows, None)
    finally:
        close = getattr(rows, "close", None)
        if close is not None:
            close()


def _file_from_upload(uploaded_file) -> Iterable[bytes]:
    return uploaded_file.chunks()


def _file_from_path(path: Path, chunk_size: int = 1 << 20) -> Iterable[bytes]:
    with path.open("rb") as handle:
        while chunk := handle.read(chunk_size):
            yield chunk


def _create(
    *,
    actor: User | None,
    chunks: Iterable[bytes],
    original_name: str,
    default_organism: str,
    mapping: ImportColumnMapping | None,
    dry_run: bool,
    enqueue: bool,
) -> BeneficiaryImport:
    errors = {}
    if default_organism and default_organism not in Beneficiary.Organism.values:
        errors["default_organism"] = "Choisissez la CAF ou la MSA."
    format = detect_format(original_name)
    if errors:
        raise ValidationError(errors)
    public_id = uuid.uuid4()
    file_name, size, sha256 = _store(chunks, public_id, format)
    path = import_directory() / file_name
    mapping_values = dict(mapping.mapping) if mapping is not None else {}
    try:
        if size == 0:
            raise ImportFileError("Le fichier est vide.")
        _check_structure(path, filename=original_name, mapping=mapping_values, default_organism=default_organism)
    except ImportFileError as error:
        path.unlink(missing_ok=True)
        raise ValidationError({"file": error.message}) from None
    try:
        with transaction.atomic():
            beneficiary_import = BeneficiaryImport(
                public_id=public_id,
                uploaded_by=actor,
                original_name=original_name[:255],
                file_name=file_name,
                file_size=size,
                sha256=sha256,
                format=format,
                default_organism=default_organism,
                mapping_name=mapping.name if mapping is not None else "",
                mapping=mapping_values,
                dry_run=dry_run,
                status=BeneficiaryImport.Status.QUEUED if enqueue else BeneficiaryImport.Status.UPLOADED,
            )
            beneficiary_import.full_clean()
            beneficiary_import.save()
            if enqueue:
                _enqueue(beneficiary_import)
    except Exception:
        path.unlink(missing_ok=True)
        raise
    return beneficiary_import


def _enqueue(beneficiary_import: BeneficiaryImport) -> None:
    # The id only: broker messages are plain text, they never carry personal data.
    tasks.import_beneficiaries.delay_on_commit(beneficiary_import.pk)


def beneficiary_import_upload(
    *,
    actor: User,
    uploaded_file,
    default_organism: str = "",
    mapping: ImportColumnMapping | None = None,
    dry_run: bool = True,
) -> BeneficiaryImport:
    """Store an uploaded file, check its structure and enqueue its import (a dry run by default).

    Raises ValidationError (French, by field) for a file refused as a whole: wrong format, too big,
    empty, missing required column..."""
    check_manages_imports(actor)
    if uploaded_file.size is not None and uploaded_file.size > settings.IMPORT_MAX_BYTES:
        raise ValidationError({"file": _too_big_message()})
    return _create(
        actor=actor,
        chunks=_file_from_upload(uploaded_file),
        original_name=Path(uploaded_file.name).name,
        default_organism=default_organism,
        mapping=mapping,
        dry_run=dry_run,
        enqueue=True,
    )


def beneficiary_import_from_path(
    *, path: Path, default_organism: str = "", dry_run: bool = False, mapping: ImportColumnMapping | None = None
) -> BeneficiaryImport:
    """Store a file of the drop folder for a scheduled import (manage.py import_beneficiaries), not
    queued: the command processes it itself."""
    if path.stat().st_size > settings.IMPORT_MAX_BYTES:
        raise ValidationError({"file": _too_big_message()})
    return _create(
        actor=None,
        chunks=_file_from_path(path),
        original_name=path.name,
        default_organism=default_organism,
        mapping=mapping,
        dry_run=dry_run,
        enqueue=False,
    )


def beneficiary_import_run(*, actor: User, dry_run_import: BeneficiaryImport) -> BeneficiaryImport:
    """Launch the real import of the file a finished dry run checked (the same stored file)."""
    check_manages_imports(actor)
    with transaction.atomic():
        checked = BeneficiaryImport.objects.select_for_update(of=("self",)).get(pk=dry_run_import.pk)
        if not checked.dry_run or checked.status != BeneficiaryImport.Status.CHECKED:
            raise ValidationError("Seule une simulation terminée peut être lancée comme import.")
        launched = (
            BeneficiaryImport.objects.filter(dry_run_of=checked)
            .exclude(status=BeneficiaryImport.Status.FAILED)
            .order_by("-pk")
            .first()
        )
        if launched is not None:
            raise ValidationError("L'import de ce fichier a déjà été lancé depuis cette simulation.")
        if not import_file_path(checked).is_file():
            raise ValidationError(FILE_MISSING)
        real = BeneficiaryImport(
            uploaded_by=actor,
            original_name=checked.original_name,
            file_name=checked.file_name,
            file_size=checked.file_size,
            sha256=checked.sha256,
            format=checked.format,
            default_organism=checked.default_organism,
            mapping_name=checked.mapping_name,
            mapping=checked.mapping,
            dry_run=False,
            dry_run_of=checked,
            status=BeneficiaryImport.Status.QUEUED,
        )
        real.full_clean()
        real.save()
        _enqueue(real)
    return real


# --- The worker -----------------------------------------------------------------------------------


def _working_status(beneficiary_import: BeneficiaryImport) -> str:
    return BeneficiaryImport.Status.CHECKING if beneficiary_import.dry_run else BeneficiaryImport.Status.RUNNING


def _claim(import_id: int) -> BeneficiaryImport | None:
    """Take the import for one attempt, or None when there is nothing for this attempt to do."""
    now = timezone.now()
    stale_before = now - datetime.timedelta(seconds=settings.IMPORT_STALE_SECONDS)
    with transaction.atomic():
        found = BeneficiaryImport.objects.select_for_update(of=("self",)).filter(pk=import_id).first()
        if found is None or found.status in FINISHED:
            return None
        if found.status in WORKING and found.heartbeat_at is not None and found.heartbeat_at >= stale_before:
            return None  # another attempt is at work and alive
        if found.attempts >= settings.IMPORT_MAX_ATTEMPTS:
            found.status = BeneficiaryImport.Status.FAILED
            found.finished_at = now
            found.error = FAILED_STALE.format(attempts=found.attempts)
            found.save(update_fields=["status", "finished_at", "error"])
            return None
        found.attempts += 1
        found.status = _working_status(found)
        found.started_at = now
        found.heartbeat_at = now
        found.error = ""
        _reset_counts(found)
        found.save(
            update_fields=[
                "attempts",
                "status",
                "started_at",
                "heartbeat_at",
                "error",
                "total_rows",
                "rows_processed",
                "created_count",
                "updated_count",
                "closed_count",
                "unchanged_count",
                "refused_count",
                "warning_count",
                "field_counts",
            ]
        )
        # The row report (refused rows, warnings) is written again by this attempt, which reads the file
        # from its start.
        ImportRowError.objects.filter(beneficiary_import=found).delete()
    return found


def _reset_counts(beneficiary_import: BeneficiaryImport) -> None:
    beneficiary_import.total_rows = None
    beneficiary_import.rows_processed = 0
    beneficiary_import.created_count = 0
    beneficiary_import.updated_count = 0
    beneficiary_import.closed_count = 0
    beneficiary_import.unchanged_count = 0
    beneficiary_import.refused_count = 0
    beneficiary_import.warning_count = 0
    beneficiary_import.field_counts = {}


def _ours(beneficiary_import: BeneficiaryImport):
    """The import's row, as long as this attempt still holds it."""
    return BeneficiaryImport.objects.filter(
        pk=beneficiary_import.pk, status=_working_status(beneficiary_import), attempts=beneficiary_import.attempts
    )


def _update_if_ours(beneficiary_import: BeneficiaryImport, **values) -> None:
    if _ours(beneficiary_import).update(**values) != 1:
        raise ClaimLost


def _count_values(counts: BatchCounts) -> dict:
    return {
        "rows_processed": counts.rows,
        "created_count": counts.created,
        "updated_count": counts.updated,
        "closed_count": counts.closed,
        "unchanged_count": counts.unchanged,
        "refused_count": counts.refused,
        "warning_count": counts.warned,
        "field_counts": dict(sorted(counts.fields.items())),
    }


def _context(beneficiary_import: BeneficiaryImport) -> ApplyContext:
    code = settings.IMPORT_INTAKE_STRUCTURE
    intake = Structure.objects.filter(code=code).values_list("pk", flat=True).first()
    if intake is None:
        raise ImportRefused(NO_INTAKE_STRUCTURE.format(code=code))
    return ApplyContext(
        beneficiary_import=beneficiary_import,
        intake_structure_id=intake,
        end_reason_id=end_reason().pk,
        dry_run=beneficiary_import.dry_run,
        today=timezone.localdate(),
    )


def _read(beneficiary_import: BeneficiaryImport, path: Path):
    from imports.readers import read_import_file

    return read_import_file(
        path,
        filename=beneficiary_import.original_name,
        mapping=beneficiary_import.mapping or None,
        default_organism=beneficiary_import.default_organism or None,
    )


def _total_rows(beneficiary_import: BeneficiaryImport, path: Path) -> int | None:
    from imports.readers import count_data_rows

    try:
        return count_data_rows(path, filename=beneficiary_import.original_name)
    except ImportFileError:
        return None  # the reading itself will say why


def _final_counts(beneficiary_import: BeneficiaryImport, counts: BatchCounts) -> dict:
    """The counts of a finished import. A dry run's are what this attempt counted; a real import's come
    from its ImportChange rows, so that a batch an earlier attempt committed counts as what it did then
    (created, updated, closed), not as "unchanged" when this attempt read it again."""
    values = _count_values(counts)
    if beneficiary_import.dry_run:
        return values
    changes = ImportChange.objects.filter(beneficiary_import=beneficiary_import)
    by_kind = dict(changes.values_list("kind").annotate(files=Count("beneficiary", distinct=True)).order_by())
    closed_files = changes.filter(kind=ImportChange.Kind.CLOSED).values("beneficiary")
    updated = (
        changes.filter(kind=ImportChange.Kind.UPDATED)
        .exclude(beneficiary__in=closed_files)
        .aggregate(files=Count("beneficiary", distinct=True))["files"]
    )
    fields = dict(
        changes.filter(kind=ImportChange.Kind.UPDATED)
        .values_list("field")
        .annotate(files=Count("beneficiary", distinct=True))
        .order_by()
    )
    created = by_kind.get(ImportChange.Kind.CREATED, 0)
    closed = by_kind.get(ImportChange.Kind.CLOSED, 0)
    values.update(
        created_count=created,
        updated_count=updated,
        closed_count=closed,
        unchanged_count=max(0, counts.rows - counts.refused - created - updated - closed),
        field_counts=dict(sorted(fields.items())),
    )
    return values


def _apply_file(beneficiary_import: BeneficiaryImport, path: Path) -> BatchCounts:
    context = _context(beneficiary_import)
    rows = _read(beneficiary_import, path)
    total = BatchCounts()
    try:
        while batch := list(itertools.islice(rows, settings.IMPORT_BATCH_SIZE)):
            with transaction.atomic():
                counts = process_batch(batch, context=context)
                total += counts
                # In the batch's transaction: the progress commits with the rows, and a lost claim
                # rolls the batch back.
                _update_if_ours(beneficiary_import, heartbeat_at=timezone.now(), **_count_values(total))
    finally:
        close = getattr(rows, "close", None)
        if close is not None:
            close()
    return total


def _record_failure(beneficiary_import: BeneficiaryImport, error: Exception) -> None:
    now = timezone.now()
    if isinstance(error, ImportFileError | ImportRefused):
        status, message = BeneficiaryImport.Status.FAILED, error.message
    elif beneficiary_import.attempts >= settings.IMPORT_MAX_ATTEMPTS:
        status, message = BeneficiaryImport.Status.FAILED, FAILED_FINAL.format(attempts=beneficiary_import.attempts)
    else:
        # Queued again, with the time of the failure as its last sign of life: Celery's retry (or, if
        # that message is lost, the sweeper) picks it up.
        status = BeneficiaryImport.Status.QUEUED
        message = FAILED_RETRYING.format(
            attempt=beneficiary_import.attempts, max_attempts=settings.IMPORT_MAX_ATTEMPTS
        )
    try:
        _ours(beneficiary_import).update(
            status=status,
            error=message,
            heartbeat_at=now,
            finished_at=now if status == BeneficiaryImport.Status.FAILED else None,
        )
    except Exception:
        # The database itself may be what failed; the sweeper will find the import silent.
        logger.exception("Could not record the failure of import %s", beneficiary_import.pk)


def beneficiary_import_process(*, import_id: int) -> BeneficiaryImport | None:
    """Check (dry run) or apply the import's file (the Celery task's body). Safe to run twice, or after
    a crash. Returns the import when this attempt finished it, None when there was nothing to do or the
    file was refused (recorded on the import). Any other failure is recorded and raised again, so that
    Celery retries it; past IMPORT_MAX_ATTEMPTS the import is failed."""
    beneficiary_import = _claim(import_id)
    if beneficiary_import is None:
        return None
    path = import_file_path(beneficiary_import)
    try:
        if not path.is_file():
            raise ImportRefused(FILE_MISSING)
        _update_if_ours(beneficiary_import, total_rows=_total_rows(beneficiary_import, path))
        counts = _apply_file(beneficiary_import, path)
        now = timezone.now()
        with transaction.atomic():
            locked = _ours(beneficiary_import).select_for_update(of=("self",)).first()
            if locked is None:
                raise ClaimLost
            for name, value in _final_counts(locked, counts).items():
                setattr(locked, name, value)
            locked.total_rows = counts.rows
            locked.status = BeneficiaryImport.Status.CHECKED if locked.dry_run else BeneficiaryImport.Status.DONE
            locked.heartbeat_at = now
            locked.finished_at = now
            locked.error = ""
            locked.save()
        return locked
    except ClaimLost:
        logger.warning("Import %s: attempt %s lost its claim", beneficiary_import.pk, beneficiary_import.attempts)
        return None
    except (ImportFileError, ImportRefused) as error:
        _record_failure(beneficiary_import, error)
        return None
    except Exception as error:
        logger.exception("Import %s failed (attempt %s)", beneficiary_import.pk, beneficiary_import.attempts)
        _record_failure(beneficiary_import, error)
        raise


@dataclass
class SweepResult:
    requeued: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)


def beneficiary_imports_sweep() -> SweepResult:
    """Enqueue again the imports left behind: queued with no message taken (a publish can be lost after
    the commit) or at work with a dead worker, both silent for more than IMPORT_STALE_SECONDS; fail those
    that have used all their attempts."""
    now = timezone.now()
    stale_before = now - datetime.timedelta(seconds=settings.IMPORT_STALE_SECONDS)
    stuck = BeneficiaryImport.objects.alias(last_sign=Coalesce("heartbeat_at", "uploaded_at")).filter(
        Q(status__in=[BeneficiaryImport.Status.QUEUED, *WORKING]), last_sign__lt=stale_before
    )
    result = SweepResult()
    with transaction.atomic():
        for pk, attempts in stuck.select_for_update(of=("self",), skip_locked=True).values_list("pk", "attempts"):
            (result.failed if attempts >= settings.IMPORT_MAX_ATTEMPTS else result.requeued).append(pk)
        for pk, attempts in BeneficiaryImport.objects.filter(pk__in=result.failed).values_list("pk", "attempts"):
            BeneficiaryImport.objects.filter(pk=pk).update(
                status=BeneficiaryImport.Status.FAILED, finished_at=now, error=FAILED_STALE.format(attempts=attempts)
            )
        if result.requeued:
            # Queued again, dated now: a worker that was only slow finds the import is no longer its own
            # (its next batch fails its progress update and rolls back) and stops.
            BeneficiaryImport.objects.filter(pk__in=result.requeued).update(
                status=BeneficiaryImport.Status.QUEUED, heartbeat_at=now
            )
        for pk in result.requeued:
            tasks.import_beneficiaries.delay_on_commit(pk)
    if result.requeued or result.failed:
        logger.info("Imports swept: %s enqueued again, %s failed", result.requeued, result.failed)
    return result


def previous_imports_of(beneficiary_import: BeneficiaryImport):
    """Other real imports of the same file (same SHA-256) that finished: shown as a warning."""
    return BeneficiaryImport.objects.filter(
        sha256=beneficiary_import.sha256, dry_run=False, status=BeneficiaryImport.Status.DONE
    ).exclude(pk=beneficiary_import.pk)


def field_label(name: str) -> str:
    """The French label of a field an import changes (ImportChange.field)."""
    if name == HOUSEHOLD_FIELD:
        return "membres du foyer"
    try:
        field = Beneficiary._meta.get_field(name)
    except FieldDoesNotExist:
        return name
    return str(getattr(field, "verbose_name", name))


def field_counts_display(beneficiary_import: BeneficiaryImport) -> list[tuple[str, int]]:
    """(French field label, files) for the fields the import changed (or would change)."""
    return [(field_label(name), count) for name, count in beneficiary_import.field_counts.items()]
