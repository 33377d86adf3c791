"""Celery tasks of the accounts app: thin interfaces, no business logic (docs/operations.md)."""

from celery import shared_task
from django.db import OperationalError, connection

from accounts.models import User


@shared_task(bind=True, acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=3)
def worker_healthcheck(self, token: str) -> dict:
    """Prove that a worker receives tasks from the broker and reaches the database.

    Returns the token it was given, so that the caller knows the answer is for its own message.
    Used by tests/test_celery_smoke.py and `manage.py check_worker`.
    """
    return {"token": token, "database": connection.vendor, "users": User.objects.count()}
