"""An import of a generated 100,000-row CAF file through a real Celery worker on Redis (issue 7).

A department admin uploads the file (no dry run) through the page; the worker imports it in batches, the
page's polled partial shows it progressing, and every row becomes exactly one file. The worker's peak
resident memory (VmHWM) is printed for the closing note.

Skipped locally without a broker or PostgreSQL, exactly as tests/test_celery_smoke.py; never with CI=true.
"""

import re
import time
import uuid
from html import unescape

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from accounts.models import Role
from bench.management.commands.bench_import import FIRST_NUMBER, write_synthetic_csv
from casework.models import Beneficiary
from config.celery import app
from imports.models import BeneficiaryImport
from tests.accounts.factories import StructureFactory, member
from tests.audit.test_export_worker import forget_unacked
from tests.test_celery_smoke import delete_queue, skip_reason, start_worker, stop_worker, wait_until_ready, worker_log

pytestmark = [pytest.mark.celery_worker, pytest.mark.django_db(transaction=True)]

ROWS = 100_000
IMPORT_TIMEOUT = 90  # seconds, on the 2-core development machine
PROGRESS = re.compile(r'aria-valuetext="(\d+) % : (\d+) lignes? traitées?')


@pytest.fixture
def worker(settings, tmp_path, monkeypatch):
    """A worker of our own on a queue of our own, the import task routed to it, files in tmp_path."""
    if reason := skip_reason():
        pytest.skip(reason)
    run_id = uuid.uuid4().hex[:12]
    queue = f"imports-{run_id}"
    private = tmp_path / "private"
    monkeypatch.setenv("PRIVATE_MEDIA_ROOT", str(private))  # the worker's settings
    settings.PRIVATE_MEDIA_ROOT = private  # this process's
    saved = app.conf.task_always_eager, app.conf.task_routes
    app.conf.task_always_eager = False
    app.conf.task_routes = {"casework.import_tasks.import_beneficiaries": {"queue": queue}}
    app.amqp.flush_routes()
    monkeypatch.setattr(app.amqp, "router", app.amqp.Router())
    hostname = f"import-{run_id}@localhost"
    log_path = tmp_path / "worker.log"
    process = start_worker(queue=queue, hostname=hostname, log_path=log_path)
    process.log_path = log_path
    try:
        wait_until_ready(process, hostname=hostname, log_path=log_path)
        yield process
    finally:
        app.conf.task_always_eager, app.conf.task_routes = saved
        app.amqp.flush_routes()
        stop_worker(process)
        delete_queue(queue)
        forget_unacked(queue)


def peak_memory_mib(pid: int) -> float | None:
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def test_a_worker_imports_a_100000_row_file_in_batches(client, worker, settings, tmp_path):
    StructureFactory(code=settings.IMPORT_INTAKE_STRUCTURE)
    admin = member(Role.DEPARTMENT_ADMIN)
    path = write_synthetic_csv(tmp_path / "caf-100000.csv", ROWS)
    client.force_login(admin)

    started = time.monotonic()
    with path.open("rb") as handle:
        response = client.post(
            reverse("imports:list"),
            {"file": SimpleUploadedFile("caf-100000.csv", handle.read(), content_type="text/csv")},
        )
    assert response.status_code == 303, response.content.decode()[:2000]
    beneficiary_import = BeneficiaryImport.objects.get()
    assert beneficiary_import.dry_run is False
    url = reverse("imports:detail", args=[beneficiary_import.public_id])

    seen = []
    deadline = started + IMPORT_TIMEOUT
    while time.monotonic() < deadline:
        html = unescape(client.get(url, headers={"HX-Request": "true"}).content.decode())
        percent, rows = PROGRESS.search(html).groups()
        beneficiary_import.refresh_from_db()
        seen.append((beneficiary_import.status, int(rows)))
        if beneficiary_import.status in {"done", "failed"}:
            break
        time.sleep(0.5)
    elapsed = time.monotonic() - started
    memory = peak_memory_mib(worker.pid)

    assert beneficiary_import.status == "done", f"{beneficiary_import.error}\n{worker_log(worker.log_path)}"
    assert (beneficiary_import.attempts, beneficiary_import.rows_processed) == (1, ROWS)
    assert (beneficiary_import.created_count, beneficiary_import.refused_count) == (ROWS, 0)
    assert any(status == "running" and 0 < rows < ROWS for status, rows in seen), seen
    numbers = Beneficiary.objects.filter(allocataire_number__gte=str(FIRST_NUMBER))
    assert numbers.count() == numbers.values("allocataire_number").distinct().count() == ROWS
    assert "import_beneficiaries[" in worker_log(worker.log_path)
    print(
        f"\n{ROWS} rows imported by the worker in {elapsed:.1f} s ({ROWS / elapsed:,.0f} rows/s); VmHWM {memory} MiB"
    )
