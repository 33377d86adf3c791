"""The audit trail: reads, searches and writes recorded once per request, chained, append-only."""

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction
from django.urls import reverse

from accounts.models import Role
from audit.models import AuditEvent
from audit.trail import verify_chains
from tests.accounts.factories import DEFAULT_PASSWORD, StructureFactory, member
from tests.casework.factories import BeneficiaryFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def referent():
    return member(Role.REFERENT, structure=StructureFactory(name="MDS Nord"), username="referente")


def test_reading_a_file_records_who_read_which_file(client, referent):
    file = BeneficiaryFactory(referent=referent)
    client.force_login(referent)

    client.get(reverse("casework:file_detail", args=[file.public_id]))

    event = AuditEvent.objects.get(action=AuditEvent.Action.VIEW_FILE)
    assert event.actor == referent and event.actor_username == "referente"
    assert event.beneficiary == file
    assert event.status_code == 200
    assert "MDS Nord" in event.actor_structures and event.actor_roles == Role.REFERENT


def test_an_attempt_on_a_file_out_of_scope_is_recorded_with_its_404(client, referent):
    other = BeneficiaryFactory(referent=member(Role.REFERENT))
    client.force_login(referent)

    client.get(reverse("casework:file_detail", args=[other.public_id]))

    event = AuditEvent.objects.get(action=AuditEvent.Action.VIEW_FILE)
    assert event.status_code == 404 and event.beneficiary == other


def test_a_list_records_the_filters_and_the_count_not_the_results(client, referent):
    BeneficiaryFactory.create_batch(3, referent=referent)
    client.force_login(referent)

    client.get(reverse("casework:caseload"), {"statut": "open"})

    event = AuditEvent.objects.get(action=AuditEvent.Action.VIEW_LIST)
    assert event.details["count"] == 3
    assert event.details["filters"] == {"statut": ["open"]}
    assert event.beneficiary is None


def test_a_search_is_recorded(client, referent):
    BeneficiaryFactory(referent=referent, last_name="Lefèvre")
    client.force_login(referent)

    client.post(reverse("casework:caseload_search"), {"q": "lefevre"})

    assert AuditEvent.objects.filter(action=AuditEvent.Action.SEARCH).exists()


def test_logins_failures_and_logouts_are_recorded(client, referent):
    client.post(reverse("login"), {"username": "referente", "password": "faux"})
    client.post(reverse("login"), {"username": "referente", "password": DEFAULT_PASSWORD})
    client.post(reverse("logout"))

    actions = list(AuditEvent.objects.order_by("pk").values_list("action", flat=True))
    assert actions == [AuditEvent.Action.LOGIN_FAILED, AuditEvent.Action.LOGIN, AuditEvent.Action.LOGOUT]
    failed = AuditEvent.objects.get(action=AuditEvent.Action.LOGIN_FAILED)
    assert failed.details == {"username": "referente"} and failed.actor is None


def test_one_event_per_request(client, referent):
    file = BeneficiaryFactory(referent=referent)
    client.force_login(referent)
    before = AuditEvent.objects.count()

    client.get(reverse("casework:file_detail", args=[file.public_id]))

    assert AuditEvent.objects.count() == before + 1


def test_the_chain_verifies_and_an_altered_event_is_found(client, referent):
    file = BeneficiaryFactory(referent=referent)
    client.force_login(referent)
    for _ in range(3):
        client.get(reverse("casework:file_detail", args=[file.public_id]))
    call_command("verify_audit")
    checked, broken, _ = verify_chains()
    assert broken is None and checked >= 3

    victim = AuditEvent.objects.filter(action=AuditEvent.Action.VIEW_FILE).order_by("sequence")[1]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # As a database superuser would: triggers off for this transaction only.
            cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute("UPDATE casework_auditevent SET actor_username = 'quelqu-un' WHERE id = %s", [victim.pk])
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL session_replication_role = origin")

    checked, broken, why = verify_chains()
    assert broken.pk == victim.pk and "empreinte" in why
    with pytest.raises(CommandError, match="Maillon rompu"):
        call_command("verify_audit")


def test_a_removed_event_breaks_the_chain(client, referent):
    file = BeneficiaryFactory(referent=referent)
    client.force_login(referent)
    for _ in range(3):
        client.get(reverse("casework:file_detail", args=[file.public_id]))
    victim = AuditEvent.objects.filter(action=AuditEvent.Action.VIEW_FILE).order_by("sequence")[1]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute("DELETE FROM casework_auditevent WHERE id = %s", [victim.pk])
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL session_replication_role = origin")

    _, broken, why = verify_chains()
    assert broken is not None and "manquant" in why


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the append-only trigger exists on PostgreSQL only")
@pytest.mark.parametrize(
    "statement", ["UPDATE casework_auditevent SET reason = 'x'", "DELETE FROM casework_auditevent"]
)
def test_postgresql_refuses_to_update_or_delete_events(client, referent, statement):
    client.force_login(referent)
    client.get(reverse("casework:caseload"))
    assert AuditEvent.objects.exists()
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(statement)


def test_reading_a_note_records_the_note_and_its_file(client, referent):
    from tests.casework.factories import NoteFactory

    file = BeneficiaryFactory(referent=referent)
    note = NoteFactory(beneficiary=file, author=referent, body="Rendez-vous pris avec la mission locale.")
    client.force_login(referent)

    response = client.get(reverse("casework:note_detail", args=[file.public_id, note.public_id]))

    assert response.status_code == 200
    assert "Rendez-vous pris avec la mission locale." in response.content.decode()
    event = AuditEvent.objects.get(action=AuditEvent.Action.VIEW_NOTE)
    assert event.actor == referent and event.beneficiary == file
    assert (event.object_type, event.object_id) == ("note", str(note.public_id))


def test_the_file_page_event_names_the_notes_it_showed(client, referent):
    from tests.casework.factories import NoteFactory

    file = BeneficiaryFactory(referent=referent)
    mine = NoteFactory(beneficiary=file, author=referent)
    colleague = member(Role.REFERENT, structure=referent.active_memberships[0].structure)
    private = NoteFactory(beneficiary=file, author=colleague)  # private to its author: not shown
    client.force_login(referent)

    client.get(reverse("casework:file_detail", args=[file.public_id]))

    event = AuditEvent.objects.get(action=AuditEvent.Action.VIEW_FILE)
    assert event.details["notes"] == [str(mine.public_id)]
    assert str(private.public_id) not in str(event.details)


def test_a_note_the_user_may_not_read_is_a_404_and_the_attempt_is_recorded(client, referent):
    from tests.casework.factories import NoteFactory

    file = BeneficiaryFactory(referent=referent)
    supervisor = member(Role.SUPERVISOR, structure=referent.active_memberships[0].structure)
    private = NoteFactory(beneficiary=file, author=referent, body="Note privée")
    client.force_login(supervisor)

    response = client.get(reverse("casework:note_detail", args=[file.public_id, private.public_id]))

    assert response.status_code == 404
    assert "Note privée" not in response.content.decode()
    event = AuditEvent.objects.get(action=AuditEvent.Action.VIEW_NOTE)
    assert event.actor == supervisor and event.status_code == 404 and event.beneficiary == file
    assert event.object_id == str(private.public_id)
