"""`manage.py check_worker`: send a task through the broker and wait for a worker's answer.

For operations (docs/operations.md): after a deploy, or from a monitoring probe, it proves that a
worker is consuming the default queue and can reach the database. Exits with an error otherwise.
"""

import uuid

from celery.exceptions import TimeoutError as CeleryTimeoutError
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from accounts.tasks import worker_healthcheck


def redis_eviction_policy(url: str) -> str | None:
    """Redis's maxmemory-policy, or None when the broker is not Redis or does not say (CONFIG refused)."""
    if not url.startswith(("redis://", "rediss://")):
        return None
    import redis

    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=5)
        return client.config_get("maxmemory-policy").get("maxmemory-policy")
    except redis.RedisError:
        return None


class Command(BaseCommand):
    help = "Envoie une tâche de contrôle au worker Celery et attend sa réponse."

    def add_arguments(self, parser):
        parser.add_argument("--timeout", type=float, default=30.0, help="Seconds to wait for the answer.")
        parser.add_argument("--queue", default=None, help="Queue to send to (default: Celery's default queue).")

    def handle(self, *args, timeout, queue, **options):
        if not settings.CELERY_BROKER_URL:
            raise CommandError("CELERY_BROKER_URL is not set: tasks run eagerly in this process, there is no worker.")
        if not settings.CELERY_RESULT_BACKEND:
            raise CommandError("No result backend (CELERY_RESULT_BACKEND): the answer cannot come back.")
        token = uuid.uuid4().hex
        options = {"queue": queue} if queue else {}
        result = worker_healthcheck.apply_async(args=[token], **options)
        try:
            answer = result.get(timeout=timeout)
        except CeleryTimeoutError:
            raise CommandError(f"No worker answered within {timeout:g} s.") from None
        finally:
            result.forget()
        if answer.get("token") != token:
            raise CommandError(f"Unexpected answer from the worker: {answer!r}")
        self.check_eviction_policy()
        self.stdout.write(self.style.SUCCESS(f"Worker OK: database {answer['database']}, {answer['users']} user(s)."))

    def check_eviction_policy(self) -> None:
        """A broker that evicts keys when memory runs short drops queued tasks (exports, imports)."""
        policy = redis_eviction_policy(settings.CELERY_BROKER_URL)
        if policy is None:
            self.stdout.write(
                self.style.WARNING("Could not read Redis's maxmemory-policy: make sure it is noeviction.")
            )
        elif policy != "noeviction":
            raise CommandError(
                f"Redis's maxmemory-policy is {policy!r}: set it to noeviction, or queued tasks can be lost."
            )
