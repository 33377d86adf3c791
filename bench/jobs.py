"""Background jobs in the benchmark: the audit trail's export and an import, each written by a child
process (its peak memory is the job's, not the benchmark's) and compared with PostgreSQL's own COPY of
the same rows (the floor)."""

import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from django.conf import settings
from django.db import connection

from accounts.models import Structure, User
from audit.models import AuditEvent, AuditExport
from bench.management.commands.bench_audit_export import peak_memory_kib, write_and_measure
from bench.management.commands.bench_import import remove_synthetic, write_synthetic_csv

# The synthetic import's allocataire numbers (bench_import's range: far from the fill's).
IMPORT_FILE = Path(tempfile.gettempdir()) / "parcours-bench-import.csv"


def _auditor() -> User:
    from bench.fill import stored_meta

    return User.objects.get(username=stored_meta()["personas"]["auditor"])


def measure_export(rows: int, child: Callable[[str, str], dict]) -> dict:
    """Export the `rows` oldest events as CSV (the search with no filter, fixed at its last id)."""
    from audit.exports import export_events, export_file_path, export_rows

    rows = min(rows, AuditEvent.objects.count())
    last = AuditEvent.objects.order_by("pk").values_list("pk", flat=True)[rows - 1]
    export = AuditExport.objects.create(
        requested_by=_auditor(), format=AuditExport.Format.CSV, filters={}, last_event_id=last
    )
    try:
        result = child("export", str(export.pk))
        sql, params = export_rows(export_events(export)).query.sql_with_params()
        started = time.perf_counter()
        with connection.cursor() as cursor:
            with cursor.cursor.copy(
                f"COPY ({sql}) TO STDOUT WITH (FORMAT csv, DELIMITER ';', HEADER)", params
            ) as copy:
                for _block in copy:
                    pass
        copy_seconds = time.perf_counter() - started
    finally:
        export.refresh_from_db()
        export_file_path(export).unlink(missing_ok=True)
    return _summary(result, copy_seconds)


def write_export(export_id: int) -> dict:
    """In the child process: write the export, as a worker would."""
    return write_and_measure(export_id)


def measure_import(rows: int, child: Callable[[str, str], dict]) -> dict:
    """Import `rows` new files from a CAF-like CSV (a creation run), then remove them."""
    Structure.objects.get_or_create(
        code=settings.IMPORT_INTAKE_STRUCTURE,
        defaults={"name": "Service insertion", "kind": Structure.Kind.DEPARTMENT_SERVICE},
    )
    remove_synthetic()  # a previous run stopped halfway leaves no file behind
    write_synthetic_csv(IMPORT_FILE, rows)
    try:
        result = child("import", str(IMPORT_FILE))
        copy_seconds = _copy_from(IMPORT_FILE)
    finally:
        started = time.perf_counter()
        removed = remove_synthetic()
        cleanup = time.perf_counter() - started
        IMPORT_FILE.unlink(missing_ok=True)
    return _summary(result, copy_seconds) | {"removed_after": removed, "cleanup_seconds": round(cleanup, 1)}


def run_import(path: str) -> dict:
    """In the child process: import the file, as a worker would."""
    from imports.services import beneficiary_import_from_path, beneficiary_import_process, import_file_path

    before = peak_memory_kib()
    created = beneficiary_import_from_path(path=Path(path), dry_run=False)
    started = time.perf_counter()
    done = beneficiary_import_process(import_id=created.pk)
    seconds = time.perf_counter() - started
    if done is None or done.created_count == 0:
        created.refresh_from_db()
        raise RuntimeError(f"L'import a échoué : {created.error}")
    import_file_path(done).unlink(missing_ok=True)
    return {
        "rows": done.created_count + done.updated_count + done.unchanged_count + done.closed_count,
        "refused": done.refused_count,
        "seconds": seconds,
        "peak_kib_before": before,
        "peak_kib": peak_memory_kib(),
    }


def _copy_from(path: Path) -> float:
    """PostgreSQL's COPY FROM of the same CSV into a table of text columns (rolled back)."""
    header = path.open(encoding="utf-8").readline().strip().split(";")
    columns = ", ".join(f'"{name}" text' for name in header)
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TEMPORARY TABLE bench_import_floor ({columns})")
        try:
            with (
                path.open("rb") as handle,
                cursor.cursor.copy(
                    "COPY bench_import_floor FROM STDIN WITH (FORMAT csv, DELIMITER ';', HEADER)"
                ) as copy,
            ):
                while block := handle.read(1 << 20):
                    copy.write(block)
            seconds = time.perf_counter() - started
        finally:
            cursor.execute("DROP TABLE bench_import_floor")
    return seconds


def _summary(result: dict, copy_seconds: float) -> dict:
    rows, seconds = result["rows"], result["seconds"]
    rate, copy_rate = rows / seconds, rows / copy_seconds
    return {
        "rows": rows,
        "seconds": round(seconds, 2),
        "rows_per_second": round(rate),
        "copy_seconds": round(copy_seconds, 2),
        "copy_rows_per_second": round(copy_rate),
        "copy_ratio": round(rate / copy_rate, 3),
        "peak_mib": round(result["peak_kib"] / 1024, 1),
        "peak_mib_before": round(result["peak_kib_before"] / 1024, 1),
        **{key: value for key, value in result.items() if key == "refused"},
    }
