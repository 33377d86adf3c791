"""Celery tasks of the imports of CAF/MSA files (casework/imports/services.py). Messages carry the import's
id only, never personal data. The service counts attempts itself and fails the import past
IMPORT_MAX_ATTEMPTS; Celery's retries (with backoff) are how those attempts come back."""

from celery import shared_task
from django.conf import settings


@shared_task(
    name="casework.import_tasks.import_beneficiaries",
    acks_late=True,
    autoretry_for=(Exception,),
    retry_backoff=True,
    max_retries=settings.IMPORT_MAX_ATTEMPTS,
    ignore_result=True,  # the import's row is the result
)
def import_beneficiaries(import_id: int) -> int | None:
    """Check (dry run) or apply one import; safe to receive twice (the service claims the row first)."""
    from imports.services import beneficiary_import_process

    beneficiary_import = beneficiary_import_process(import_id=import_id)
    return beneficiary_import.rows_processed if beneficiary_import is not None else None


@shared_task(
    name="casework.import_tasks.sweep_imports",
    acks_late=True,
    autoretry_for=(Exception,),
    retry_backoff=True,
    max_retries=5,
)
def sweep_imports() -> dict:
    """Periodic (celery beat, every 5 minutes): enqueue again the imports a lost message or a dead worker
    left queued or at work, fail those out of attempts."""
    from imports.services import beneficiary_imports_sweep

    result = beneficiary_imports_sweep()
    return {"requeued": result.requeued, "failed": result.failed}
