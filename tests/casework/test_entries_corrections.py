"""Correcting one's own step, appointment or note within the delay, withdrawing a mistaken entry, and
two people editing the same entry at once (casework/views/entries.py)."""

import datetime

import pytest
from django.contrib.contenttypes.models import ContentType
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from casework.models import Action, Appointment, Contract, Diagnostic, Note, Objective, Revision, Step
from casework.services import common
from casework.services import entries as services
from tests.casework.factories import (
    ActionFactory,
    AppointmentFactory,
    BeneficiaryFactory,
    ContractFactory,
    DiagnosticFactory,
    NoteFactory,
    ObjectiveFactory,
    StepFactory,
)
from tests.casework.test_entries_services import personas_sharing_with_recipient  # noqa: F401 (`personas`)

pytestmark = pytest.mark.django_db

SLUGS = {
    "step": "etape",
    "appointment": "rendez-vous",
    "note": "note",
    "contract": "contrat",
    "objective": "objectif",
    "action": "action",
    "diagnostic": "diagnostic",
}


def correct_url(personas, kind, entry):
    return reverse("casework:entry_correct", args=[personas.file.public_id, SLUGS[kind], entry.public_id])


def withdraw_url(personas, kind, entry):
    return reverse("casework:entry_withdraw", args=[personas.file.public_id, SLUGS[kind], entry.public_id])


def messages_of(response) -> list[str]:
    return [message.message for message in get_messages(response.wsgi_request)]


def revisions_of(entry):
    return Revision.objects.filter(content_type=ContentType.objects.get_for_model(type(entry)), object_id=entry.pk)


def today():
    return timezone.localdate()


def age(entry, hours):
    type(entry).objects.filter(pk=entry.pk).update(created_at=timezone.now() - datetime.timedelta(hours=hours))
    entry.refresh_from_db()


@pytest.fixture
def step(personas):
    return services.step_log(
        actor=personas.referent,
        beneficiary=personas.file,
        kind="training",
        date=today(),
        status="done",
        outcome="Inscrite au CACES",
    )


@pytest.fixture
def note(personas):
    return services.note_write(
        actor=personas.referent,
        beneficiary=personas.file,
        body="Premier texte",
        visibility="followers",
        is_sensitive=False,
    )


def step_data(version=1, **overrides):
    return {
        "kind": "employment",
        "date": today().isoformat(),
        "status": "done",
        "outcome": "CDD",
        "version": version,
    } | (overrides)


# --- Correction ----------------------------------------------------------------------------------


def test_the_correction_form_is_filled_with_the_entry_and_its_version(client, personas, step):
    client.force_login(personas.referent)
    response = client.get(correct_url(personas, "step", step))
    html = response.content.decode()
    assert response.status_code == 200
    assert '<option value="training" selected>Formation</option>' in html
    assert "Inscrite au CACES</textarea>" in html
    assert '<input type="hidden" name="version" value="1"' in html
    assert (
        "Vous pouvez corriger cette saisie jusqu&#x27;au" in html
        or "Vous pouvez corriger cette saisie jusqu'au" in html
    )


def test_the_author_corrects_a_step_and_the_previous_version_is_kept(client, personas, step):
    client.force_login(personas.referent)
    response = client.post(correct_url(personas, "step", step), step_data())
    assert response.status_code == 302
    assert messages_of(response) == ["L'étape est corrigée. La version précédente est conservée."]
    step.refresh_from_db()
    assert (step.kind, step.outcome, step.version) == ("employment", "CDD", 2)
    assert step.corrected_at is not None
    revision = revisions_of(step).get()
    assert (revision.action, revision.version, revision.data["outcome"]) == ("corrected", 1, "Inscrite au CACES")


def test_a_correction_is_validated_like_the_first_entry(client, personas, step):
    client.force_login(personas.referent)
    future = (today() + datetime.timedelta(days=3)).isoformat()
    response = client.post(correct_url(personas, "step", step), step_data(date=future))
    assert response.status_code == 200
    assert 'id="id_date_error"' in response.content.decode()
    step.refresh_from_db()
    assert step.version == 1


def test_the_author_corrects_a_note_and_its_readers(client, personas, note):
    client.force_login(personas.referent)
    page = client.get(correct_url(personas, "note", note))
    assert 'value="followers" class="form-check-input" id="id_visibility_2" required checked' in page.content.decode()
    response = client.post(
        correct_url(personas, "note", note),
        {"body": "Texte corrigé", "visibility": "shared", "shared_with_users": [personas.colleague.pk], "version": 1},
    )
    assert response.status_code == 302
    note.refresh_from_db()
    assert (note.body, note.visibility) == ("Texte corrigé", "shared")
    assert list(note.shared_with_users.all()) == [personas.colleague]
    assert revisions_of(note).get().data["body"] == "Premier texte"


def test_a_note_correction_is_checked_for_personal_data(client, personas, note):
    client.force_login(personas.referent)
    response = client.post(
        correct_url(personas, "note", note), {"body": "Chimiothérapie en cours", "visibility": "private", "version": 1}
    )
    assert response.status_code == 200
    assert "« Chimiothérapie »" in response.content.decode()
    note.refresh_from_db()
    assert note.body == "Premier texte"


def test_the_author_corrects_an_appointment(client, personas):
    appointment = services.appointment_plan(
        actor=personas.referent,
        beneficiary=personas.file,
        scheduled_at=timezone.now() + datetime.timedelta(days=2),
        location="MDS",
        purpose="Bilan",
        with_user=personas.referent,
    )
    client.force_login(personas.referent)
    page = client.get(correct_url(personas, "appointment", appointment))
    form = page.context["form"]
    data = {
        "scheduled_at": form["scheduled_at"].value().strftime("%Y-%m-%dT%H:%M"),
        "with_user": personas.referent.pk,
        "location": "Mairie",
        "purpose": "Bilan",
        "version": 1,
    }
    response = client.post(correct_url(personas, "appointment", appointment), data)
    assert response.status_code == 302
    before = appointment.scheduled_at
    appointment.refresh_from_db()
    assert appointment.location == "Mairie"
    assert appointment.scheduled_at == before  # the same minute keeps the time as it was


def test_someone_else_may_not_correct_and_is_told_why(client, personas, note):
    client.force_login(personas.recipient)  # reads the note (for all who follow the file), did not write it
    response = client.get(correct_url(personas, "note", note))
    html = response.content.decode()
    assert response.status_code == 403
    assert "Seul·e l&#x27;auteur·rice d&#x27;une saisie peut la corriger." in html
    assert (
        client.post(
            correct_url(personas, "note", note), {"body": "x", "visibility": "private", "version": 1}
        ).status_code
        == 403
    )
    note.refresh_from_db()
    assert note.body == "Premier texte"


def test_after_the_delay_the_author_is_told_to_withdraw_instead(client, personas, step, settings):
    age(step, settings.ENTRY_CORRECTION_HOURS + 1)
    client.force_login(personas.referent)
    response = client.get(correct_url(personas, "step", step))
    html = response.content.decode()
    assert response.status_code == 403
    assert "Le délai de correction est passé : une saisie se corrige dans les 48 heures" in html
    assert withdraw_url(personas, "step", step) in html
    assert client.post(correct_url(personas, "step", step), step_data()).status_code == 403
    step.refresh_from_db()
    assert step.version == 1


def test_within_the_delay_the_author_still_corrects(client, personas, step, settings):
    age(step, settings.ENTRY_CORRECTION_HOURS - 1)
    client.force_login(personas.referent)
    assert client.get(correct_url(personas, "step", step)).status_code == 200


def test_a_withdrawn_entry_is_not_corrected(client, personas, step):
    common.entry_withdraw(
        actor=personas.referent, entry=step, beneficiary=personas.file, reason="Doublon", expected_version=1
    )
    client.force_login(personas.referent)
    response = client.get(correct_url(personas, "step", step))
    assert response.status_code == 403
    assert "Cette saisie a été retirée" in response.content.decode()


def test_the_supervisor_cannot_reach_a_private_note_to_correct_it(client, personas):
    private = services.note_write(
        actor=personas.referent, beneficiary=personas.file, body="Privé", visibility="private", is_sensitive=False
    )
    client.force_login(personas.supervisor)
    assert client.get(correct_url(personas, "note", private)).status_code == 404
    assert client.get(withdraw_url(personas, "note", private)).status_code == 404


@pytest.mark.parametrize("persona", ["other", "colleague", "auditor"])
def test_outsiders_get_a_404_on_correction_and_withdrawal(client, personas, step, persona):
    client.force_login(getattr(personas, persona))
    assert client.get(correct_url(personas, "step", step)).status_code == 404
    assert client.post(correct_url(personas, "step", step), step_data()).status_code == 404
    assert client.get(withdraw_url(personas, "step", step)).status_code == 404
    assert (
        client.post(withdraw_url(personas, "step", step), {"withdrawal_reason": "x", "version": 1}).status_code == 404
    )
    step.refresh_from_db()
    assert (step.version, step.withdrawn_at) == (1, None)


def test_unknown_kinds_and_entries_of_other_files_are_404(client, personas, step):
    foreign = StepFactory(beneficiary=BeneficiaryFactory(referent=personas.referent), author=personas.referent)
    contract = ContractFactory(beneficiary=personas.file, author=personas.referent)
    client.force_login(personas.referent)
    other_file = reverse("casework:entry_correct", args=[personas.file.public_id, "etape", foreign.public_id])
    assert client.get(other_file).status_code == 404
    unknown = reverse("casework:entry_correct", args=[personas.file.public_id, "partage", step.public_id])
    assert client.get(unknown).status_code == 404
    # A contract is withdrawn here, not corrected.
    assert client.get(correct_url(personas, "contract", contract)).status_code == 404


# --- Concurrent edits ----------------------------------------------------------------------------


def test_a_correction_sent_after_someone_else_changed_the_step_overwrites_nothing(client, personas, step):
    client.force_login(personas.referent)
    form_page = client.get(correct_url(personas, "step", step))
    version = form_page.context["form"].initial["version"]
    # Meanwhile, the supervisor records something else on the same step.
    services.step_set_status(
        actor=personas.supervisor, step=step, status="missed", outcome="Absente", expected_version=1
    )

    response = client.post(correct_url(personas, "step", step), step_data(version=version, outcome="Mon texte"))
    html = response.content.decode()
    assert response.status_code == 409
    assert "Cette saisie a été modifiée par Sam Roux le" in html
    assert "pendant que vous la modifiiez" in html
    assert '<option value="missed" selected>Non honorée</option>' in html  # the current values
    assert "Absente</textarea>" in html
    assert '<input type="hidden" name="version" value="2"' in html
    assert "Ce que vous aviez saisi (non enregistré)" in html and "Mon texte" in html
    step.refresh_from_db()
    assert (step.status, step.outcome, step.version) == ("missed", "Absente", 2)

    response = client.post(correct_url(personas, "step", step), step_data(version=2, outcome="Mon texte"))
    assert response.status_code == 302
    step.refresh_from_db()
    assert step.outcome == "Mon texte"


def test_a_note_corrected_twice_at_once(client, personas, note):
    client.force_login(personas.referent)
    data = {"body": "Version A", "visibility": "followers", "version": 1}
    assert client.post(correct_url(personas, "note", note), data).status_code == 302
    response = client.post(correct_url(personas, "note", note), data | {"body": "Version B"})
    assert response.status_code == 409
    assert "Cette saisie a été modifiée par Rita Ferrand" in response.content.decode()
    note.refresh_from_db()
    assert note.body == "Version A"


def test_a_withdrawal_sent_after_a_change_is_refused(client, personas, step):
    client.force_login(personas.referent)
    services.step_set_status(actor=personas.supervisor, step=step, status="missed", expected_version=1)
    response = client.post(withdraw_url(personas, "step", step), {"withdrawal_reason": "Doublon", "version": 1})
    html = response.content.decode()
    assert response.status_code == 409
    assert "modifiée par Sam Roux" in html
    assert '<input type="hidden" name="version" value="2"' in html
    assert "Doublon</textarea>" in html
    step.refresh_from_db()
    assert step.withdrawn_at is None


# --- Withdrawal ----------------------------------------------------------------------------------


def test_the_withdrawal_form(client, personas, step):
    client.force_login(personas.referent)
    response = client.get(withdraw_url(personas, "step", step))
    html = response.content.decode()
    assert response.status_code == 200
    assert 'for="id_withdrawal_reason"' in html
    assert "Formation du" in html
    assert '<input type="hidden" name="version" value="1"' in html


def test_a_withdrawal_needs_a_reason(client, personas, step):
    client.force_login(personas.referent)
    response = client.post(withdraw_url(personas, "step", step), {"withdrawal_reason": "  ", "version": 1})
    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="id_withdrawal_reason_error"><p class="mb-0">Indiquez pourquoi cette saisie est retirée.</p>' in html
    step.refresh_from_db()
    assert step.withdrawn_at is None


def test_a_withdrawn_step_stays_marked_withdrawn(client, personas, step):
    client.force_login(personas.supervisor)  # may act on the file, did not write the step
    response = client.post(
        withdraw_url(personas, "step", step), {"withdrawal_reason": "Mauvais dossier", "version": 1}
    )
    assert response.status_code == 302
    assert messages_of(response)[0].startswith("L'étape est retirée.")
    step = Step.objects.get(pk=step.pk)  # still there
    assert (step.withdrawn_by, step.withdrawal_reason) == (personas.supervisor, "Mauvais dossier")
    assert revisions_of(step).get().action == "withdrawn"
    again = client.post(withdraw_url(personas, "step", step), {"withdrawal_reason": "Encore", "version": 2})
    assert again.status_code == 302
    assert messages_of(again)[-1] == "Cette saisie était déjà retirée."


def test_a_reader_may_not_withdraw_the_referents_entries_but_their_own_note(client, personas, step):
    client.force_login(personas.recipient)
    assert client.get(withdraw_url(personas, "step", step)).status_code == 403
    assert (
        client.post(withdraw_url(personas, "step", step), {"withdrawal_reason": "x", "version": 1}).status_code == 403
    )
    own = services.note_write(
        actor=personas.recipient, beneficiary=personas.file, body="Ma note", visibility="private", is_sensitive=False
    )
    response = client.post(
        withdraw_url(personas, "note", own), {"withdrawal_reason": "Erreur de dossier", "version": 1}
    )
    assert response.status_code == 302
    own.refresh_from_db()
    assert own.is_withdrawn


@pytest.mark.parametrize(
    ("kind", "model", "make"),
    [
        ("contract", Contract, lambda w: ContractFactory(beneficiary=w.file, author=w.referent)),
        ("objective", Objective, lambda w: ObjectiveFactory(beneficiary=w.file, author=w.referent)),
        ("action", Action, lambda w: ActionFactory(objective=ObjectiveFactory(beneficiary=w.file), author=w.other)),
        ("diagnostic", Diagnostic, lambda w: DiagnosticFactory(beneficiary=w.file, author=w.referent)),
        ("appointment", Appointment, lambda w: AppointmentFactory(beneficiary=w.file, author=w.referent)),
        ("note", Note, lambda w: NoteFactory(beneficiary=w.file, author=w.referent)),
    ],
)
def test_every_kind_of_the_registry_is_withdrawn_here(client, personas, kind, model, make):
    entry = make(personas)
    client.force_login(personas.referent)
    assert client.get(withdraw_url(personas, kind, entry)).status_code == 200
    response = client.post(
        withdraw_url(personas, kind, entry), {"withdrawal_reason": "Saisie en double", "version": 1}
    )
    assert response.status_code == 302
    entry = model.objects.get(pk=entry.pk)
    assert entry.is_withdrawn
    assert entry.withdrawal_reason == "Saisie en double"


def test_an_action_of_another_files_objective_is_a_404(client, personas):
    foreign = ActionFactory(objective=ObjectiveFactory(beneficiary=BeneficiaryFactory(referent=personas.referent)))
    client.force_login(personas.referent)
    assert client.get(withdraw_url(personas, "action", foreign)).status_code == 404
