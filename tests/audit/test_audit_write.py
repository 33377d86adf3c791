"""How an event is written (audit.trail: the read of its chain's last link, then its INSERT in a
savepoint): the row holds what was hashed, the chain verifies, and a writer that lost the race for a
link chains after the winner, inside a transaction or outside one."""

import datetime
import uuid
from unittest import mock

import pytest
from django.db import transaction
from django.test import RequestFactory
from django.utils import timezone

from accounts.models import Role
from audit import trail as audit
from audit.models import AuditEvent
from audit.trail import audit_record, event_hash, verify_chains
from tests.accounts.factories import StructureFactory, member
from tests.casework.factories import BeneficiaryFactory


def _columns(event: AuditEvent) -> dict:
    return {field.attname: getattr(event, field.attname) for field in AuditEvent._meta.concrete_fields}


def _record(user, **fields):
    request = RequestFactory().get("/dossiers/", HTTP_USER_AGENT="Navigateur « é »", REMOTE_ADDR="2001:db8::1")
    return audit_record(action=AuditEvent.Action.VIEW_FILE, user=user, request=request, **fields)


@pytest.mark.django_db
def test_the_row_stored_is_the_one_hashed():
    user = member(Role.REFERENT, structure=StructureFactory(name="MDS Sud"))
    file = BeneficiaryFactory(referent=user)
    details = {
        "filtres": {"commune": ["Saint-Étienne"]},
        "quand": timezone.now(),
        "jour": datetime.date(2026, 12, 6),
        "id": uuid.uuid4(),
        "vide": None,
    }
    ours = _record(
        user, beneficiary=file, object_type="note", object_id="abc", reason="Motif\nsur deux lignes", details=details
    )
    second = _record(user)

    stored = AuditEvent.objects.get(pk=ours.pk)
    assert _columns(stored) == _columns(ours)
    assert event_hash(stored) == ours.hash
    assert stored.details["jour"] == "2026-12-06" and stored.ip_address == "2001:db8::1"
    assert stored.beneficiary_id == file.pk and stored.actor_id == user.pk
    assert (second.sequence, second.previous_hash) == (ours.sequence + 1, ours.hash)
    assert verify_chains() == (2, None, "")


@pytest.mark.django_db
def test_an_event_is_two_statements_and_a_savepoint_inside_a_transaction(django_assert_num_queries):
    user = member(Role.REFERENT)
    _record(user)
    with django_assert_num_queries(4) as captured:  # the last link, SAVEPOINT, INSERT, RELEASE
        _record(user)
    select, _savepoint, insert, _release = (query["sql"] for query in captured.captured_queries)
    assert select.startswith("SELECT") and "LIMIT 1" in select
    assert insert.startswith('INSERT INTO "casework_auditevent"')


def _losing_the_race_once():
    """`_last_link` as it is, except that the first time another writer appends to the chain right after
    it was read (between this writer's read and its insert)."""
    real = audit._last_link
    calls = []

    def last_link(using, chain_day, chain_shard):
        found = real(using, chain_day, chain_shard)
        calls.append(found)
        if len(calls) == 1:
            winner = AuditEvent(
                occurred_at=timezone.now(),
                chain_day=chain_day,
                chain_shard=chain_shard,
                action=AuditEvent.Action.VIEW_LIST,
                actor_username="autre",
                sequence=(found[0] + 1) if found else 1,
                previous_hash=found[1] if found else audit.GENESIS,
            )
            winner.hash = event_hash(winner)
            winner.save(force_insert=True)
        return found

    return mock.patch.object(audit, "_last_link", side_effect=last_link), calls


def _check_lost_race(user):
    first = _record(user)
    patch, calls = _losing_the_race_once()
    with patch:
        event = _record(user)
    winner = AuditEvent.objects.get(actor_username="autre")
    assert len(calls) == 2  # read, lost the link, read again
    assert winner.sequence == first.sequence + 1
    assert (event.sequence, event.previous_hash) == (winner.sequence + 1, winner.hash)
    assert AuditEvent.objects.filter(pk=event.pk).exists()
    assert verify_chains() == (3, None, "")


@pytest.mark.django_db
def test_a_writer_that_lost_its_link_chains_after_the_winner_inside_a_transaction():
    user = member(Role.REFERENT)
    with transaction.atomic():
        _check_lost_race(user)
        # The savepoint kept the transaction usable after the refused insert.
        assert AuditEvent.objects.count() == 3


@pytest.mark.django_db(transaction=True)
def test_a_writer_that_lost_its_link_chains_after_the_winner_outside_a_transaction():
    _check_lost_race(member(Role.REFERENT))


@pytest.mark.django_db
def test_a_writer_gives_up_after_five_lost_links():
    user = member(Role.REFERENT)
    _record(user)
    with mock.patch.object(audit, "_last_link", side_effect=lambda *args: (0, audit.GENESIS)):
        with pytest.raises(RuntimeError, match="5 attempts"):
            _record(user)
    assert AuditEvent.objects.count() == 1


@pytest.mark.django_db
def test_a_nul_character_asked_for_is_stored_as_the_replacement_character():
    """PostgreSQL stores no NUL in text or jsonb: a request's `?page=%00` is recorded, its NUL replaced."""
    user = member(Role.REFERENT)
    request = RequestFactory().get("/dossiers/", HTTP_USER_AGENT="Navigateur\x00", HTTP_X_REQUEST_ID="id\x00")
    event = audit_record(
        action=AuditEvent.Action.VIEW_LIST,
        user=user,
        request=request,
        object_id="a\x00b",
        reason="motif\x00",
        details={"filters": {"page\x00": ["\x00", "1"]}},
    )
    stored = AuditEvent.objects.get(pk=event.pk)
    assert stored.details == {"filters": {"page\ufffd": ["\ufffd", "1"]}}
    assert (stored.user_agent, stored.request_id) == ("Navigateur\ufffd", "id\ufffd")
    assert (stored.object_id, stored.reason) == ("a\ufffdb", "motif\ufffd")
    assert verify_chains() == (1, None, "")
