"""Writing on a file through the services: steps, appointments, notes, their correction, withdrawal and
concurrent edits (casework.services.entries and casework.services.common)."""

import datetime

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from accounts.models import Role
from casework.models import Appointment, Note, Revision, Step
from casework.services import common
from casework.services import entries as services
from tests.accounts.factories import MembershipFactory
from tests.casework.factories import (
    ActionFactory,
    AppointmentFactory,
    BeneficiaryFactory,
    NoteFactory,
    ObjectiveFactory,
    StepFactory,
)
from tests.personas import share_with_recipient

pytestmark = pytest.mark.django_db


@pytest.fixture(name="personas")
def personas_sharing_with_recipient(personas):
    """The shared personas, the file shared with the CCAS's referent (who reads it, may not act on it).
    tests/www/test_entries_views.py, test_pickers.py and the other entries modules import this fixture."""
    share_with_recipient(personas)
    return personas


def today():
    return timezone.localdate()


def revisions_of(entry):
    return Revision.objects.filter(content_type=ContentType.objects.get_for_model(type(entry)), object_id=entry.pk)


def log_step(personas, **overrides):
    arguments = {
        "actor": personas.referent,
        "beneficiary": personas.file,
        "kind": Step.Kind.TRAINING,
        "date": today(),
        "status": Step.Status.DONE,
        "outcome": "Inscrite à la formation CACES.",
    }
    return services.step_log(**(arguments | overrides))


# --- Steps ---------------------------------------------------------------------------------------


def test_logging_a_step_records_who_where_and_moves_last_activity(personas):
    before = timezone.now()
    step = log_step(personas, outcome="  Inscrite.  ")
    personas.file.refresh_from_db()
    assert step.author == personas.referent
    assert step.author_structure == personas.nord
    assert step.outcome == "Inscrite."
    assert step.version == 1
    assert personas.file.last_activity_at >= before


def test_a_supervisor_logs_a_step_for_the_files_structure(personas):
    MembershipFactory(user=personas.supervisor, role=Role.REFERENT, structure=personas.sud)
    personas.supervisor.__dict__.pop("active_memberships", None)
    step = log_step(personas, actor=personas.supervisor)
    assert step.author_structure == personas.nord


@pytest.mark.parametrize("persona", ["colleague", "recipient", "other", "auditor"])
def test_only_who_may_act_on_the_file_logs_a_step(personas, persona):
    with pytest.raises(PermissionDenied):
        log_step(personas, actor=getattr(personas, persona))
    assert not Step.objects.exists()


def test_a_step_is_dated_at_most_a_year_ahead(personas):
    log_step(personas, date=today() + datetime.timedelta(days=365), status=Step.Status.PLANNED)
    with pytest.raises(ValidationError) as error:
        log_step(personas, date=today() + datetime.timedelta(days=366), status=Step.Status.PLANNED)
    assert error.value.message_dict == {
        "date": ["Une étape ne peut pas être datée de plus d'un an après aujourd'hui."]
    }


@pytest.mark.parametrize("status", [Step.Status.DONE, Step.Status.MISSED])
def test_a_step_done_or_missed_is_not_in_the_future(personas, status):
    with pytest.raises(ValidationError) as error:
        log_step(personas, date=today() + datetime.timedelta(days=1), status=status)
    assert "ne peut pas être datée dans le futur" in error.value.message_dict["date"][0]


def test_changing_a_steps_status_keeps_the_previous_version(personas):
    step = log_step(personas, status=Step.Status.PLANNED, outcome="")
    updated = services.step_set_status(
        actor=personas.supervisor, step=step, status=Step.Status.DONE, outcome="Fait.", expected_version=1
    )
    assert (updated.status, updated.outcome, updated.version) == ("done", "Fait.", 2)
    assert updated.corrected_at is None  # the entry's normal life, not a correction
    [revision] = revisions_of(step)
    assert revision.version == 1
    assert revision.data["status"] == "planned"
    assert revision.changed_by == personas.supervisor
    assert revision.reason == "Statut : Prévue → Réalisée"


def test_a_status_change_without_outcome_keeps_the_outcome(personas):
    step = log_step(personas, status=Step.Status.PLANNED, outcome="Convocation envoyée.")
    updated = services.step_set_status(actor=personas.referent, step=step, status="cancelled", expected_version=1)
    assert updated.outcome == "Convocation envoyée."


def test_a_future_step_cannot_be_marked_done(personas):
    step = log_step(personas, date=today() + datetime.timedelta(days=3), status=Step.Status.PLANNED)
    with pytest.raises(ValidationError) as error:
        services.step_set_status(actor=personas.referent, step=step, status="done", expected_version=1)
    assert "ne peut pas encore être « réalisée »" in error.value.message_dict["status"][0]


def test_a_status_change_on_a_stale_version_is_refused_and_overwrites_nothing(personas):
    step = log_step(personas, status=Step.Status.PLANNED)
    services.step_set_status(actor=personas.supervisor, step=step, status="missed", expected_version=1)
    with pytest.raises(common.ConcurrentEdit) as conflict:
        services.step_set_status(actor=personas.referent, step=step, status="done", expected_version=1)
    assert conflict.value.current.status == "missed"
    step.refresh_from_db()
    assert (step.status, step.version) == ("missed", 2)
    assert services.last_change(step) == (personas.supervisor, revisions_of(step).get().changed_at)


def test_a_reader_may_not_change_a_steps_status(personas):
    step = log_step(personas, status=Step.Status.PLANNED)
    with pytest.raises(PermissionDenied):
        services.step_set_status(actor=personas.recipient, step=step, status="done", expected_version=1)


# --- Appointments --------------------------------------------------------------------------------


def plan(personas, **overrides):
    arguments = {
        "actor": personas.referent,
        "beneficiary": personas.file,
        "scheduled_at": timezone.now() + datetime.timedelta(days=2),
        "location": "MDS Nord",
        "purpose": "Point formation",
        "with_user": personas.referent,
    }
    return services.appointment_plan(**(arguments | overrides))


def test_planning_an_appointment(personas):
    appointment = plan(personas)
    personas.file.refresh_from_db()
    assert appointment.status == Appointment.Status.PLANNED
    assert appointment.with_structure == personas.nord
    assert appointment.author == personas.referent
    assert personas.file.last_activity_at is not None


def test_a_planned_appointment_is_in_the_future_and_within_a_year(personas):
    with pytest.raises(ValidationError) as error:
        plan(personas, scheduled_at=timezone.now() - datetime.timedelta(minutes=1))
    assert "dans le futur" in error.value.message_dict["scheduled_at"][0]
    with pytest.raises(ValidationError):
        plan(personas, scheduled_at=timezone.now() + datetime.timedelta(days=400))


def test_an_appointment_is_with_someone_who_follows_files(personas):
    with pytest.raises(ValidationError) as error:
        plan(personas, with_user=personas.auditor)
    assert "with_user" in error.value.message_dict


def test_recording_an_appointment_honoured_once_past(personas):
    appointment = AppointmentFactory(
        beneficiary=personas.file, author=personas.referent, scheduled_at=timezone.now() - datetime.timedelta(hours=1)
    )
    recorded = services.appointment_record(
        actor=personas.referent, appointment=appointment, status="honoured", expected_version=1
    )
    assert (recorded.status, recorded.version) == ("honoured", 2)
    assert revisions_of(appointment).get().data["status"] == "planned"


@pytest.mark.parametrize("status", ["honoured", "missed"])
def test_a_future_appointment_is_neither_honoured_nor_missed(personas, status):
    appointment = plan(personas)
    with pytest.raises(ValidationError) as error:
        services.appointment_record(
            actor=personas.referent, appointment=appointment, status=status, expected_version=1
        )
    assert "qu'une fois passé" in error.value.message_dict["status"][0]


def test_a_future_appointment_may_be_cancelled(personas):
    appointment = plan(personas)
    recorded = services.appointment_record(
        actor=personas.referent, appointment=appointment, status="cancelled", expected_version=1
    )
    assert recorded.status == "cancelled"


def test_recording_a_stale_appointment_is_refused(personas):
    appointment = plan(personas)
    services.appointment_record(
        actor=personas.supervisor, appointment=appointment, status="cancelled", expected_version=1
    )
    with pytest.raises(common.ConcurrentEdit):
        services.appointment_record(
            actor=personas.referent, appointment=appointment, status="cancelled", expected_version=1
        )


# --- Notes ---------------------------------------------------------------------------------------


def write(personas, **overrides):
    arguments = {
        "actor": personas.referent,
        "beneficiary": personas.file,
        "body": "Entretien de suivi.",
        "visibility": Note.Visibility.PRIVATE,
        "is_sensitive": False,
    }
    return services.note_write(**(arguments | overrides))


def test_a_reader_the_file_is_shared_with_may_write_a_note(personas):
    note = write(personas, actor=personas.recipient)
    assert note.author_structure == personas.ccas
    assert note.visibility == Note.Visibility.PRIVATE


@pytest.mark.parametrize("persona", ["colleague", "other", "auditor"])
def test_who_does_not_read_the_file_writes_no_note(personas, persona):
    with pytest.raises(PermissionDenied):
        write(personas, actor=getattr(personas, persona))


def test_a_shared_note_names_its_readers(personas):
    with pytest.raises(ValidationError) as error:
        write(personas, visibility=Note.Visibility.SHARED)
    assert error.value.message_dict == {
        "visibility": ["Une note partagée nomme au moins un service, une structure ou une personne."]
    }
    note = write(personas, visibility=Note.Visibility.SHARED, structures=[personas.ccas], users=[personas.colleague])
    assert list(note.shared_with_structures.all()) == [personas.ccas]
    assert list(note.shared_with_users.all()) == [personas.colleague]


def test_only_a_shared_note_names_readers(personas):
    with pytest.raises(ValidationError):
        write(personas, visibility=Note.Visibility.PRIVATE, departments=[personas.social])


def test_a_note_is_not_shared_with_someone_who_reads_no_files(personas):
    with pytest.raises(ValidationError) as error:
        write(personas, visibility=Note.Visibility.SHARED, users=[personas.auditor])
    assert "shared_with_users" in error.value.message_dict


def test_a_sensitive_note_is_not_for_all_followers(personas):
    with pytest.raises(ValidationError) as error:
        write(personas, visibility=Note.Visibility.FOLLOWERS, is_sensitive=True)
    assert "Une note sensible" in error.value.message_dict["visibility"][0]


@pytest.mark.parametrize(
    ("body", "message"),
    [("   ", "Écrivez le texte de la note."), ("x" * 5001, "Une note ne peut pas dépasser 5000 caractères")],
)
def test_a_note_has_a_text_of_at_most_5000_characters(personas, body, message):
    with pytest.raises(ValidationError) as error:
        write(personas, body=body)
    assert error.value.message_dict["body"][0].startswith(message)
    write(personas, body="x" * 5000)


# --- Correction ----------------------------------------------------------------------------------


def test_the_author_corrects_a_step_and_the_previous_version_is_kept(personas):
    step = log_step(personas, outcome="Premier jet")
    corrected = services.step_correct(
        actor=personas.referent,
        step=step,
        kind=Step.Kind.EMPLOYMENT,
        date=today(),
        status="done",
        outcome="Embauchée en CDD",
        expected_version=1,
    )
    assert (corrected.kind, corrected.outcome, corrected.version) == ("employment", "Embauchée en CDD", 2)
    assert corrected.corrected_at is not None
    revision = revisions_of(step).get()
    assert (revision.action, revision.data["outcome"], revision.changed_by) == (
        "corrected",
        "Premier jet",
        personas.referent,
    )


def test_nobody_but_the_author_corrects(personas):
    step = log_step(personas, actor=personas.supervisor)
    with pytest.raises(PermissionDenied):
        services.step_correct(
            actor=personas.referent,
            step=step,
            kind="other",
            date=today(),
            status="done",
            outcome="",
            expected_version=1,
        )


def test_after_the_delay_a_step_is_immutable(personas, settings):
    step = log_step(personas)
    Step.objects.filter(pk=step.pk).update(
        created_at=timezone.now() - datetime.timedelta(hours=settings.ENTRY_CORRECTION_HOURS, minutes=1)
    )
    step.refresh_from_db()
    with pytest.raises(PermissionDenied):
        services.step_correct(
            actor=personas.referent,
            step=step,
            kind="other",
            date=today(),
            status="done",
            outcome="",
            expected_version=1,
        )


def test_correcting_a_note_changes_its_readers_and_keeps_the_old_ones(personas):
    note = write(personas, visibility=Note.Visibility.SHARED, users=[personas.colleague])
    corrected = services.note_correct(
        actor=personas.referent,
        note=note,
        body="Texte corrigé",
        visibility=Note.Visibility.SHARED,
        is_sensitive=True,
        structures=[personas.ccas],
        expected_version=1,
    )
    assert list(corrected.shared_with_structures.all()) == [personas.ccas]
    assert not corrected.shared_with_users.exists()
    revision = revisions_of(note).get()
    assert revision.data["shared_with_users"] == [personas.colleague.pk]
    assert revision.data["body"] == "Entretien de suivi."


def test_a_stale_correction_is_refused(personas):
    note = write(personas)
    services.note_correct(
        actor=personas.referent, note=note, body="Une", visibility="private", is_sensitive=False, expected_version=1
    )
    with pytest.raises(common.ConcurrentEdit):
        services.note_correct(
            actor=personas.referent,
            note=note,
            body="Deux",
            visibility="private",
            is_sensitive=False,
            expected_version=1,
        )
    note.refresh_from_db()
    assert note.body == "Une"


def test_an_appointment_correction_follows_its_status(personas):
    appointment = AppointmentFactory(
        beneficiary=personas.file,
        author=personas.referent,
        status="honoured",
        scheduled_at=timezone.now() - datetime.timedelta(hours=2),
    )
    with pytest.raises(ValidationError) as error:
        services.appointment_correct(
            actor=personas.referent,
            appointment=appointment,
            scheduled_at=timezone.now() + datetime.timedelta(hours=2),
            location="",
            purpose="",
            with_user=None,
            expected_version=1,
        )
    assert "scheduled_at" in error.value.message_dict


# --- Withdrawal ----------------------------------------------------------------------------------


def test_a_withdrawn_entry_stays_with_its_reason_and_last_version(personas):
    step = log_step(personas)
    common.entry_withdraw(
        actor=personas.supervisor, entry=step, beneficiary=personas.file, reason="Mauvais dossier", expected_version=1
    )
    step.refresh_from_db()
    assert step.withdrawn_by == personas.supervisor
    assert step.withdrawal_reason == "Mauvais dossier"
    assert revisions_of(step).get().action == "withdrawn"
    assert Step.objects.filter(pk=step.pk).exists()


def test_a_withdrawal_needs_a_reason(personas):
    step = log_step(personas)
    with pytest.raises(ValidationError):
        common.entry_withdraw(
            actor=personas.referent, entry=step, beneficiary=personas.file, reason=" ", expected_version=1
        )


def test_an_action_is_withdrawn_through_its_objectives_file(personas):
    action = ActionFactory(objective=ObjectiveFactory(beneficiary=personas.file, author=personas.referent))
    common.entry_withdraw(
        actor=personas.referent, entry=action, beneficiary=personas.file, reason="Doublon", expected_version=1
    )
    action.refresh_from_db()
    assert action.is_withdrawn


def test_an_entry_of_another_file_is_not_withdrawn_through_this_one(personas):
    """The rules are checked on the file given: an entry of a file one may not act on stays."""
    foreign = StepFactory(beneficiary=BeneficiaryFactory(referent=personas.other))
    with pytest.raises(PermissionDenied):
        common.entry_withdraw(
            actor=personas.referent, entry=foreign, beneficiary=personas.file, reason="Erreur", expected_version=1
        )
    foreign.refresh_from_db()
    assert not foreign.is_withdrawn


def test_a_note_one_may_not_read_is_not_withdrawn_even_by_who_acts_on_the_file(personas):
    note = NoteFactory(beneficiary=personas.file, author=personas.recipient)  # private to its author
    with pytest.raises(PermissionDenied):
        common.entry_withdraw(
            actor=personas.supervisor, entry=note, beneficiary=personas.file, reason="Erreur", expected_version=1
        )
    common.entry_withdraw(
        actor=personas.recipient, entry=note, beneficiary=personas.file, reason="Erreur", expected_version=1
    )


def test_a_withdrawn_step_no_longer_changes_status(personas):
    step = log_step(personas, status="planned")
    common.entry_withdraw(
        actor=personas.referent, entry=step, beneficiary=personas.file, reason="Doublon", expected_version=1
    )
    with pytest.raises(PermissionDenied):
        services.step_set_status(actor=personas.referent, step=step, status="done", expected_version=2)


def test_a_status_change_then_a_correction_keep_each_version(personas):
    step = log_step(personas, status=Step.Status.PLANNED)
    Step.objects.filter(pk=step.pk).update(created_at=timezone.now() - datetime.timedelta(hours=1))
    personas.file.__class__.objects.filter(pk=personas.file.pk).update(last_activity_at=None)
    step = services.step_set_status(actor=personas.referent, step=step, status="done", expected_version=1)
    personas.file.refresh_from_db()
    assert personas.file.last_activity_at is not None
    services.step_correct(
        actor=personas.referent,
        step=step,
        kind=step.kind,
        date=step.date,
        status="done",
        outcome="Précisé",
        expected_version=2,
    )
    assert list(revisions_of(step).order_by("version").values_list("version", "data__status")) == [
        (1, "planned"),
        (2, "done"),
    ]
