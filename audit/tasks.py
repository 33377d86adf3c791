"""Celery tasks of the audit trail: retention, exports. Thin interfaces (docs/architecture.md): they take
ids, call one service and hold no logic. Each imports its service when it runs, so that the services can
import the tasks they enqueue. The names are those of the tasks before the split into apps: beat's
schedule and messages already queued use them."""

from celery import shared_task
from django.conf import settings


@shared_task(
    name="casework.tasks.purge_expired_audit_events",
    acks_late=True,
    autoretry_for=(Exception,),
    retry_backoff=True,
    max_retries=5,
)
def purge_expired_audit_events() -> int:
    """Periodic (celery beat): delete the audit events of whole days past AUDIT_RETENTION_MONTHS.

    Records its own run as a PURGE event (audit.retention); returns how many events went."""
    from audit.retention import audit_events_purge_expired

    return audit_events_purge_expired().deleted


# The export service counts attempts itself and fails the export past AUDIT_EXPORT_MAX_ATTEMPTS;
# Celery's retries (with backoff) are how those attempts come back.
@shared_task(
    name="casework.tasks.export_audit_events",
    acks_late=True,
    autoretry_for=(Exception,),
    retry_backoff=True,
    max_retries=settings.AUDIT_EXPORT_MAX_ATTEMPTS,
    ignore_result=True,  # the export's row is the result
)
def export_audit_events(export_id: int) -> int | None:
    """Write one export's file; safe to receive twice (the service claims the row first)."""
    from audit.exports import audit_export_write

    export = audit_export_write(export_id=export_id)
    return export.rows_written if export is not None else None


@shared_task(
    name="casework.tasks.sweep_audit_exports",
    acks_late=True,
    autoretry_for=(Exception,),
    retry_backoff=True,
    max_retries=5,
)
def sweep_audit_exports() -> dict:
    """Periodic (celery beat, every 5 minutes): enqueue again the exports a lost message or a dead
    worker left queued or running, fail those out of attempts."""
    from audit.exports import audit_exports_sweep

    result = audit_exports_sweep()
    return {"requeued": result.requeued, "failed": result.failed}


@shared_task(
    name="casework.tasks.delete_expired_audit_exports",
    acks_late=True,
    autoretry_for=(Exception,),
    retry_backoff=True,
    max_retries=5,
)
def delete_expired_audit_exports() -> dict:
    """Periodic (celery beat, hourly): delete the files of expired exports, keep their rows as traces."""
    from audit.exports import audit_exports_delete_expired

    result = audit_exports_delete_expired()
    return {"expired": result.expired, "files_removed": result.files_removed}
