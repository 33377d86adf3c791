"""Exports of the audit trail, written in the background by a Celery worker (docs/audit.md, "Exports").

An auditor asks for an export (`audit_export_request`): the filters are validated with the search's
FilterSet and stored with the id of the last event at that moment, so that the export holds exactly
the rows that matched when it was asked for, whatever happens after. The Celery message carries the
export's primary key only.

The worker (`audit_export_write`) claims the row and writes the file named after its attempt
BATCH_SIZE rows at a time, in id order (a keyset: `id > last id written`). On PostgreSQL each batch is
one `COPY (SELECT ...) TO STDOUT` whose cells PostgreSQL formats, quotes and escapes itself, streamed
straight to the file; elsewhere (SQLite) Python formats them, byte for byte the same. After each batch
the file is synced, then the rows and bytes written are committed (a small UPDATE, which the status page
polls and the sweeper reads as a heartbeat). A later attempt (a retry, or after a dead worker) carries on
from the previous attempt's file after its last reported batch, once it has checked that file's last
row; a file never holds a row twice. At the end the file moves into place. `audit_exports_sweep`
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
from django.db.models import Case, CharField, Expression, F, Func, Max, Q, TextField, Value, When
from django.db.models.functions import Cast, Coalesce, Concat, NullIf
from django.utils import timezone

from accounts.models import User
from audit import tasks
from audit.filters import audit_event_filterset
from audit.models import AuditEvent, AuditExport
from audit.permissions import check_reads_audit_trail, reads_audit_trail, visible_audit_events
from audit.trail import ADMIN_PREFIX, ADMIN_SCREEN, RESPONSE_LABELS, SCREEN_NAMES, admin_screen_names
from core.csv import FORMULA_PATTERN

logger = logging.getLogger(__name__)

EXPORT_DIRECTORY = "audit-exports"
# Rows per statement (a COPY on PostgreSQL), after which the file is synced and the progress reported
# (a heartbeat too: keep a batch well under AUDIT_EXPORT_STALE_SECONDS); rows fetched at a time by the
# Python writer (SQLite).
BATCH_SIZE = 50_000
CHUNK_SIZE = 2000
TEMPORARY_SUFFIX = ".part"
# A spreadsheet reads a cell starting with one of these as a formula (CSV injection): such cells get a
# leading quote. Tab and carriage return are on OWASP's list too.

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
    # Added by issue 27, at the end so that no column moves: the screen and the answer in words.
    "ecran_libelle",
    "reponse_libelle",
]
CSV_HEADER = ("\ufeff" + ";".join(HEADER) + "\r\n").encode()
# The cells that are never text: numbers, and an IP address (inet), which is never empty.
NOT_TEXT = {"id", "utilisateur_id", "code_reponse", "adresse_ip", "chaine", "rang"}
CSV_COPY_OPTIONS = "FORMAT csv, DELIMITER ';'"
# A JSON line is one cell. COPY's CSV mode quotes a cell holding its delimiter, its quote character, CR
# or LF, and changes nothing else (backslashes included): JSON escapes control characters and line
# breaks, so with two control characters as delimiter and quote the line comes out as it is.
JSONL_COPY_OPTIONS = "FORMAT csv, DELIMITER E'\\x02', QUOTE E'\\x01'"
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
        # The id only: broker messages are plain text, they never carry personal data.
        tasks.export_audit_events.delay_on_commit(export.pk)
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
        export.total_rows = None
        export.error = ""
        # rows_written and file_size stay: they say how far the previous attempt's file got (_resume_point).
        export.save(update_fields=["attempts", "status", "started_at", "heartbeat_at", "total_rows", "error"])
    return export


def _ours(export: AuditExport):
    """The export's row, as long as this attempt still holds it."""
    return AuditExport.objects.filter(pk=export.pk, status=AuditExport.Status.RUNNING, attempts=export.attempts)


@contextlib.contextmanager
def _progress_connection():
    """Where progress reports go. On PostgreSQL, outside a transaction (the worker): a connection of
    their own, so that the rows stream from one COPY on the default connection while each report commits
    at once (the page polls it; the sweeper reads it as a heartbeat). Inside a caller's transaction (the
    test suite) the default connection, as another one would not see the row, and on SQLite (the laptop
    default, tasks run eagerly) too, as a second connection would wait on the reader's lock: the rows are
    then read BATCH_SIZE at a time, one statement each, with the reports in between."""
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


def _report_progress(export: AuditExport, rows: int, *, size: int | None = None, on=None) -> None:
    """Rows (and bytes) now safely in the file: what a later attempt resumes from."""
    _update_if_ours(export, on or connection, rows_written=rows, file_size=size, heartbeat_at=timezone.now())


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

    def as_sql(self, compiler, connection, function=None, template=None, arg_joiner=None, **extra_context):
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
        "ecran_libelle": _screen_labels(),
        "reponse_libelle": _response_labels(),
    }
    return columns


def _screen_labels() -> Case:
    """audit.trail.screen_name in SQL: the French name of each screen (the URL name itself when it has
    none, nothing for an event without a screen)."""
    names = {**SCREEN_NAMES, **admin_screen_names()}
    return Case(
        *(When(url_name=url_name, then=Value(label)) for url_name, label in names.items()),
        When(url_name__startswith=ADMIN_PREFIX, then=Value(ADMIN_SCREEN)),
        default=F("url_name"),
        output_field=CharField(),
    )


def _response_labels() -> Case:
    """audit.trail.response_label in SQL ("accepté", "refusé (404)"...; nothing when there was no answer)."""
    text: TextField = TextField()
    code = Cast("status_code", output_field=text)
    return Case(
        *(When(status_code=status, then=Value(label)) for status, label in RESPONSE_LABELS.items()),
        When(status_code__gte=200, status_code__lt=300, then=Value("accepté")),
        When(status_code__gte=500, then=Concat(Value("erreur du serveur ("), code, Value(")"), output_field=text)),
        When(status_code__gte=400, then=Concat(Value("refusé ("), code, Value(")"), output_field=text)),
        When(status_code__isnull=False, then=Concat(Value("réponse "), code, output_field=text)),
        default=Value(""),
        output_field=text,
    )


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


@dataclass(frozen=True)
class Checkpoint:
    """Where a file stands after its last complete batch: its rows, its bytes, the id of its last row."""

    rows: int = 0
    size: int = 0
    last_id: int = 0


def _copy_statement(events, *, is_csv: bool, after: int, limit: int | None) -> tuple[str, list]:
    """`COPY ... TO STDOUT` of the rows after id `after` (the `limit` next ones, or all): export_rows'
    cells, which PostgreSQL then writes exactly as the Python writer (`_python_batch`) would. Every cell
    is an expression of the one query, so that parallel workers compute them too."""
    columns = _columns(formula_safe=is_csv)
    if is_csv:
        # COPY writes an empty string as "" (NULL as nothing), the csv module writes both as nothing.
        cells = {
            f"export_{name}": value if name in NOT_TEXT else NullIf(value, Value(""), output_field=TextField())
            for name, value in columns.items()
        }
    else:
        # json.dumps(record, ensure_ascii=False) — '{"id": 1, "date_heure": "…", …}' — built by hand: the
        # keys in HEADER order, values escaped by to_json as json.dumps escapes them; `details` is jsonb's
        # own text, which json.dumps(json.loads(...)) gives back unchanged.
        parts: list[Expression] = []
        for name, value in columns.items():
            parts.append(Value(f'{", " if parts else "{"}"{name}": '))
            if name != "details":
                value = Cast(Func(value, function="to_json", output_field=TextField()), TextField())
            parts.append(Coalesce(value, Value("null"), output_field=TextField()))
        cells = {"export_line": Func(*parts, Value("}"), function="concat", output_field=TextField())}
    rows = (events.filter(pk__gt=after) if after else events).order_by("pk").annotate(**cells).values_list(*cells)
    sql, params = (rows[:limit] if limit else rows).query.sql_with_params()
    return f"COPY ({sql}) TO STDOUT WITH ({CSV_COPY_OPTIONS if is_csv else JSONL_COPY_OPTIONS})", params


def _row_id(line: bytes, *, is_csv: bool) -> int:
    """The id that opens a line: `123;...` or `{"id": 123, ...`."""
    return int(line.split(b";", 1)[0] if is_csv else line[len(b'{"id": ') :].split(b",", 1)[0])


def _copy_batch(handle, events, *, is_csv: bool, after: int, limit: int | None, checkpoint=None) -> tuple[int, int]:
    """Write the rows after id `after` (the `limit` next ones, or all) as PostgreSQL's COPY sends them,
    calling `checkpoint(rows so far)` every BATCH_SIZE rows if given; return (rows, id of the last one)."""
    statement, params = _copy_statement(events, is_csv=is_csv, after=after, limit=limit)
    write = handle.write
    # libpq hands over one whole row at a time, ending with "\n": a CSV line ends with CRLF (spreadsheets).
    ending = b"\r\n" if is_csv else b"\n"
    report_at = BATCH_SIZE if checkpoint else 0
    rows, row = 0, None
    with connection.cursor() as cursor, cursor.cursor.copy(statement, params) as copy:
        # cursor.cursor is psycopg's own: COPY is not in the DB-API.
        for rows, row in enumerate(copy, 1):  # noqa: B007 (both are used after the loop)
            write(row[:-1])
            write(ending)
            if rows == report_at:
                checkpoint(rows)
                report_at += BATCH_SIZE
    return (rows, _row_id(bytes(row), is_csv=is_csv)) if row is not None else (0, after)


def _python_batch(handle, events, *, is_csv: bool, after: int, limit: int | None, checkpoint=None) -> tuple[int, int]:
    """Write the rows after id `after` (the `limit` next ones, or all) from Python (SQLite, where `make run`
    and `make test` run); return (rows, id of the last one). Called with a limit, it leaves `checkpoint`
    to its caller. csv writes None as an empty cell and numbers as str() does; a chunk is formatted in
    memory and written at once."""
    records = export_rows(events.filter(pk__gt=after), formula_safe=is_csv)
    records = (records[:limit] if limit else records).iterator(chunk_size=CHUNK_SIZE)
    if connection.vendor != "postgresql":
        records = _portable(records)
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    details = HEADER.index("details")
    rows, last_id = 0, after
    while chunk := list(itertools.islice(records, CHUNK_SIZE)):
        if is_csv:
            writer.writerows(chunk)
        else:
            for row in chunk:
                record = dict(zip(HEADER, row, strict=True))
                record["details"] = json.loads(row[details]) if row[details] is not None else None
                buffer.write(json.dumps(record, ensure_ascii=False))
                buffer.write("\n")
        handle.write(buffer.getvalue().encode())
        buffer.seek(0)
        buffer.truncate()
        rows, last_id = rows + len(chunk), chunk[-1][0]
    return rows, last_id


def _batch_writer():
    """PostgreSQL writes the bytes itself (COPY); other databases get the Python writer."""
    return _copy_batch if connection.vendor == "postgresql" else _python_batch


def _resume_point(export: AuditExport, events, previous, *, is_csv: bool) -> Checkpoint:
    """Where the previous attempt's file (open, or None) can be carried on from: the rows and bytes of
    its last progress report (made once they were on disk), provided its last row is, byte for byte, the
    row that comes at that rank now. Otherwise (no file, too short, another row): from the start."""
    rows, size = export.rows_written, export.file_size or 0
    if previous is None or not rows or os.fstat(previous.fileno()).st_size < size:
        return Checkpoint()
    last_id = next(iter(events.order_by("pk").values_list("pk", flat=True)[rows - 1 : rows]), None)
    if last_id is None:
        return Checkpoint()
    expected = io.BytesIO()
    _batch_writer()(expected, events, is_csv=is_csv, after=last_id - 1, limit=1)
    tail = expected.getvalue()
    if not tail or len(tail) > size:
        return Checkpoint()
    previous.seek(size - len(tail))
    if previous.read(len(tail)) != tail:
        return Checkpoint()
    return Checkpoint(rows=rows, size=size, last_id=last_id)


def _copy_prefix(source, handle, size: int) -> None:
    """The first `size` bytes of `source` into `handle` (empty): in the kernel where it can (no trip
    through Python, and a mere reference to the same blocks on file systems that share them)."""
    copied = 0
    with contextlib.suppress(OSError):  # not across file systems on older kernels, nor on every system
        while copied < size:
            step = os.copy_file_range(source.fileno(), handle.fileno(), size - copied, copied, copied)
            if not step:
                break
            copied += step
    source.seek(copied)
    handle.seek(copied)
    while copied < size and (block := source.read(min(1 << 20, size - copied))):
        handle.write(block)
        copied += len(block)
    if copied != size:
        raise OSError(f"The previous attempt's file ended after {copied} bytes, not {size}.")


def _open_or_none(path: Path):
    try:
        return path.open("rb")
    except FileNotFoundError:
        return None


def _write_file(export: AuditExport, path: Path, *, previous: Path | None = None) -> tuple[int, int]:
    """Write every row of the export to `path` in id order, carrying on from `previous` (the previous
    attempt's file) where it can; return (rows, bytes). Every BATCH_SIZE rows the file is synced, then
    the rows and bytes reported: what a later attempt resumes from."""
    events = export_events(export)
    is_csv = export.format == AuditExport.Format.CSV
    write_batch = _batch_writer()
    with contextlib.ExitStack() as stack:
        handle = stack.enter_context(path.open("wb", buffering=1 << 20))
        source = _open_or_none(previous) if previous else None
        if source is not None:
            stack.enter_context(source)
        start = _resume_point(export, events, source, is_csv=is_csv)
        if start.rows:
            _copy_prefix(source, handle, start.size)
        elif is_csv:
            handle.write(CSV_HEADER)
        if previous:
            previous.unlink(missing_ok=True)  # ours holds what it had to give
        side = stack.enter_context(_progress_connection())
        _update_if_ours(
            export,
            side,
            total_rows=events.count(),
            rows_written=start.rows,
            file_size=start.size or None,
            heartbeat_at=timezone.now(),
        )
        # With a connection of its own for the reports, one statement for every row: PostgreSQL plans it
        # as the whole query it is (a LIMIT per batch can make it sort everything left, batch after batch).
        streaming = side is not connection
        written, after = start.rows, start.last_id

        def synced(rows: int) -> None:
            handle.flush()
            os.fsync(handle.fileno())
            _report_progress(export, written + rows, size=handle.tell(), on=side)

        while True:
            rows, after = write_batch(
                handle,
                events,
                is_csv=is_csv,
                after=after,
                limit=None if streaming else BATCH_SIZE,
                checkpoint=synced if streaming else None,
            )
            if rows:
                synced(rows)
            else:
                handle.flush()
                os.fsync(handle.fileno())
            written += rows
            if streaming or rows < BATCH_SIZE:
                break
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
    path = temporary_path(export, export.attempts)
    previous = temporary_path(export, export.attempts - 1)  # this one carries on from it, if it can
    for leftover in directory.glob(f"{export.public_id}.*{TEMPORARY_SUFFIX}"):
        if leftover != previous:
            leftover.unlink(missing_ok=True)
    try:
        written, size = _write_file(export, path, previous=previous)
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
        previous.unlink(missing_ok=True)
        _record_failure(export, error)
        return None
    except Exception as error:
        # The file stays: the next attempt carries on after its last reported batch.
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
            tasks.export_audit_events.delay_on_commit(pk)
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
    known: dict[uuid.UUID | None, tuple[str | None, int]] = {
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
