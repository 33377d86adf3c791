"""A real Celery worker takes a task from Redis and answers from the test database.

The rest of the suite runs tasks eagerly (config/settings/test.py); this test is the one that proves
the broker, the worker and the database work together. Locally without a broker it is skipped; with
CI=true it always runs, and a missing service fails it (config/settings/test.py, tests/conftest.py).
"""

import contextlib
import datetime
import os
import signal
import subprocess
import sys
import time
import uuid
from io import StringIO
from pathlib import Path
from urllib.parse import quote, urlencode

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import connection
from kombu import Exchange, Queue
from kombu.exceptions import OperationalError as KombuOperationalError

from accounts.models import Role, User
from accounts.tasks import worker_healthcheck
from casework.models import BeneficiaryUserObjectPermission, Share
from casework.services import beneficiary_share
from casework.tasks import purge_expired_grants
from config.celery import app
from tests.accounts.factories import UserFactory, member
from tests.casework.factories import BeneficiaryFactory

WORKER_READY_TIMEOUT = 60
RESULT_TIMEOUT = 60
WORKER_STOP_TIMEOUT = 20


def database_url(settings_dict: dict) -> str:
    """The DATABASE_URL of the test database pytest-django created (test_<name>), for the worker."""
    user = quote(settings_dict.get("USER") or "", safe="")
    password = quote(settings_dict.get("PASSWORD") or "", safe="")
    credentials = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    # A socket directory (/var/run/postgresql) travels percent-encoded in the host part.
    host = quote(settings_dict.get("HOST") or "", safe="")
    port = f":{settings_dict['PORT']}" if settings_dict.get("PORT") else ""
    options = {key: value for key, value in (settings_dict.get("OPTIONS") or {}).items() if isinstance(value, str)}
    query = f"?{urlencode(options)}" if options else ""  # sslmode and the like
    return f"postgres://{credentials}{host}{port}/{quote(settings_dict['NAME'], safe='')}{query}"


def skip_reason() -> str | None:
    """Why this test cannot run here, or None. Never skipped with CI=true: there it must run or fail."""
    if getattr(settings, "CI", False):
        return None
    if not settings.CELERY_BROKER_URL:
        return "no Celery broker: set CELERY_BROKER_URL=redis://127.0.0.1:6379/0 (runs in CI)"
    if connection.vendor != "postgresql":
        return "a worker process cannot see the test database on SQLite: set DATABASE_URL=postgres:///test"
    return None


def start_worker(*, queue: str, hostname: str, log_path: Path) -> subprocess.Popen:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": database_url(connection.settings_dict),
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "CELERY_RESULT_BACKEND": settings.CELERY_RESULT_BACKEND or settings.CELERY_BROKER_URL,
    }
    command = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "config",
        "worker",
        "--pool=solo",
        "--concurrency=1",
        "--loglevel=INFO",
        f"--queues={queue}",
        f"--hostname={hostname}",
        # Alone on its queue: no need to meet other workers, which also makes it start faster.
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
    ]
    with log_path.open("wb") as log:
        return subprocess.Popen(  # noqa: S603 (fixed command, no shell)
            command, cwd=settings.BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT
        )


def worker_log(log_path: Path) -> str:
    return log_path.read_text(errors="replace")[-4000:]


def wait_until_ready(worker: subprocess.Popen, *, hostname: str, log_path: Path) -> None:
    deadline = time.monotonic() + WORKER_READY_TIMEOUT
    while time.monotonic() < deadline:
        if worker.poll() is not None:
            pytest.fail(f"The Celery worker exited with code {worker.returncode}:\n{worker_log(log_path)}")
        if app.control.ping(destination=[hostname], timeout=1.0):
            return
    pytest.fail(f"The Celery worker did not answer a ping within {WORKER_READY_TIMEOUT} s:\n{worker_log(log_path)}")


def stop_worker(worker: subprocess.Popen) -> None:
    if worker.poll() is not None:
        return
    worker.send_signal(signal.SIGTERM)  # warm shutdown: finish the current task, then exit
    try:
        worker.wait(timeout=WORKER_STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        worker.kill()
        worker.wait()


def delete_queue(name: str) -> None:
    """Remove the run's queue and its bindings from Redis; best effort, so that an unreachable broker
    does not hide the failure that brought us here. Declared first: kombu deletes the bindings it knows."""
    queue = Queue(name, Exchange(name, type="direct"), routing_key=name)
    with contextlib.suppress(KombuOperationalError), app.connection_for_write() as conn:
        bound = queue(conn.default_channel)
        bound.declare()
        bound.delete()


@pytest.mark.celery_worker
@pytest.mark.django_db(transaction=True)  # the worker is another process: it sees committed rows only
def test_a_real_worker_runs_a_task_sent_through_the_broker(tmp_path):
    if reason := skip_reason():
        pytest.skip(reason)
    UserFactory.create_batch(3)
    # A share whose grant has expired: the periodic purge task must remove it.
    referent, recipient = member(Role.REFERENT), member(Role.REFERENT)
    beneficiary = BeneficiaryFactory(referent=referent)
    share = beneficiary_share(actor=referent, beneficiary=beneficiary, user=recipient, reason="Relais")
    ended = datetime.datetime(2020, 1, 1, tzinfo=datetime.UTC)
    Share.objects.filter(pk=share.pk).update(starts_at=ended - datetime.timedelta(days=30), ends_at=ended)
    expired_grant = BeneficiaryUserObjectPermission.objects.filter(user=recipient, content_object=beneficiary)
    expired_grant.update(expires_at=ended)
    users = User.objects.count()
    # A queue and a worker name of our own: a stale message or another worker cannot answer.
    run_id = uuid.uuid4().hex[:12]
    queue = f"smoke-{run_id}"
    hostname = f"smoke-{run_id}@localhost"
    token = uuid.uuid4().hex
    log_path = tmp_path / "worker.log"

    always_eager = app.conf.task_always_eager
    app.conf.task_always_eager = False
    worker = start_worker(queue=queue, hostname=hostname, log_path=log_path)
    try:
        wait_until_ready(worker, hostname=hostname, log_path=log_path)
        result = worker_healthcheck.apply_async(args=[token], queue=queue)
        try:
            answer = result.get(timeout=RESULT_TIMEOUT)
        except Exception as error:
            pytest.fail(f"No answer from the worker ({error!r}):\n{worker_log(log_path)}")
        result.forget()
        purge = purge_expired_grants.apply_async(queue=queue)
        try:
            purged_files = purge.get(timeout=RESULT_TIMEOUT)
        except Exception as error:
            pytest.fail(f"No answer from the worker for the purge ({error!r}):\n{worker_log(log_path)}")
        purge.forget()
        # The operations command goes the same way (docs/operations.md).
        check_output = StringIO()
        call_command("check_worker", queue=queue, timeout=RESULT_TIMEOUT, stdout=check_output)
    finally:
        app.conf.task_always_eager = always_eager
        stop_worker(worker)
        delete_queue(queue)

    assert answer == {"token": token, "database": "postgresql", "users": users}
    # The answer came from the worker, not from an eager call in this process.
    assert f"worker_healthcheck[{result.id}] succeeded" in log_path.read_text(errors="replace"), worker_log(log_path)
    assert "Worker OK: database postgresql" in check_output.getvalue()
    assert purged_files == 1
    assert not expired_grant.exists()
    assert worker.returncode == 0, worker_log(log_path)


def test_check_worker_refuses_to_run_without_a_broker(settings):
    settings.CELERY_BROKER_URL = ""
    with pytest.raises(CommandError, match="CELERY_BROKER_URL is not set"):
        call_command("check_worker")


@pytest.mark.parametrize(("policy", "refused"), [("noeviction", False), ("allkeys-lru", True), (None, False)])
def test_check_worker_refuses_a_broker_that_evicts_tasks(policy, refused):
    from unittest import mock

    from accounts.management.commands.check_worker import Command

    command = Command(stdout=StringIO())
    with mock.patch("accounts.management.commands.check_worker.redis_eviction_policy", return_value=policy):
        if refused:
            with pytest.raises(CommandError, match="noeviction"):
                command.check_eviction_policy()
        else:
            command.check_eviction_policy()


def test_the_local_redis_does_not_evict(settings):
    from accounts.management.commands.check_worker import redis_eviction_policy

    if not settings.CELERY_BROKER_URL:
        pytest.skip("no broker configured (runs in CI)")
    assert redis_eviction_policy(settings.CELERY_BROKER_URL) == "noeviction"
