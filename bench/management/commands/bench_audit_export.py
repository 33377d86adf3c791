"""Measure the audit export: rows per second, peak memory of the process that writes, and PostgreSQL's
own `COPY (SELECT ...) TO STDOUT` of the same rows as the floor nothing in Python can beat.

For a scratch database only (it adds synthetic events and a bench auditor); refused in production:

    createdb bench && DATABASE_URL=postgres:///bench python manage.py migrate
    DATABASE_URL=postgres:///bench python manage.py bench_audit_export --rows 1000000

The write runs in a child process by default (`manage.py bench_audit_export --write-export ID`), so that
its peak resident memory (VmHWM) is the export's and nothing else's; `--in-process` runs it here.
"""

import argparse
import datetime
import json
import os
import resource
import subprocess
import sys
import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from accounts.models import Membership, Role, Structure, User
from audit.exports import audit_export_write, export_events, export_file_path, export_rows
from audit.models import AuditEvent, AuditExport

BENCH_USERNAME = "banc-essai-audit"
# Synthetic events go on chains of their own, far in the past, so they never meet real chains.
SYNTHETIC_CHAIN_DAY = datetime.date(2000, 1, 1)
SYNTHETIC_FIRST_SHARD = 1000

INSERT_SQL = """
INSERT INTO casework_auditevent (
    occurred_at, chain_day, chain_shard, sequence, previous_hash, hash, actor_username, actor_structures,
    actor_roles, action, url_name, status_code, object_type, object_id, user_agent, request_id, reason, details
)
SELECT
    now() - make_interval(secs => g), %(day)s, %(shard)s, g, repeat('0', 64), md5(g::text) || md5('x' || g),
    'agent' || (g %% 500), 'MDS Nord, CCAS de Rive', 'referent', %(action)s, 'casework:file_detail', 200,
    'beneficiary', g::text, 'Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0', md5(g::text), '',
    jsonb_build_object('filters', jsonb_build_object('statut', jsonb_build_array('open')), 'count', g %% 97)
FROM generate_series(1, %(count)s) AS g
"""


def insert_synthetic_events(count: int, *, action: str = AuditEvent.Action.VIEW_FILE) -> None:
    """Insert `count` audit events in one statement (their hash chain is not a valid one: they are for
    measuring and testing exports only). Each call uses a chain of its own."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT COALESCE(MAX(chain_shard), %s) + 1 FROM casework_auditevent WHERE chain_day = %s",
            [SYNTHETIC_FIRST_SHARD - 1, SYNTHETIC_CHAIN_DAY],
        )
        shard = cursor.fetchone()[0]
        cursor.execute(INSERT_SQL, {"day": SYNTHETIC_CHAIN_DAY, "shard": shard, "action": action, "count": count})


def peak_memory_kib() -> int:
    """The process's peak resident memory (VmHWM), in KiB."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux


def write_and_measure(export_id: int) -> dict:
    before = peak_memory_kib()
    started = time.perf_counter()
    export = audit_export_write(export_id=export_id)
    elapsed = time.perf_counter() - started
    if export is None:
        raise CommandError(f"L'export {export_id} n'a pas été écrit (déjà pris ou terminé).")
    return {
        "rows": export.rows_written,
        "seconds": elapsed,
        "bytes": export.file_size,
        "peak_kib_before": before,
        "peak_kib": peak_memory_kib(),
    }


class Command(BaseCommand):
    help = (
        "Mesure l'export du journal d'audit (lignes par seconde, mémoire maximale) et le plancher COPY de "
        "PostgreSQL ; ajoute des événements synthétiques si besoin. Base de test uniquement."
    )

    def add_arguments(self, parser):
        parser.add_argument("--rows", type=int, default=100_000, help="Nombre d'événements à exporter.")
        parser.add_argument("--format", choices=AuditExport.Format.values, default=AuditExport.Format.CSV)
        parser.add_argument("--in-process", action="store_true", help="Écrire dans ce processus.")
        parser.add_argument("--keep-file", action="store_true", help="Ne pas supprimer le fichier écrit.")
        parser.add_argument("--write-export", type=int, help=argparse.SUPPRESS)

    def handle(self, *args, **options):
        if settings.PRODUCTION:
            raise CommandError("Refusé avec PARCOURS_ENV=production : ce banc d'essai écrit dans la base.")
        if connection.vendor != "postgresql":
            raise CommandError("Le banc d'essai mesure PostgreSQL : DATABASE_URL=postgres:///...")
        if options["write_export"]:
            # The child process: write one export and report, as JSON, on stdout.
            self.stdout.write(json.dumps(write_and_measure(options["write_export"])))
            return
        rows = options["rows"]
        if rows < 1:
            raise CommandError("--rows doit être positif.")
        existing = AuditEvent.objects.count()
        if existing < rows:
            started = time.perf_counter()
            insert_synthetic_events(rows - existing)
            self.stdout.write(f"{rows - existing} événements insérés en {time.perf_counter() - started:.1f} s.")
            # As autovacuum would soon: without statistics PostgreSQL plans the export as if it were tiny.
            with connection.cursor() as cursor:
                cursor.execute("VACUUM ANALYZE casework_auditevent")
        export = self._export(rows, options["format"])
        result = self._run(export, in_process=options["in_process"])
        copy_seconds = self._copy_floor(export)
        export.refresh_from_db()
        if not options["keep_file"]:
            export_file_path(export).unlink(missing_ok=True)
        rate = result["rows"] / result["seconds"]
        self.stdout.write(
            f"Export {options['format'].upper()} : {result['rows']} lignes en {result['seconds']:.2f} s, "
            f"{rate:,.0f} lignes/s, {result['bytes'] / 1e6:.1f} Mo.\n"
            f"Mémoire maximale du processus qui écrit (VmHWM) : {result['peak_kib'] / 1024:.1f} Mio "
            f"(avant l'export : {result['peak_kib_before'] / 1024:.1f} Mio).\n"
            f"Plancher COPY (SELECT ...) TO STDOUT des mêmes lignes : {copy_seconds:.2f} s "
            f"({result['rows'] / copy_seconds:,.0f} lignes/s).\n"
            f"Rapport export / COPY : {copy_seconds / result['seconds']:.0%} (objectif : au moins 50 %)."
        )

    def _export(self, rows: int, format: str) -> AuditExport:
        auditor, _created = User.objects.get_or_create(username=BENCH_USERNAME)
        if not auditor.is_auditor:
            structure, _created = Structure.objects.get_or_create(
                code="banc-essai", defaults={"name": "Banc d'essai", "kind": Structure.Kind.ASSOCIATION}
            )
            Membership.objects.create(
                user=auditor, structure=structure, role=Role.AUDITOR, start_date=datetime.date(2000, 1, 1)
            )
            auditor = User.objects.get(pk=auditor.pk)  # its memberships were cached before this one
        # The `rows` first events: the filters of an export are the search's, so the bound is its last id.
        last = AuditEvent.objects.order_by("pk").values_list("pk", flat=True)[rows - 1]
        # Created here rather than with audit_export_request: no message is sent, this command writes it.
        return AuditExport.objects.create(requested_by=auditor, format=format, filters={}, last_event_id=last)

    def _run(self, export: AuditExport, *, in_process: bool) -> dict:
        if in_process:
            return write_and_measure(export.pk)
        command = [sys.executable, "manage.py", "bench_audit_export", "--write-export", str(export.pk)]
        completed = subprocess.run(  # noqa: S603 (our own command, no shell)
            command, cwd=settings.BASE_DIR, env=os.environ.copy(), capture_output=True, text=True, check=False
        )
        if completed.returncode:
            raise CommandError(f"L'écriture a échoué :\n{completed.stderr[-4000:]}")
        return json.loads(completed.stdout.strip().splitlines()[-1])

    def _copy_floor(self, export: AuditExport) -> float:
        sql, params = export_rows(export_events(export)).query.sql_with_params()
        started = time.perf_counter()
        with connection.cursor() as cursor:
            raw = cursor.cursor  # psycopg's own cursor: COPY is not in the DB-API
            with raw.copy(f"COPY ({sql}) TO STDOUT WITH (FORMAT csv, DELIMITER ';', HEADER)", params) as copy:
                for _block in copy:
                    pass
        return time.perf_counter() - started
