"""Celery tasks of supervision (issue 6): covers starting and ending, notification e-mails.

Thin interfaces (docs/architecture.md): they take ids, call one service of team.services and
hold no logic. Messages never carry personal data; the services are idempotent, so a message delivered
twice (acks_late) notifies and e-mails once.
"""

from celery import shared_task


@shared_task(
    name="casework.supervision_tasks.covers_update",
    acks_late=True,
    autoretry_for=(Exception,),
    retry_backoff=True,
    max_retries=5,
)
def covers_update() -> dict:
    """Periodic (celery beat, every 15 minutes): record the covers that started or ended and notify the
    covering and absent referents. Access itself follows the cover's dates without this task."""
    from team import services

    result = services.covers_update()
    return {"started": result.started, "ended": result.ended}


@shared_task(
    name="casework.supervision_tasks.notification_email_send",
    acks_late=True,
    autoretry_for=(Exception,),
    retry_backoff=True,
    retry_backoff_max=3600,
    max_retries=8,
)
def notification_email_send(notification_id: int) -> bool:
    """E-mail one notification (its recipient, a short notice and a link; never a beneficiary's data)."""
    from team import services

    return services.notification_email_send(notification_id=notification_id)
