"""Audit exports written by a real Celery worker on Redis, from the pytest test database (issue 5).

1. An auditor asks for an export of 100,000 events among 130,000 through the page; the status page shows
   it progressing; the file holds exactly the filtered rows; another auditor gets 404.
2. The worker is killed (SIGKILL) in the middle of an export; once a worker is back and the sweeper has
   run, the export completes with exactly the expected rows, none twice.

Skipped locally without a broker or PostgreSQL, exactly as tests/test_celery_smoke.py; never with CI=true.
"""

import contextlib
import csv
import io
import json
import re
import time
import uuid
from html import unescape

import pytest
from django.db import transaction
from django.urls import reverse
from kombu.exceptions import OperationalError as KombuOperationalError

from accounts.models import Role
from audit.exports import audit_exports_sweep, export_directory
from audit.models import AuditEvent, AuditExport
from bench.management.commands.bench_audit_export import insert_synthetic_events
from config.celery import app
from tests.accounts.factories import member
from tests.test_celery_smoke import delete_queue, skip_reason, start_worker, stop_worker, wait_until_ready, worker_log

pytestmark = [pytest.mark.celery_worker, pytest.mark.django_db(transaction=True)]

WANTED = 100_000
OTHERS = 30_000
EXPORT_TIMEOUT = 60
PROGRESS = re.compile(r'aria-valuetext="(\d+) % : (\d+) lignes? écrites?(?: sur (\d+))?"')


@pytest.fixture
def worker_env(settings, tmp_path, monkeypatch):
    """A queue and a worker name of our own, the export task routed to it, files in tmp_path."""
    if reason := skip_reason():
        pytest.skip(reason)
    run_id = uuid.uuid4().hex[:12]
    queue = f"exports-{run_id}"
    private = tmp_path / "private"
    # The worker reads it from its environment, this process from its settings: the same directory.
    monkeypatch.setenv("PRIVATE_MEDIA_ROOT", str(private))
    settings.PRIVATE_MEDIA_ROOT = private
    saved = app.conf.task_always_eager, app.conf.task_routes
    app.conf.task_always_eager = False
    app.conf.task_routes = {"casework.tasks.export_audit_events": {"queue": queue}}
    # Celery builds its router from task_routes once: build one for this run (restored afterwards).
    app.amqp.flush_routes()
    monkeypatch.setattr(app.amqp, "router", app.amqp.Router())
    workers = []

    def start(name: str):
        hostname = f"{name}-{run_id}@localhost"
        log_path = tmp_path / f"{name}.log"
        worker = start_worker(queue=queue, hostname=hostname, log_path=log_path)
        workers.append(worker)
        wait_until_ready(worker, hostname=hostname, log_path=log_path)
        worker.log_path = log_path
        return worker

    yield start
    app.conf.task_always_eager, app.conf.task_routes = saved
    app.amqp.flush_routes()
    for worker in workers:
        stop_worker(worker)
    delete_queue(queue)
    forget_unacked(queue)


def forget_unacked(queue: str) -> None:
    """A killed worker leaves its message in Redis' "unacked" hash, to come back after the visibility
    timeout (hours): remove ours, best effort."""
    with contextlib.suppress(KombuOperationalError, OSError), app.connection_for_write() as conn:
        client = conn.default_channel.client
        for tag, payload in client.hgetall("unacked").items():
            with contextlib.suppress(ValueError, TypeError, IndexError):
                if json.loads(payload)[2] == queue:
                    client.hdel("unacked", tag)
                    client.zrem("unacked_index", tag)


def seed_events() -> list[int]:
    """WANTED "view_file" events among OTHERS of other kinds; their ids, in order."""
    insert_synthetic_events(OTHERS // 2, action=AuditEvent.Action.VIEW_LIST)
    insert_synthetic_events(WANTED, action=AuditEvent.Action.VIEW_FILE)
    insert_synthetic_events(OTHERS // 2, action=AuditEvent.Action.SEARCH)
    return list(
        AuditEvent.objects.filter(action=AuditEvent.Action.VIEW_FILE).order_by("pk").values_list("pk", flat=True)
    )


def ask_for_export(client, auditor) -> AuditExport:
    client.force_login(auditor)
    response = client.post(reverse("audit:exports"), {"action": ["view_file"], "format": "csv"})
    assert response.status_code == 303, response.content.decode()[:2000]
    return AuditExport.objects.get(requested_by=auditor)


def progress_seen(client, export) -> tuple[str, int, int | None]:
    """What the status page's polled partial shows: (state label, rows written, rows in all)."""
    url = reverse("audit:export_status", args=[export.public_id])
    html = unescape(client.get(url, headers={"HX-Request": "true"}).content.decode())
    _percent, rows, total = PROGRESS.search(html).groups()
    state = re.search(r'<span class="badge[^"]*">([^<]+)</span>', html).group(1)
    return state, int(rows), int(total) if total else None


def file_ids(export) -> list[int]:
    export.refresh_from_db()
    content = (export_directory() / export.file_name).read_text(encoding="utf-8-sig")
    return [int(row["id"]) for row in csv.DictReader(io.StringIO(content), delimiter=";")]


def wait_for(condition, *, worker, what: str, timeout: float = EXPORT_TIMEOUT, every: float = 0.02):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := condition():
            return value
        time.sleep(every)
    pytest.fail(f"Timed out waiting for {what}:\n{worker_log(worker.log_path)}")


def test_a_worker_writes_an_export_of_100000_events_that_only_its_requester_can_download(client, worker_env):
    expected = seed_events()
    auditor, other_auditor = member(Role.AUDITOR), member(Role.AUDITOR)
    worker = worker_env("export")

    export = ask_for_export(client, auditor)
    # Events added after the request are not in the export, even if the worker has not started yet.
    insert_synthetic_events(10, action=AuditEvent.Action.VIEW_FILE)

    seen = []

    def finished():
        seen.append(progress_seen(client, export))
        return seen[-1][0] in {"Prêt", "Échec"}

    wait_for(finished, worker=worker, what="the export to finish")

    assert seen[-1] == ("Prêt", WANTED, WANTED), worker_log(worker.log_path)
    assert any(state == "En cours" and 0 < rows < WANTED for state, rows, _total in seen), seen
    assert file_ids(export) == expected
    export.refresh_from_db()
    assert (export.status, export.attempts, export.rows_written) == ("done", 1, WANTED)
    download = reverse("audit:export_download", args=[export.public_id])
    response = client.get(download)
    assert response.status_code == 200
    assert sum(1 for _line in b"".join(response.streaming_content).splitlines()) == WANTED + 1
    client.force_login(other_auditor)
    assert client.get(download).status_code == 404
    assert client.get(reverse("audit:export_status", args=[export.public_id])).status_code == 404
    assert "export_audit_events[" in worker_log(worker.log_path)


def test_an_export_whose_worker_is_killed_completes_once_a_worker_is_back(client, worker_env, settings):
    expected = seed_events()
    auditor = member(Role.AUDITOR)
    first = worker_env("doomed")

    export = ask_for_export(client, auditor)
    wait_for(
        lambda: AuditExport.objects.filter(pk=export.pk, rows_written__gt=0).exists(),
        worker=first,
        what="the first rows",
        every=0.005,
    )
    # Hold the export's row: the worker blocks at its next progress report (or its final check), so it
    # is surely killed in the middle, whatever the speed of the machine.
    with transaction.atomic():
        locked = AuditExport.objects.select_for_update().get(pk=export.pk)
        assert locked.status == "running" and 0 < locked.rows_written < WANTED
        first.kill()  # SIGKILL: no warm shutdown, the message stays unacknowledged
        first.wait(timeout=10)
    export.refresh_from_db()
    assert export.status == "running" and export.attempts == 1
    partial = list(export_directory().glob("*.part"))
    assert len(partial) == 1 and not list(export_directory().glob("*.csv"))

    revived = worker_env("revived")
    settings.AUDIT_EXPORT_STALE_SECONDS = 1
    time.sleep(1.1)
    swept = audit_exports_sweep()  # in this process: only the message goes to the worker
    assert swept.requeued == [export.pk]

    wait_for(
        lambda: AuditExport.objects.filter(pk=export.pk, status__in=["done", "failed"]).exists(),
        worker=revived,
        what="the export to complete after the sweep",
    )
    export.refresh_from_db()
    assert (export.status, export.attempts, export.rows_written) == ("done", 2, WANTED), export.error
    ids = file_ids(export)
    assert len(ids) == len(set(ids)) == WANTED
    assert ids == expected
    assert sorted(path.name for path in export_directory().iterdir()) == [export.file_name]
