from celery import shared_task
from django.conf import settings

from casework.audit_exports import audit_export_write, audit_exports_delete_expired, audit_exports_sweep
from casework.audit_retention import audit_events_purge_expired
from casework.services import grants_purge_expired


@shared_task(acks_late=True, autoretry_for=(Exception,), retry_backoff=True, max_retries=5)
def purge_expired_grants() -> int:
    """Periodic (celery beat): delete object permissions whose share or emergency access has expired.

    Expired rows already grant nothing (the scope checks expires_at); this keeps the tables small."""
    return grants_purge_expired()


@shared_task(acks_late=True, autoretry_for=(Exception,), retry_backoff=True, max_retries=5)
def purge_expired_audit_events() -> int:
    """Periodic (celery beat): delete the audit events of whole days past AUDIT_RETENTION_MONTHS.

    Records its own run as a PURGE event (casework.audit_retention); returns how many events went."""
    return audit_events_purge_expired().deleted


# Exports of the audit trail (casework/audit_exports.py). Messages carry the export's id only.
# The service counts attempts itself and fails the export past AUDIT_EXPORT_MAX_ATTEMPTS; Celery's
# retries (with backoff) are how those attempts come back.
@shared_task(
    acks_late=True,
    autoretry_for=(Exception,),
    retry_backoff=True,
    max_retries=settings.AUDIT_EXPORT_MAX_ATTEMPTS,
    ignore_result=True,  # the export's row is the result
)
def export_audit_events(export_id: int) -> int | None:
    """Write one export's file; safe to receive twice (the service claims the row first)."""
    export = audit_export_write(export_id=export_id)
    return export.rows_written if export is not None else None


@shared_task(acks_late=True, autoretry_for=(Exception,), retry_backoff=True, max_retries=5)
def sweep_audit_exports() -> dict:
    """Periodic (celery beat, every 5 minutes): enqueue again the exports a lost message or a dead
    worker left queued or running, fail those out of attempts."""
    result = audit_exports_sweep()
    return {"requeued": result.requeued, "failed": result.failed}


@shared_task(acks_late=True, autoretry_for=(Exception,), retry_backoff=True, max_retries=5)
def delete_expired_audit_exports() -> dict:
    """Periodic (celery beat, hourly): delete the files of expired exports, keep their rows as traces."""
    result = audit_exports_delete_expired()
    return {"expired": result.expired, "files_removed": result.files_removed}
