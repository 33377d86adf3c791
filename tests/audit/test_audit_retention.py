"""Retention of the audit trail: whole expired days are purged, the run is recorded, the chain still verifies."""

import datetime
from io import StringIO
from unittest import mock

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from accounts.models import Role
from audit.models import AuditEvent
from audit.retention import audit_events_purge_expired, months_before, retention_cutoff
from audit.tasks import purge_expired_audit_events
from audit.trail import audit_record, verify_chains
from tests.accounts.factories import member

pytestmark = pytest.mark.django_db

TODAY = datetime.date(2026, 11, 28)


def at(day: datetime.date, hour: int = 10) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour)))


def record_on(day: datetime.date, user, count: int = 1, hour: int = 10) -> None:
    """Events as they were written on that day (the chain of that day, as the middleware would)."""
    with mock.patch("audit.trail.timezone.now", return_value=at(day, hour)):
        for _ in range(count):
            audit_record(action=AuditEvent.Action.VIEW_LIST, user=user)


@pytest.fixture
def users():
    return [member(Role.REFERENT, username=f"referent-{n}") for n in range(3)]


def test_the_cutoff_is_the_same_day_twelve_months_earlier(settings):
    settings.AUDIT_RETENTION_MONTHS = 12
    assert retention_cutoff(TODAY) == datetime.date(2025, 11, 28)
    settings.AUDIT_RETENTION_MONTHS = 6
    assert retention_cutoff(TODAY) == datetime.date(2026, 5, 28)
    # A day the earlier month does not have falls back to that month's last day.
    assert months_before(datetime.date(2026, 3, 31), 1) == datetime.date(2026, 2, 28)
    assert months_before(datetime.date(2026, 1, 15), 13) == datetime.date(2024, 12, 15)


def test_the_purge_removes_only_whole_expired_days_and_the_chain_still_verifies(settings, users):
    settings.AUDIT_RETENTION_MONTHS = 12
    cutoff = retention_cutoff(TODAY)
    expired_days = [cutoff - datetime.timedelta(days=40), cutoff - datetime.timedelta(days=1)]
    kept_days = [cutoff, TODAY - datetime.timedelta(days=3), TODAY]
    for day in expired_days + kept_days:
        for user in users:  # several shards of several chains, every day
            record_on(day, user, count=2)
    # An event written at 00:30 in Paris on the cutoff day (the day before in UTC) is of the kept day.
    record_on(cutoff, users[0], hour=0)
    kept_before = set(AuditEvent.objects.filter(chain_day__gte=cutoff).values_list("pk", flat=True))

    result = audit_events_purge_expired(today=TODAY)

    assert result.days == {expired_days[0]: 6, expired_days[1]: 6}
    assert result.deleted == 12 and result.remaining_expired_days == 0
    assert not AuditEvent.objects.filter(chain_day__lt=cutoff).exists()
    purge = AuditEvent.objects.get(action=AuditEvent.Action.PURGE)
    assert set(AuditEvent.objects.exclude(pk=purge.pk).values_list("pk", flat=True)) == kept_before
    assert purge.actor is None
    assert purge.details["deleted"] == 12
    assert purge.details["cutoff"] == cutoff.isoformat()
    assert purge.details["days"] == {day.isoformat(): 6 for day in expired_days}
    checked, broken, why = verify_chains()
    assert broken is None, why
    assert checked == len(kept_before) + 1
    call_command("verify_audit")


def test_a_second_run_finds_nothing_and_records_nothing(settings, users):
    settings.AUDIT_RETENTION_MONTHS = 12
    record_on(retention_cutoff(TODAY) - datetime.timedelta(days=2), users[0], count=3)
    assert audit_events_purge_expired(today=TODAY).deleted == 3
    events = AuditEvent.objects.count()

    again = audit_events_purge_expired(today=TODAY)

    assert again.deleted == 0 and again.days == {}
    assert AuditEvent.objects.count() == events
    assert AuditEvent.objects.filter(action=AuditEvent.Action.PURGE).count() == 1


def test_a_run_purges_at_most_the_configured_number_of_days_oldest_first(settings, users):
    settings.AUDIT_RETENTION_MONTHS = 6
    settings.AUDIT_PURGE_MAX_DAYS = 2
    cutoff = retention_cutoff(TODAY)
    days = [cutoff - datetime.timedelta(days=n) for n in (30, 20, 10)]
    for day in days:
        record_on(day, users[1])

    first = audit_events_purge_expired(today=TODAY)
    assert list(first.days) == [days[0], days[1]]
    assert first.remaining_expired_days == 1
    assert list(AuditEvent.objects.filter(chain_day__lt=cutoff).values_list("chain_day", flat=True)) == [days[2]]

    second = audit_events_purge_expired(today=TODAY)
    assert list(second.days) == [days[2]] and second.remaining_expired_days == 0
    assert verify_chains()[1] is None


def test_the_periodic_task_purges_with_the_settings_retention(settings, users):
    settings.AUDIT_RETENTION_MONTHS = 12
    today = timezone.localdate()
    record_on(retention_cutoff(today) - datetime.timedelta(days=1), users[0], count=2)
    record_on(today, users[0])

    assert purge_expired_audit_events.delay().get() == 2
    assert AuditEvent.objects.filter(chain_day__lt=retention_cutoff(today)).count() == 0
    assert "purge-expired-audit-events" in settings.CELERY_BEAT_SCHEDULE


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the append-only trigger exists on PostgreSQL only")
def test_after_a_purge_the_table_refuses_deletes_again(settings, users):
    settings.AUDIT_RETENTION_MONTHS = 12
    record_on(retention_cutoff(TODAY) - datetime.timedelta(days=5), users[0])
    record_on(TODAY, users[0])
    # The test runs inside one transaction, as a purge called from another service would: the
    # permission to delete must not outlive the purge itself.
    audit_events_purge_expired(today=TODAY)
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM casework_auditevent")


def test_the_command_says_what_it_purged(settings, users):
    settings.AUDIT_RETENTION_MONTHS = 12
    out = StringIO()
    call_command("purge_audit_events", stdout=out)
    assert "Rien à purger" in out.getvalue()

    record_on(retention_cutoff(timezone.localdate()) - datetime.timedelta(days=1), users[0], count=2)
    out = StringIO()
    call_command("purge_audit_events", stdout=out)
    assert "2 événement(s) supprimé(s)" in out.getvalue()
