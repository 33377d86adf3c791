"""Celery tasks of the files. Thin interfaces (docs/architecture.md): they call one service."""

from celery import shared_task


@shared_task(
    name="casework.tasks.purge_expired_grants",
    acks_late=True,
    autoretry_for=(Exception,),
    retry_backoff=True,
    max_retries=5,
)
def purge_expired_grants() -> int:
    """Periodic (celery beat): delete object permissions whose share or emergency access has expired.

    Expired rows already grant nothing (the scope checks expires_at); this keeps the tables small."""
    from casework.services import grants_purge_expired

    return grants_purge_expired()
