"""Retention of the audit trail: events are kept AUDIT_RETENTION_MONTHS months, then purged by whole days.

The CNIL's framework for social support keeps access traces 6 to 12 months. The purge is the only
thing allowed to delete audit rows: on PostgreSQL the append-only trigger (migration 0008) lets a
DELETE through only inside a transaction that set `parcours.audit_purge = 'on'` (SET LOCAL, so it ends
with the transaction). It removes whole chain days, oldest first, so that every remaining chain still
starts at its first link and `verify_audit` still verifies; and it records its own run as a PURGE event
in the same transaction, so a purge that deleted something always says so.
"""

import calendar
import datetime
from dataclasses import dataclass

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count
from django.utils import timezone

from audit.models import AuditEvent
from audit.trail import audit_record


@dataclass(frozen=True)
class PurgeResult:
    cutoff: datetime.date  # days strictly before this one were expired
    days: dict[datetime.date, int]  # the days purged by this run, with the number of events of each
    remaining_expired_days: int  # expired days left for the next runs (AUDIT_PURGE_MAX_DAYS per run)

    @property
    def deleted(self) -> int:
        return sum(self.days.values())


def months_before(day: datetime.date, months: int) -> datetime.date:
    """The same day `months` months earlier (the month's last day when it has fewer days)."""
    year, month = divmod(day.year * 12 + day.month - 1 - months, 12)
    return datetime.date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def retention_cutoff(today: datetime.date | None = None) -> datetime.date:
    """The first day still kept: events of the days before it have passed their retention period."""
    return months_before(today or timezone.localdate(), settings.AUDIT_RETENTION_MONTHS)


def audit_events_purge_expired(*, today: datetime.date | None = None) -> PurgeResult:
    """Delete the events of whole expired days (at most AUDIT_PURGE_MAX_DAYS, the oldest first).

    One transaction: the deletion and the PURGE event that records it commit together or not at all.
    Running it again finds nothing more to delete until a new day expires (idempotent).
    """
    cutoff = retention_cutoff(today)
    with transaction.atomic():
        expired = list(
            AuditEvent.objects.filter(chain_day__lt=cutoff)
            .values("chain_day")
            .annotate(count=Count("pk"))
            .order_by("chain_day")
        )
        batch = expired[: settings.AUDIT_PURGE_MAX_DAYS]
        days = {row["chain_day"]: row["count"] for row in batch}
        if not days:
            return PurgeResult(cutoff=cutoff, days={}, remaining_expired_days=0)
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL parcours.audit_purge = 'on'")
        # Whole days only: a day is the unit of a chain, so no chain is left without its first links.
        AuditEvent.objects.filter(chain_day__in=list(days)).delete()
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL parcours.audit_purge = 'off'")
        result = PurgeResult(cutoff=cutoff, days=days, remaining_expired_days=len(expired) - len(batch))
        audit_record(
            action=AuditEvent.Action.PURGE,
            details={
                "retention_months": settings.AUDIT_RETENTION_MONTHS,
                "cutoff": cutoff.isoformat(),
                "days": {day.isoformat(): count for day, count in days.items()},
                "deleted": result.deleted,
                "remaining_expired_days": result.remaining_expired_days,
            },
        )
    return result
