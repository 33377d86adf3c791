from celery import shared_task

from casework.services import grants_purge_expired


@shared_task(acks_late=True, autoretry_for=(Exception,), retry_backoff=True, max_retries=5)
def purge_expired_grants() -> int:
    """Periodic (celery beat): delete object permissions whose share or emergency access has expired.

    Expired rows already grant nothing (the scope checks expires_at); this keeps the tables small."""
    return grants_purge_expired()
