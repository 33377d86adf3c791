"""Writing on a file through the services: steps, appointments, notes, their correction, withdrawal and
concurrent edits (casework.services.entries and casework.services.common)."""

import datetime

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from accounts.models import Role
from casework.models import Appointment, Note, Revision, Step
from casework.services import beneficiary_share, common
from casework.services import entries as services
from tests.accounts.factories import DepartmentFactory, MembershipFactory, StructureFactory, member
from tests.casework.factories import (
    ActionFactory,
    AppointmentFactory,
    BeneficiaryFactory,
    NoteFactory,
    ObjectiveFactory,
    StepFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(name="world")
def world_fixture():
    """A file followed at the MDS Nord, shared with a CCAS referent; people around it."""
    social = DepartmentFactory(name="Action sociale")
    nord = StructureFactory(name="MDS Nord", department=social)
    sud = StructureFactory(name="MDS Sud", department=social)
    ccas = StructureFactory(name="CCAS de Tourcoing", external=True)
    w = type("World", (), {})()
    w.social, w.nord, w.sud, w.ccas = social, nord, sud, ccas
    w.referent = member(Role.REFERENT, structure=nord, username="referente", first_name="Rita", last_name="Ferrand")
    w.colleague = member(Role.REFERENT, structure=nord, username="collegue", first_name="Colin", last_name="Lebon")
    w.other = member(Role.REFERENT, structure=sud, username="autre", first_name="Odile", last_name="Martin")
    w.supervisor = member(Role.SUPERVISOR, structure=nord, username="superviseur", first_name="Sam", last_name="Roux")
    w.recipient = member(Role.REFERENT, structure=ccas, username="ccas", first_name="Cécile", last_name="Cas")
    w.auditor = member(Role.AUDITOR, structure=nord, username="dpo", first_name="Dora", last_name="Petit")
    w.file = BeneficiaryFactory(referent=w.referent)
    beneficiary_share(actor=w.referent, beneficiary=w.file, user=w.recipient, reason="Relais CCAS")
    w.file.refresh_from_db()
    return w


def today():
    return timezone.localdate()


def revisions_of(entry):
    return Revision.objects.filter(content_type=ContentType.objects.get_for_model(type(entry)), object_id=entry.pk)


def log_step(world, **overrides):
    arguments = {
        "actor": world.referent,
        "beneficiary": world.file,
        "kind": Step.Kind.TRAINING,
        "date": today(),
        "status": Step.Status.DONE,
        "outcome": "Inscrite à la formation CACES.",
    }
    return services.step_log(**(arguments | overrides))


# --- Steps ---------------------------------------------------------------------------------------


def test_logging_a_step_records_who_where_and_moves_last_activity(world):
    before = timezone.now()
    step = log_step(world, outcome="  Inscrite.  ")
    world.file.refresh_from_db()
    assert step.author == world.referent
    assert step.author_structure == world.nord
    assert step.outcome == "Inscrite."
    assert step.version == 1
    assert world.file.last_activity_at >= before


def test_a_supervisor_logs_a_step_for_the_files_structure(world):
    MembershipFactory(user=world.supervisor, role=Role.REFERENT, structure=world.sud)
    world.supervisor.__dict__.pop("active_memberships", None)
    step = log_step(world, actor=world.supervisor)
    assert step.author_structure == world.nord


@pytest.mark.parametrize("persona", ["colleague", "recipient", "other", "auditor"])
def test_only_who_may_act_on_the_file_logs_a_step(world, persona):
    with pytest.raises(PermissionDenied):
        log_step(world, actor=getattr(world, persona))
    assert not Step.objects.exists()


def test_a_step_is_dated_at_most_a_year_ahead(world):
    log_step(world, date=today() + datetime.timedelta(days=365), status=Step.Status.PLANNED)
    with pytest.raises(ValidationError) as error:
        log_step(world, date=today() + datetime.timedelta(days=366), status=Step.Status.PLANNED)
    assert error.value.message_dict == {
        "date": ["Une étape ne peut pas être datée de plus d'un an après aujourd'hui."]
    }


@pytest.mark.parametrize("status", [Step.Status.DONE, Step.Status.MISSED])
def test_a_step_done_or_missed_is_not_in_the_future(world, status):
    with pytest.raises(ValidationError) as error:
        log_step(world, date=today() + datetime.timedelta(days=1), status=status)
    assert "ne peut pas être datée dans le futur" in error.value.message_dict["date"][0]


def test_changing_a_steps_status_keeps_the_previous_version(world):
    step = log_step(world, status=Step.Status.PLANNED, outcome="")
    updated = services.step_set_status(
        actor=world.supervisor, step=step, status=Step.Status.DONE, outcome="Fait.", expected_version=1
    )
    assert (updated.status, updated.outcome, updated.version) == ("done", "Fait.", 2)
    assert updated.corrected_at is None  # the entry's normal life, not a correction
    [revision] = revisions_of(step)
    assert revision.version == 1
    assert revision.data["status"] == "planned"
    assert revision.changed_by == world.supervisor
    assert revision.reason == "Statut : Prévue → Réalisée"


def test_a_status_change_without_outcome_keeps_the_outcome(world):
    step = log_step(world, status=Step.Status.PLANNED, outcome="Convocation envoyée.")
    updated = services.step_set_status(actor=world.referent, step=step, status="cancelled", expected_version=1)
    assert updated.outcome == "Convocation envoyée."


def test_a_future_step_cannot_be_marked_done(world):
    step = log_step(world, date=today() + datetime.timedelta(days=3), status=Step.Status.PLANNED)
    with pytest.raises(ValidationError) as error:
        services.step_set_status(actor=world.referent, step=step, status="done", expected_version=1)
    assert "ne peut pas encore être « réalisée »" in error.value.message_dict["status"][0]


def test_a_status_change_on_a_stale_version_is_refused_and_overwrites_nothing(world):
    step = log_step(world, status=Step.Status.PLANNED)
    services.step_set_status(actor=world.supervisor, step=step, status="missed", expected_version=1)
    with pytest.raises(common.ConcurrentEdit) as conflict:
        services.step_set_status(actor=world.referent, step=step, status="done", expected_version=1)
    assert conflict.value.current.status == "missed"
    step.refresh_from_db()
    assert (step.status, step.version) == ("missed", 2)
    assert services.last_change(step) == (world.supervisor, revisions_of(step).get().changed_at)


def test_a_reader_may_not_change_a_steps_status(world):
    step = log_step(world, status=Step.Status.PLANNED)
    with pytest.raises(PermissionDenied):
        services.step_set_status(actor=world.recipient, step=step, status="done", expected_version=1)


# --- Appointments --------------------------------------------------------------------------------


def plan(world, **overrides):
    arguments = {
        "actor": world.referent,
        "beneficiary": world.file,
        "scheduled_at": timezone.now() + datetime.timedelta(days=2),
        "location": "MDS Nord",
        "purpose": "Point formation",
        "with_user": world.referent,
    }
    return services.appointment_plan(**(arguments | overrides))


def test_planning_an_appointment(world):
    appointment = plan(world)
    world.file.refresh_from_db()
    assert appointment.status == Appointment.Status.PLANNED
    assert appointment.with_structure == world.nord
    assert appointment.author == world.referent
    assert world.file.last_activity_at is not None


def test_a_planned_appointment_is_in_the_future_and_within_a_year(world):
    with pytest.raises(ValidationError) as error:
        plan(world, scheduled_at=timezone.now() - datetime.timedelta(minutes=1))
    assert "dans le futur" in error.value.message_dict["scheduled_at"][0]
    with pytest.raises(ValidationError):
        plan(world, scheduled_at=timezone.now() + datetime.timedelta(days=400))


def test_an_appointment_is_with_someone_who_follows_files(world):
    with pytest.raises(ValidationError) as error:
        plan(world, with_user=world.auditor)
    assert "with_user" in error.value.message_dict


def test_recording_an_appointment_honoured_once_past(world):
    appointment = AppointmentFactory(
        beneficiary=world.file, author=world.referent, scheduled_at=timezone.now() - datetime.timedelta(hours=1)
    )
    recorded = services.appointment_record(
        actor=world.referent, appointment=appointment, status="honoured", expected_version=1
    )
    assert (recorded.status, recorded.version) == ("honoured", 2)
    assert revisions_of(appointment).get().data["status"] == "planned"


@pytest.mark.parametrize("status", ["honoured", "missed"])
def test_a_future_appointment_is_neither_honoured_nor_missed(world, status):
    appointment = plan(world)
    with pytest.raises(ValidationError) as error:
        services.appointment_record(actor=world.referent, appointment=appointment, status=status, expected_version=1)
    assert "qu'une fois passé" in error.value.message_dict["status"][0]


def test_a_future_appointment_may_be_cancelled(world):
    appointment = plan(world)
    recorded = services.appointment_record(
        actor=world.referent, appointment=appointment, status="cancelled", expected_version=1
    )
    assert recorded.status == "cancelled"


def test_recording_a_stale_appointment_is_refused(world):
    appointment = plan(world)
    services.appointment_record(
        actor=world.supervisor, appointment=appointment, status="cancelled", expected_version=1
    )
    with pytest.raises(common.ConcurrentEdit):
        services.appointment_record(
            actor=world.referent, appointment=appointment, status="cancelled", expected_version=1
        )


# --- Notes ---------------------------------------------------------------------------------------


def write(world, **overrides):
    arguments = {
        "actor": world.referent,
        "beneficiary": world.file,
        "body": "Entretien de suivi.",
        "visibility": Note.Visibility.PRIVATE,
        "is_sensitive": False,
    }
    return services.note_write(**(arguments | overrides))


def test_a_reader_the_file_is_shared_with_may_write_a_note(world):
    note = write(world, actor=world.recipient)
    assert note.author_structure == world.ccas
    assert note.visibility == Note.Visibility.PRIVATE


@pytest.mark.parametrize("persona", ["colleague", "other", "auditor"])
def test_who_does_not_read_the_file_writes_no_note(world, persona):
    with pytest.raises(PermissionDenied):
        write(world, actor=getattr(world, persona))


def test_a_shared_note_names_its_readers(world):
    with pytest.raises(ValidationError) as error:
        write(world, visibility=Note.Visibility.SHARED)
    assert error.value.message_dict == {
        "visibility": ["Une note partagée nomme au moins un service, une structure ou une personne."]
    }
    note = write(world, visibility=Note.Visibility.SHARED, structures=[world.ccas], users=[world.colleague])
    assert list(note.shared_with_structures.all()) == [world.ccas]
    assert list(note.shared_with_users.all()) == [world.colleague]


def test_only_a_shared_note_names_readers(world):
    with pytest.raises(ValidationError):
        write(world, visibility=Note.Visibility.PRIVATE, departments=[world.social])


def test_a_note_is_not_shared_with_someone_who_reads_no_files(world):
    with pytest.raises(ValidationError) as error:
        write(world, visibility=Note.Visibility.SHARED, users=[world.auditor])
    assert "shared_with_users" in error.value.message_dict


def test_a_sensitive_note_is_not_for_all_followers(world):
    with pytest.raises(ValidationError) as error:
        write(world, visibility=Note.Visibility.FOLLOWERS, is_sensitive=True)
    assert "Une note sensible" in error.value.message_dict["visibility"][0]


@pytest.mark.parametrize(
    ("body", "message"),
    [("   ", "Écrivez le texte de la note."), ("x" * 5001, "Une note ne peut pas dépasser 5000 caractères")],
)
def test_a_note_has_a_text_of_at_most_5000_characters(world, body, message):
    with pytest.raises(ValidationError) as error:
        write(world, body=body)
    assert error.value.message_dict["body"][0].startswith(message)
    write(world, body="x" * 5000)


# --- Correction ----------------------------------------------------------------------------------


def test_the_author_corrects_a_step_and_the_previous_version_is_kept(world):
    step = log_step(world, outcome="Premier jet")
    corrected = services.step_correct(
        actor=world.referent,
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
        world.referent,
    )


def test_nobody_but_the_author_corrects(world):
    step = log_step(world, actor=world.supervisor)
    with pytest.raises(PermissionDenied):
        services.step_correct(
            actor=world.referent, step=step, kind="other", date=today(), status="done", outcome="", expected_version=1
        )


def test_after_the_delay_a_step_is_immutable(world, settings):
    step = log_step(world)
    Step.objects.filter(pk=step.pk).update(
        created_at=timezone.now() - datetime.timedelta(hours=settings.ENTRY_CORRECTION_HOURS, minutes=1)
    )
    step.refresh_from_db()
    with pytest.raises(PermissionDenied):
        services.step_correct(
            actor=world.referent, step=step, kind="other", date=today(), status="done", outcome="", expected_version=1
        )


def test_correcting_a_note_changes_its_readers_and_keeps_the_old_ones(world):
    note = write(world, visibility=Note.Visibility.SHARED, users=[world.colleague])
    corrected = services.note_correct(
        actor=world.referent,
        note=note,
        body="Texte corrigé",
        visibility=Note.Visibility.SHARED,
        is_sensitive=True,
        structures=[world.ccas],
        expected_version=1,
    )
    assert list(corrected.shared_with_structures.all()) == [world.ccas]
    assert not corrected.shared_with_users.exists()
    revision = revisions_of(note).get()
    assert revision.data["shared_with_users"] == [world.colleague.pk]
    assert revision.data["body"] == "Entretien de suivi."


def test_a_stale_correction_is_refused(world):
    note = write(world)
    services.note_correct(
        actor=world.referent, note=note, body="Une", visibility="private", is_sensitive=False, expected_version=1
    )
    with pytest.raises(common.ConcurrentEdit):
        services.note_correct(
            actor=world.referent, note=note, body="Deux", visibility="private", is_sensitive=False, expected_version=1
        )
    note.refresh_from_db()
    assert note.body == "Une"


def test_an_appointment_correction_follows_its_status(world):
    appointment = AppointmentFactory(
        beneficiary=world.file,
        author=world.referent,
        status="honoured",
        scheduled_at=timezone.now() - datetime.timedelta(hours=2),
    )
    with pytest.raises(ValidationError) as error:
        services.appointment_correct(
            actor=world.referent,
            appointment=appointment,
            scheduled_at=timezone.now() + datetime.timedelta(hours=2),
            location="",
            purpose="",
            with_user=None,
            expected_version=1,
        )
    assert "scheduled_at" in error.value.message_dict


# --- Withdrawal ----------------------------------------------------------------------------------


def test_a_withdrawn_entry_stays_with_its_reason_and_last_version(world):
    step = log_step(world)
    common.entry_withdraw(
        actor=world.supervisor, entry=step, beneficiary=world.file, reason="Mauvais dossier", expected_version=1
    )
    step.refresh_from_db()
    assert step.withdrawn_by == world.supervisor
    assert step.withdrawal_reason == "Mauvais dossier"
    assert revisions_of(step).get().action == "withdrawn"
    assert Step.objects.filter(pk=step.pk).exists()


def test_a_withdrawal_needs_a_reason(world):
    step = log_step(world)
    with pytest.raises(ValidationError):
        common.entry_withdraw(actor=world.referent, entry=step, beneficiary=world.file, reason=" ", expected_version=1)


def test_an_action_is_withdrawn_through_its_objectives_file(world):
    action = ActionFactory(objective=ObjectiveFactory(beneficiary=world.file, author=world.referent))
    common.entry_withdraw(
        actor=world.referent, entry=action, beneficiary=world.file, reason="Doublon", expected_version=1
    )
    action.refresh_from_db()
    assert action.is_withdrawn


def test_an_entry_of_another_file_is_not_withdrawn_through_this_one(world):
    """The rules are checked on the file given: an entry of a file one may not act on stays."""
    foreign = StepFactory(beneficiary=BeneficiaryFactory(referent=world.other))
    with pytest.raises(PermissionDenied):
        common.entry_withdraw(
            actor=world.referent, entry=foreign, beneficiary=world.file, reason="Erreur", expected_version=1
        )
    foreign.refresh_from_db()
    assert not foreign.is_withdrawn


def test_a_note_one_may_not_read_is_not_withdrawn_even_by_who_acts_on_the_file(world):
    note = NoteFactory(beneficiary=world.file, author=world.recipient)  # private to its author
    with pytest.raises(PermissionDenied):
        common.entry_withdraw(
            actor=world.supervisor, entry=note, beneficiary=world.file, reason="Erreur", expected_version=1
        )
    common.entry_withdraw(
        actor=world.recipient, entry=note, beneficiary=world.file, reason="Erreur", expected_version=1
    )


def test_a_withdrawn_step_no_longer_changes_status(world):
    step = log_step(world, status="planned")
    common.entry_withdraw(
        actor=world.referent, entry=step, beneficiary=world.file, reason="Doublon", expected_version=1
    )
    with pytest.raises(PermissionDenied):
        services.step_set_status(actor=world.referent, step=step, status="done", expected_version=2)


def test_a_status_change_then_a_correction_keep_each_version(world):
    step = log_step(world, status=Step.Status.PLANNED)
    Step.objects.filter(pk=step.pk).update(created_at=timezone.now() - datetime.timedelta(hours=1))
    world.file.__class__.objects.filter(pk=world.file.pk).update(last_activity_at=None)
    step = services.step_set_status(actor=world.referent, step=step, status="done", expected_version=1)
    world.file.refresh_from_db()
    assert world.file.last_activity_at is not None
    services.step_correct(
        actor=world.referent,
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
