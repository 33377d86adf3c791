"""Exports of the audit trail, written in the background by a Celery worker (docs/audit.md, "Exports").

An auditor asks for an export (`audit_export_request`): the filters are validated with the search's
FilterSet and stored with the id of the last event at that moment, so that the export holds exactly
the rows that matched when it was asked for, whatever happens after. The Celery message carries the
export's primary key only.

The worker (`audit_export_write`) claims the row, streams the rows from a server-side cursor into a
temporary file named after its attempt, reports its progress every PROGRESS_EVERY rows (small committed
UPDATEs, which the status page polls and the sweeper reads as a heartbeat), then moves the file into
place. A retry starts again from scratch, so a file never holds a row twice. `audit_exports_sweep`
enqueues again what a lost message or a dead worker left behind; `audit_exports_delete_expired` deletes
files past their expiry and leaves the row as a trace.
"""

import contextlib
import csv
import datetime
import io
import itertools
import json
import logging
import os
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction
from django.db.models import Case, CharField, F, Func, Max, Q, TextField, Value, When
from django.db.models.functions import Cast, Coalesce, Concat
from django.utils import timezone

from accounts.models import User
from casework.audit_filters import audit_event_filterset
from casework.models import AuditEvent, AuditExport
from casework.permissions import check_reads_audit_trail, reads_audit_trail, visible_audit_events

logger = logging.getLogger(__name__)

EXPORT_DIRECTORY = "audit-exports"
# Rows fetched from the server-side cursor at a time, and rows between two progress reports.
CHUNK_SIZE = 2000
PROGRESS_EVERY = 5000
TEMPORARY_SUFFIX = ".part"
# A spreadsheet reads a cell starting with one of these as a formula (CSV injection): such cells get a
# leading quote. Tab and carriage return are on OWASP's list too.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
FORMULA_PATTERN = r"^[-=+@\t\r]"

# The file's columns: name -> what PostgreSQL gives for it (see _columns). Never reorder: people script
# against these. Every value is formatted by PostgreSQL (times in the Département's zone, labels, text
# casts), so that the worker turns rows into lines with no Python code per cell.
HEADER = [
    "id",
    "date_heure",
    "utilisateur_id",
    "identifiant",
    "structures",
    "roles",
    "action",
    "action_libelle",
    "ecran",
    "code_reponse",
    "beneficiaire",
    "numero_allocataire",
    "type_objet",
    "objet",
    "adresse_ip",
    "navigateur",
    "requete",
    "motif",
    "details",
    "jour_chaine",
    "chaine",
    "rang",
    "empreinte",
    "empreinte_precedente",
]
MEDIA_TYPES = {
    AuditExport.Format.CSV: "text/csv; charset=utf-8",
    AuditExport.Format.JSONL: "application/x-ndjson; charset=utf-8",
}

FAILED_RETRYING = "L'export a échoué (tentative {attempt} sur {max_attempts}) ; il sera relancé automatiquement."
FAILED_FINAL = (
    "L'export a échoué après {attempts} tentatives. Demandez un nouvel export ; si l'échec se répète, "
    "prévenez l'administrateur de Parcours."
)
FAILED_STALE = (
    "L'export ne s'est pas terminé après {attempts} tentatives (le traitement s'est interrompu). "
    "Demandez un nouvel export ; si l'échec se répète, prévenez l'administrateur de Parcours."
)
FAILED_NOT_AUDITOR = "L'export n'a pas été écrit : son demandeur n'est plus auditeur·rice."
FAILED_FILTERS = "L'export n'a pas été écrit : ses filtres ne sont plus valides ({errors})."


class ClaimLost(Exception):
    """Another attempt took the export over (the sweeper found this one silent for too long)."""


class ExportRefused(Exception):
    """The export cannot be written, and trying again would not change that."""


def export_directory() -> Path:
    return Path(settings.PRIVATE_MEDIA_ROOT) / EXPORT_DIRECTORY


def export_file_path(export: AuditExport) -> Path:
    return export_directory() / export.file_name


def final_name(export: AuditExport) -> str:
    return f"{export.public_id}.{export.format}"


def temporary_path(export: AuditExport, attempt: int) -> Path:
    return export_directory() / f"{export.public_id}.{attempt}{TEMPORARY_SUFFIX}"


def download_name(export: AuditExport) -> str:
    return f"journal-audit-{timezone.localdate(export.requested_at):%Y-%m-%d}.{export.format}"


def is_downloadable(export: AuditExport) -> bool:
    return (
        export.status == AuditExport.Status.DONE
        and export.expires_at is not None
        and export.expires_at > timezone.now()
        and bool(export.file_name)
    )


def _filterset_errors(filterset) -> str:
    return " ; ".join(f"{field}: {' '.join(errors)}" for field, errors in filterset.errors.items())


def audit_export_request(*, actor: User, filters: dict, format: str) -> AuditExport:
    """Ask for an export of the events matching `filters` as they stand now; written in the background.

    Raises ValidationError (French messages, by field) for invalid filters or an unknown format."""
    check_reads_audit_trail(actor)
    if format not in AuditExport.Format.values:
        raise ValidationError({"format": "Choisissez le format CSV ou JSON Lines."})
    filterset = audit_event_filterset(filters, queryset=AuditEvent.objects.none())
    if not filterset.is_valid():
        raise ValidationError({name: list(errors) for name, errors in filterset.errors.items()})
    with transaction.atomic():
        export = AuditExport(
            requested_by=actor,
            format=format,
            filters=filterset.filters_used(),
            # Events are append-only and ids grow: everything up to this one is what exists now.
            last_event_id=AuditEvent.objects.aggregate(last=Max("pk"))["last"] or 0,
        )
        export.full_clean()
        export.save()
        from casework.tasks import export_audit_events  # tasks import this module

        # The id only: broker messages are plain text, they never carry personal data.
        export_audit_events.delay_on_commit(export.pk)
    return export


def _claim(export_id: int) -> AuditExport | None:
    """Take the export for one attempt, or None when there is nothing for this attempt to do."""
    now = timezone.now()
    stale_before = now - datetime.timedelta(seconds=settings.AUDIT_EXPORT_STALE_SECONDS)
    with transaction.atomic():
        export = AuditExport.objects.select_for_update(of=("self",)).filter(pk=export_id).first()
        if export is None or export.status in {
            AuditExport.Status.DONE,
            AuditExport.Status.FAILED,
            AuditExport.Status.EXPIRED,
        }:
            return None
        if (
            export.status == AuditExport.Status.RUNNING
            and export.heartbeat_at is not None
            and export.heartbeat_at >= stale_before
        ):
            return None  # another attempt is writing it and is alive
        if export.attempts >= settings.AUDIT_EXPORT_MAX_ATTEMPTS:
            export.status = AuditExport.Status.FAILED
            export.finished_at = now
            export.error = FAILED_STALE.format(attempts=export.attempts)
            export.save(update_fields=["status", "finished_at", "error"])
            return None
        export.attempts += 1
        export.status = AuditExport.Status.RUNNING
        export.started_at = now
        export.heartbeat_at = now
        export.rows_written = 0
        export.total_rows = None
        export.error = ""
        export.save(
            update_fields=["attempts", "status", "started_at", "heartbeat_at", "rows_written", "total_rows", "error"]
        )
    return export


def _ours(export: AuditExport):
    """The export's row, as long as this attempt still holds it."""
    return AuditExport.objects.filter(pk=export.pk, status=AuditExport.Status.RUNNING, attempts=export.attempts)


@contextlib.contextmanager
def _progress_connection():
    """Where progress reports go while the rows stream: a connection of their own, so that each report
    commits at once (the page polls it) while the rows are read inside a transaction on the default
    connection. Outside a transaction Django declares its server-side cursor WITH HOLD, and PostgreSQL
    then copies the whole result aside before the first row comes back. Inside a caller's transaction
    (the test suite), the default connection: another one would not see the row. On SQLite (the
    laptop default, tasks run eagerly) too: a second connection would wait on the reader's lock."""
    if connection.in_atomic_block or connection.vendor != "postgresql":
        yield connection
        return
    side = connections.create_connection(DEFAULT_DB_ALIAS)
    try:
        yield side
    finally:
        side.close()


def _update_if_ours(export: AuditExport, on, **values) -> None:
    """One small UPDATE of the export's row on connection `on`, if this attempt still holds it."""
    columns = ", ".join(f"{on.ops.quote_name(name)} = %s" for name in values)
    table = on.ops.quote_name(AuditExport._meta.db_table)
    sql = f"UPDATE {table} SET {columns} WHERE id = %s AND status = %s AND attempts = %s"  # noqa: S608 (names, not data)
    with on.cursor() as cursor:
        cursor.execute(sql, [*values.values(), export.pk, AuditExport.Status.RUNNING, export.attempts])
        if cursor.rowcount != 1:
            raise ClaimLost


def _report_progress(export: AuditExport, rows: int, *, on=None) -> None:
    _update_if_ours(export, on or connection, rows_written=rows, heartbeat_at=timezone.now())


def export_events(export: AuditExport):
    """The events of this export: those its filters matched when it was asked for, as its requester
    may still read them (an auditor who is no longer one exports nothing)."""
    if not reads_audit_trail(export.requested_by):
        raise ExportRefused(FAILED_NOT_AUDITOR)
    events = visible_audit_events(export.requested_by).filter(pk__lte=export.last_event_id)
    filterset = audit_event_filterset(export.filters, queryset=events)
    if not filterset.is_valid():
        raise ExportRefused(FAILED_FILTERS.format(errors=_filterset_errors(filterset)))
    return filterset.qs


class LocalIsoTime(Func):
    """A timestamp as ISO 8601 text in a named time zone, with that zone's offset at that instant
    (2026-03-29T03:00:00.000000+02:00), computed by PostgreSQL."""

    output_field = CharField()

    def __init__(self, expression, *, zone: str):
        super().__init__(expression)
        self.zone = zone

    def as_sql(self, compiler, connection, **extra_context):
        column, params = compiler.compile(self.source_expressions[0])
        local = f"({column} AT TIME ZONE %s)"
        minutes = f"(EXTRACT(EPOCH FROM {local} - ({column} AT TIME ZONE 'UTC')) / 60)::int"
        sql = (
            f"to_char({local}, 'YYYY-MM-DD\"T\"HH24:MI:SS.US') || CASE WHEN {minutes} < 0 THEN '-' ELSE '+' END"
            f" || to_char(abs({minutes}) / 60, 'FM00') || ':' || to_char(abs({minutes}) %% 60, 'FM00')"
        )
        # The zone once for the local time, once in each of the three offsets; the column has none.
        return sql, (*params, self.zone, *params, self.zone, *params, self.zone, *params, self.zone)


def _formula_safe(column: str):
    """The column, with a leading quote when it starts like a spreadsheet formula."""
    return Case(
        When(**{f"{column}__regex": FORMULA_PATTERN}, then=Concat(Value("'"), F(column))),
        default=F(column),
        output_field=CharField(),
    )


def _columns(*, formula_safe: bool) -> dict:
    text = _formula_safe if formula_safe else F
    # PostgreSQL formats the times, days and ids itself; elsewhere (SQLite on a laptop) `_portable` does.
    native = connection.vendor == "postgresql"
    labels = Case(
        *(When(action=value, then=Value(label)) for value, label in AuditEvent.Action.choices),
        default=Value(""),
        output_field=CharField(),
    )
    columns = {
        "id": F("id"),
        "date_heure": LocalIsoTime("occurred_at", zone=settings.TIME_ZONE) if native else F("occurred_at"),
        "utilisateur_id": F("actor_id"),
        "identifiant": text("actor_username"),
        "structures": text("actor_structures"),
        "roles": text("actor_roles"),
        "action": F("action"),
        "action_libelle": labels,
        "ecran": text("url_name"),
        "code_reponse": F("status_code"),
        "beneficiaire": Cast("beneficiary__public_id", output_field=TextField())
        if native
        else F("beneficiary__public_id"),
        "numero_allocataire": text("beneficiary__allocataire_number"),
        "type_objet": text("object_type"),
        "objet": text("object_id"),
        "adresse_ip": F("ip_address"),
        "navigateur": text("user_agent"),
        "requete": text("request_id"),
        "motif": text("reason"),
        # jsonb as PostgreSQL prints it: written as is in a CSV, decoded once for a JSON line.
        "details": Cast("details", output_field=TextField()),
        "jour_chaine": Func(F("chain_day"), Value("YYYY-MM-DD"), function="to_char", output_field=CharField())
        if native
        else F("chain_day"),
        "chaine": F("chain_shard"),
        "rang": F("sequence"),
        "empreinte": F("hash"),
        "empreinte_precedente": F("previous_hash"),
    }
    return columns


def export_rows(events, *, formula_safe: bool = False):
    """The rows to write, in id order, as tuples in HEADER order: one query (a join on the file), no
    model instances, read through a server-side cursor by iterator(), so memory stays flat.

    With `formula_safe` (CSV), PostgreSQL itself quotes the free-text cells a spreadsheet would run as
    formulas (a username, a user agent, an object id typed into a URL...)."""
    columns = {f"export_{name}": expression for name, expression in _columns(formula_safe=formula_safe).items()}
    return events.order_by("pk").annotate(**columns).values_list(*columns)


def _portable(records):
    """The cells PostgreSQL formats in `_columns`, formatted here for another database (SQLite, where
    `make run` runs and tasks run eagerly): Paris time as ISO 8601 with its offset, the day, the id."""
    moment, day, file = HEADER.index("date_heure"), HEADER.index("jour_chaine"), HEADER.index("beneficiaire")
    for record in records:
        row = list(record)
        row[moment] = timezone.localtime(row[moment]).isoformat(timespec="microseconds")
        row[day] = row[day].isoformat()
        row[file] = str(row[file]) if row[file] is not None else None
        yield tuple(row)


def _batches(records, progress):
    """The records, a chunk at a time; `progress(rows so far)` every PROGRESS_EVERY rows and at the end."""
    written = reported = 0
    while batch := list(itertools.islice(records, CHUNK_SIZE)):
        yield batch
        written += len(batch)
        if written - reported >= PROGRESS_EVERY:
            progress(written)
            reported = written
    if written != reported:
        progress(written)


def _write_csv(handle, records, progress) -> int:
    # UTF-8 with a byte-order mark and ";": a French spreadsheet opens it right. csv writes None as an
    # empty cell, numbers as str() does; everything else is text already. A chunk is formatted in memory
    # and written at once: far fewer trips through the file's encoder than a write per line.
    handle.write("\ufeff")
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(HEADER)
    written = 0
    for batch in _batches(records, progress):
        writer.writerows(batch)
        handle.write(buffer.getvalue())
        buffer.seek(0)
        buffer.truncate()
        written += len(batch)
    handle.write(buffer.getvalue())
    return written


def _write_jsonl(handle, records, progress) -> int:
    written = 0
    details = HEADER.index("details")
    for batch in _batches(records, progress):
        for row in batch:
            record = dict(zip(HEADER, row, strict=True))
            record["details"] = json.loads(row[details]) if row[details] is not None else None
            handle.write(json.dumps(record, ensure_ascii=False))
            handle.write("\n")
        written += len(batch)
    return written


def _write_file(export: AuditExport, path: Path) -> tuple[int, int]:
    """Write every row of the export to `path`; return (rows, bytes)."""
    events = export_events(export)
    is_csv = export.format == AuditExport.Format.CSV
    writer = _write_csv if is_csv else _write_jsonl
    with _progress_connection() as side, transaction.atomic():
        # The cursor streams within this (read-only) transaction; progress commits on `side`.
        _update_if_ours(export, side, total_rows=events.count(), heartbeat_at=timezone.now())
        records = export_rows(events, formula_safe=is_csv).iterator(chunk_size=CHUNK_SIZE)
        if connection.vendor != "postgresql":
            records = _portable(records)
        with path.open("w", encoding="utf-8", newline="", buffering=1 << 20) as handle:
            written = writer(handle, records, lambda count: _report_progress(export, count, on=side))
            handle.flush()
            os.fsync(handle.fileno())
    return written, path.stat().st_size


def _record_failure(export: AuditExport, error: Exception) -> None:
    now = timezone.now()
    if isinstance(error, ExportRefused):
        status, message = AuditExport.Status.FAILED, str(error)
    elif export.attempts >= settings.AUDIT_EXPORT_MAX_ATTEMPTS:
        status, message = AuditExport.Status.FAILED, FAILED_FINAL.format(attempts=export.attempts)
    else:
        # Queued again, with the time of the failure as its last sign of life: Celery's retry (or, if
        # that message is lost, the sweeper) picks it up.
        status = AuditExport.Status.QUEUED
        message = FAILED_RETRYING.format(attempt=export.attempts, max_attempts=settings.AUDIT_EXPORT_MAX_ATTEMPTS)
    try:
        _ours(export).update(
            status=status,
            error=message,
            heartbeat_at=now,
            finished_at=now if status == AuditExport.Status.FAILED else None,
        )
    except Exception:
        # The database itself may be what failed; the sweeper will find the export silent.
        logger.exception("Could not record the failure of audit export %s", export.pk)


def audit_export_write(*, export_id: int) -> AuditExport | None:
    """Write the export's file (the Celery task's body). Safe to run twice, or after a crash.

    Returns the export when this attempt finished it, None when there was nothing to do (already done,
    or held by another live attempt). A failure is recorded on the export (in French, no trace shown to
    users) and raised again so that Celery retries it; past AUDIT_EXPORT_MAX_ATTEMPTS it is failed."""
    export = _claim(export_id)
    if export is None:
        return None
    directory = export_directory()
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    for leftover in directory.glob(f"{export.public_id}.*{TEMPORARY_SUFFIX}"):
        leftover.unlink(missing_ok=True)  # an earlier attempt's partial file: this one starts over
    path = temporary_path(export, export.attempts)
    try:
        written, size = _write_file(export, path)
        now = timezone.now()
        with transaction.atomic():
            locked = _ours(export).select_for_update(of=("self",)).first()
            if locked is None:
                raise ClaimLost
            os.replace(path, directory / final_name(export))
            locked.status = AuditExport.Status.DONE
            locked.file_name = final_name(export)
            locked.file_size = size
            locked.rows_written = written
            locked.total_rows = written
            locked.heartbeat_at = now
            locked.finished_at = now
            locked.expires_at = now + datetime.timedelta(days=settings.AUDIT_EXPORT_EXPIRY_DAYS)
            locked.error = ""
            locked.save(
                update_fields=[
                    "status",
                    "file_name",
                    "file_size",
                    "rows_written",
                    "total_rows",
                    "heartbeat_at",
                    "finished_at",
                    "expires_at",
                    "error",
                ]
            )
        return locked
    except ClaimLost:
        path.unlink(missing_ok=True)
        logger.warning("Audit export %s: attempt %s lost its claim to another attempt", export.pk, export.attempts)
        return None
    except ExportRefused as error:
        path.unlink(missing_ok=True)
        _record_failure(export, error)
        return None
    except Exception as error:
        path.unlink(missing_ok=True)
        logger.exception("Audit export %s failed (attempt %s)", export.pk, export.attempts)
        _record_failure(export, error)
        raise


@dataclass
class SweepResult:
    requeued: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)


def audit_exports_sweep() -> SweepResult:
    """Enqueue again the exports left behind: queued with no message taken (a publish can be lost after
    the commit: Celery has no outbox) or running with a dead worker, both silent for more than
    AUDIT_EXPORT_STALE_SECONDS; fail those that have used all their attempts."""
    from casework.tasks import export_audit_events  # tasks import this module

    now = timezone.now()
    stale_before = now - datetime.timedelta(seconds=settings.AUDIT_EXPORT_STALE_SECONDS)
    stuck = AuditExport.objects.alias(last_sign=Coalesce("heartbeat_at", "requested_at")).filter(
        Q(status=AuditExport.Status.QUEUED, last_sign__lt=stale_before)
        | Q(status=AuditExport.Status.RUNNING, last_sign__lt=stale_before)
    )
    result = SweepResult()
    with transaction.atomic():
        for pk, attempts in stuck.select_for_update(of=("self",), skip_locked=True).values_list("pk", "attempts"):
            if attempts >= settings.AUDIT_EXPORT_MAX_ATTEMPTS:
                result.failed.append(pk)
            else:
                result.requeued.append(pk)
        if result.failed:
            for pk, attempts in AuditExport.objects.filter(pk__in=result.failed).values_list("pk", "attempts"):
                AuditExport.objects.filter(pk=pk).update(
                    status=AuditExport.Status.FAILED, finished_at=now, error=FAILED_STALE.format(attempts=attempts)
                )
        if result.requeued:
            # Queued again, dated now: a worker that was only slow finds it is no longer its own
            # (its next progress report fails) and stops; the next sweep waits a full delay again.
            AuditExport.objects.filter(pk__in=result.requeued).update(
                status=AuditExport.Status.QUEUED, heartbeat_at=now
            )
        for pk in result.requeued:
            export_audit_events.delay_on_commit(pk)
    if result.requeued or result.failed:
        logger.info("Audit exports swept: %s enqueued again, %s failed", result.requeued, result.failed)
    return result


@dataclass
class ExpiryResult:
    expired: list[int] = field(default_factory=list)
    files_removed: int = 0


def _public_id_of(path: Path) -> uuid.UUID | None:
    try:
        return uuid.UUID(path.name.split(".", 1)[0])
    except ValueError:
        return None


def audit_exports_delete_expired() -> ExpiryResult:
    """Delete the files of exports past their expiry and mark them expired (the row stays as a trace),
    then remove files nothing needs: partial files of finished exports or of earlier attempts, files of
    exports no longer downloadable."""
    now = timezone.now()
    result = ExpiryResult()
    with transaction.atomic():
        expired = AuditExport.objects.select_for_update(of=("self",), skip_locked=True).filter(
            status=AuditExport.Status.DONE, expires_at__lte=now
        )
        result.expired = list(expired.values_list("pk", flat=True))
        AuditExport.objects.filter(pk__in=result.expired).update(status=AuditExport.Status.EXPIRED)
    # Files go after the commit: a row says expired before its file disappears, never the reverse.
    directory = export_directory()
    if not directory.is_dir():
        return result
    paths = [path for path in directory.iterdir() if path.is_file()]
    named = {_public_id_of(path) for path in paths} - {None}
    known = {
        public_id: (status, attempts)
        for public_id, status, attempts in AuditExport.objects.filter(public_id__in=named).values_list(
            "public_id", "status", "attempts"
        )
    }
    quiet_since = now - datetime.timedelta(seconds=settings.AUDIT_EXPORT_STALE_SECONDS)
    for path in paths:
        public_id = _public_id_of(path)
        status, attempts = known.get(public_id, (None, 0))
        if path.name.endswith(TEMPORARY_SUFFIX):
            if status in {AuditExport.Status.QUEUED, AuditExport.Status.RUNNING}:
                # Another attempt's partial file, untouched for a while: the current one writes its own.
                current = path.name == f"{public_id}.{attempts}{TEMPORARY_SUFFIX}"
                modified = datetime.datetime.fromtimestamp(path.stat().st_mtime, tz=datetime.UTC)
                unused = not current and modified < quiet_since
            else:
                unused = True
        else:
            # A running attempt moves its file into place just before it commits "done".
            unused = status not in {AuditExport.Status.DONE, AuditExport.Status.RUNNING}
        if unused:
            path.unlink(missing_ok=True)
            result.files_removed += 1
    return result
