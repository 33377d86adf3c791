"""The orientation decision (supervisors of the file's structure) and the reorientation request workflow
(the referent proposes, a supervisor accepts or refuses with a reason)."""

from importlib import import_module

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.urls import reverse

from casework.models import Beneficiary, Orientation, ReorientationRequest
from casework.services.pathway import orientation_decide, reorientation_decide, reorientation_request
from tests.casework.factories import BeneficiaryFactory
from tests.casework.test_pathway_world import (
    days,
    field_errors,
    file_url,
    messages_of,
    personas_on_a_pathway,  # noqa: F401 (`personas`)
    today,
)

pytestmark = pytest.mark.django_db


def decide(personas, actor=None, beneficiary=None, **overrides):
    arguments = {
        "track": Orientation.Track.PROFESSIONAL,
        "organisme_referent": personas.france_travail,
        "decided_on": today(),
        "reason": "Projet professionnel défini, freins levés.",
    }
    arguments.update(overrides)
    return orientation_decide(
        actor=actor or personas.supervisor, beneficiary=beneficiary or personas.file, **arguments
    )


def request(personas, actor=None, **overrides):
    arguments = {
        "track": Orientation.Track.PROFESSIONAL,
        "organisme_referent": personas.france_travail,
        "reason": "La personne a retrouvé un logement stable et souhaite chercher un emploi.",
    }
    arguments.update(overrides)
    return reorientation_request(actor=actor or personas.referent, beneficiary=personas.file, **arguments)


# --- The orientation decision ---------------------------------------------------------------------------


def test_a_decision_supersedes_the_orientation_in_force(personas):
    orientation = decide(personas)

    personas.orientation.refresh_from_db()
    assert personas.orientation.status == Orientation.Status.SUPERSEDED
    assert (orientation.status, orientation.decided_by, orientation.decided_on) == (
        Orientation.Status.DECIDED,
        personas.supervisor,
        today(),
    )
    assert personas.file.orientations.filter(status=Orientation.Status.DECIDED).get() == orientation


def test_a_first_orientation_is_decided_on_a_file_without_one(personas):
    file = BeneficiaryFactory(referent=personas.colleague)

    orientation = decide(personas, beneficiary=file)

    assert file.orientations.get() == orientation


@pytest.mark.parametrize("persona", ["referent", "recipient", "other_supervisor"])
def test_only_a_supervisor_of_the_files_structure_records_the_decision(personas, persona):
    with pytest.raises(PermissionDenied, match="Président du Département"):
        decide(personas, actor=getattr(personas, persona))

    personas.orientation.refresh_from_db()
    assert personas.orientation.status == Orientation.Status.DECIDED


def test_a_decision_is_dated_neither_in_the_future_nor_before_the_one_in_force(personas):
    with pytest.raises(ValidationError) as excinfo:
        decide(personas, decided_on=days(1), reason=" ")
    assert excinfo.value.message_dict == {
        "decided_on": ["La date de décision ne peut pas être dans le futur."],
        "reason": ["Indiquez le motif de la décision d'orientation."],
    }

    with pytest.raises(ValidationError) as excinfo:
        decide(personas, decided_on=days(-301))
    assert "précéder celle de l'orientation en vigueur" in excinfo.value.message_dict["decided_on"][0]


def test_the_orientation_in_force_is_not_decided_again(personas):
    with pytest.raises(ValidationError, match="déjà l'orientation en vigueur"):
        decide(personas, track=Orientation.Track.SOCIAL, organisme_referent=personas.nord)


def test_the_decision_page_is_the_supervisors(client, personas):
    url = reverse("casework:orientation_decide", args=[personas.file.public_id])
    client.force_login(personas.referent)
    assert client.get(url).status_code == 403

    client.force_login(personas.supervisor)
    response = client.get(url)
    html = response.content.decode()
    assert response.status_code == 200
    assert "Orientation en vigueur" in html and "MDS Nord" in html
    for name in ("track", "organisme_referent", "decided_on", "reason"):
        assert f'for="id_{name}"' in html


def test_the_decision_form_shows_errors_at_the_field(client, personas):
    client.force_login(personas.supervisor)
    url = reverse("casework:orientation_decide", args=[personas.file.public_id])

    response = client.post(
        url,
        {
            "track": "sociale",
            "organisme_referent": personas.france_travail.pk,
            "decided_on": days(3).isoformat(),
            "reason": "Motif tapé",
        },
    )

    assert response.status_code == 200
    assert field_errors(response, "track") == ["Choisissez une valeur de la liste."]
    assert "Motif tapé" in response.content.decode()

    response = client.post(
        url,
        {
            "track": Orientation.Track.PROFESSIONAL,
            "organisme_referent": personas.france_travail.pk,
            "decided_on": days(3).isoformat(),
            "reason": "Motif tapé",
        },
    )
    assert field_errors(response, "decided_on") == ["La date de décision ne peut pas être dans le futur."]

    response = client.post(
        url,
        {
            "track": Orientation.Track.PROFESSIONAL,
            "organisme_referent": personas.france_travail.pk,
            "decided_on": today().isoformat(),
            "reason": "Motif tapé",
        },
    )
    assert response.status_code == 302
    assert "Orientation professionnelle enregistrée" in messages_of(response)[0]


# --- Reorientation requests -----------------------------------------------------------------------------


def test_the_referent_requests_a_reorientation(personas):
    pending = request(personas)

    assert pending.status == ReorientationRequest.Status.PENDING
    assert (pending.requested_by, pending.proposed_track, pending.proposed_organisme) == (
        personas.referent,
        Orientation.Track.PROFESSIONAL,
        personas.france_travail,
    )
    personas.orientation.refresh_from_db()
    assert personas.orientation.status == Orientation.Status.DECIDED


def test_one_request_waits_at_a_time(personas):
    request(personas)

    with pytest.raises(ValidationError, match="déjà en attente"):
        request(personas, actor=personas.supervisor, track=Orientation.Track.SOCIO_PROFESSIONAL)


def test_the_database_keeps_one_pending_request_per_file(personas):
    pending = request(personas)
    twin = ReorientationRequest(
        beneficiary=personas.file,
        proposed_track=pending.proposed_track,
        proposed_organisme=pending.proposed_organisme,
        reason="Doublon",
        requested_by=personas.referent,
    )

    with pytest.raises(ValidationError) as excinfo:
        twin.full_clean()
    assert "Une demande de réorientation est déjà en attente pour ce dossier." in excinfo.value.messages


def test_a_request_needs_an_orientation_in_force_a_change_and_a_reason(personas):
    with pytest.raises(ValidationError, match="l'orientation en vigueur"):
        request(personas, track=Orientation.Track.SOCIAL, organisme_referent=personas.nord)
    with pytest.raises(ValidationError) as excinfo:
        request(personas, reason="  ")
    assert excinfo.value.message_dict == {"reason": ["Indiquez pourquoi une réorientation est nécessaire."]}

    file = BeneficiaryFactory(referent=personas.referent)
    with pytest.raises(ValidationError, match="pas encore d'orientation décidée"):
        reorientation_request(
            actor=personas.referent,
            beneficiary=file,
            track=Orientation.Track.SOCIAL,
            organisme_referent=personas.nord,
            reason="Motif",
        )


def test_who_only_reads_the_file_does_not_request_a_reorientation(personas):
    with pytest.raises(PermissionDenied):
        request(personas, actor=personas.recipient)


def test_accepting_a_request_decides_the_new_orientation(personas):
    pending = request(personas)

    decided = reorientation_decide(actor=personas.supervisor, request=pending, accept=True, reason="Accord en EP.")

    personas.orientation.refresh_from_db()
    assert personas.orientation.status == Orientation.Status.SUPERSEDED
    assert decided.status == ReorientationRequest.Status.ACCEPTED
    assert (decided.decided_by, decided.decision_reason) == (personas.supervisor, "Accord en EP.")
    assert decided.decided_at is not None
    new = decided.resulting_orientation
    assert (new.status, new.track, new.organisme_referent, new.decided_on, new.decided_by) == (
        Orientation.Status.DECIDED,
        Orientation.Track.PROFESSIONAL,
        personas.france_travail,
        today(),
        personas.supervisor,
    )


def test_refusing_a_request_keeps_the_orientation_and_the_reason(personas):
    pending = request(personas)

    decided = reorientation_decide(
        actor=personas.supervisor, request=pending, accept=False, reason="Freins de santé encore présents."
    )

    personas.orientation.refresh_from_db()
    assert personas.orientation.status == Orientation.Status.DECIDED
    assert decided.status == ReorientationRequest.Status.REFUSED
    assert decided.resulting_orientation is None
    assert decided.decision_reason == "Freins de santé encore présents."
    # Once decided, another request may be made.
    assert request(personas).status == ReorientationRequest.Status.PENDING


@pytest.mark.parametrize("persona", ["referent", "recipient", "other_supervisor"])
def test_only_a_supervisor_of_the_files_structure_decides_a_request(personas, persona):
    pending = request(personas)

    with pytest.raises(PermissionDenied):
        reorientation_decide(actor=getattr(personas, persona), request=pending, accept=True, reason="Oui")

    pending.refresh_from_db()
    assert pending.status == ReorientationRequest.Status.PENDING


def test_a_request_is_decided_once_and_with_a_reason(personas):
    pending = request(personas)
    with pytest.raises(ValidationError) as excinfo:
        reorientation_decide(actor=personas.supervisor, request=pending, accept=True, reason=" ")
    assert excinfo.value.message_dict == {"reason": ["Indiquez le motif de la décision."]}

    reorientation_decide(actor=personas.supervisor, request=pending, accept=False, reason="Non")
    with pytest.raises(ValidationError, match="déjà été refusée"):
        reorientation_decide(actor=personas.supervisor, request=pending, accept=True, reason="Finalement oui")


def test_the_database_wants_who_when_and_why_for_a_decision(personas):
    pending = request(personas)
    pending.status = ReorientationRequest.Status.ACCEPTED

    with pytest.raises(ValidationError) as excinfo:
        pending.full_clean()
    assert "Une décision indique qui l'a prise, quand et pourquoi." in excinfo.value.messages


# --- The workflow through the pages ---------------------------------------------------------------------


def test_the_reorientation_workflow_end_to_end(client, personas):
    # The referent proposes.
    client.force_login(personas.referent)
    form_url = reverse("casework:reorientation_request", args=[personas.file.public_id])
    assert "Orientation en vigueur" in client.get(form_url).content.decode()
    response = client.post(
        form_url,
        {
            "track": Orientation.Track.PROFESSIONAL,
            "organisme_referent": personas.france_travail.pk,
            "reason": "Projet d'emploi dans la logistique, permis obtenu.",
        },
    )
    assert response.status_code == 302 and response["Location"] == file_url(personas.file)
    assert "Demande de réorientation enregistrée" in messages_of(response)[0]
    pending = personas.file.reorientation_requests.get()

    # The referent sees it waiting, without the decision form, and cannot ask again.
    html = client.get(file_url(personas.file)).content.decode()
    assert "Demande de réorientation en attente de décision" in html
    assert "Projet d&#x27;emploi dans la logistique" in html
    decide_url = reverse("casework:reorientation_decide", args=[personas.file.public_id, pending.public_id])
    assert decide_url not in html
    assert form_url not in html
    assert "déjà en attente" in client.get(form_url).content.decode()
    assert client.post(decide_url, {"decision": "accept", "reason": "Moi-même"}).status_code == 403

    # The supervisor sees the decision form on the file page, and accepts.
    client.force_login(personas.supervisor)
    html = client.get(file_url(personas.file)).content.decode()
    assert decide_url in html
    assert 'for="motif-decision-reorientation"' in html
    response = client.post(decide_url, {"decision": "accept", "reason": "Validé en équipe pluridisciplinaire."})
    assert response.status_code == 302 and response["Location"] == file_url(personas.file)
    assert "Demande acceptée" in messages_of(response)[0]

    pending.refresh_from_db()
    assert pending.status == ReorientationRequest.Status.ACCEPTED
    assert pending.resulting_orientation.organisme_referent == personas.france_travail
    html = client.get(file_url(personas.file)).content.decode()
    assert "Demande de réorientation en attente" not in html
    assert "Remplacée" in html and "Validé en équipe pluridisciplinaire." in html


def test_a_refusal_without_a_reason_shows_the_form_with_the_error(client, personas):
    pending = request(personas)
    client.force_login(personas.supervisor)
    url = reverse("casework:reorientation_decide", args=[personas.file.public_id, pending.public_id])

    response = client.post(url, {"decision": "refuse", "reason": ""})

    assert response.status_code == 200
    assert field_errors(response, "reason") == ["Indiquez le motif de la décision."]
    assert "Accepter la réorientation" in response.content.decode()
    response = client.post(url, {"reason": "Sans bouton"})
    assert response.context["form"].errors["decision"] == ["Choisissez d'accepter ou de refuser la demande."]

    response = client.post(url, {"decision": "refuse", "reason": "Situation de santé à stabiliser."})
    assert response.status_code == 302
    assert "refusée" in messages_of(response)[0]
    assert client.get(url).context["refusal"].startswith("Cette demande a déjà été refusée")


def test_a_request_of_another_file_is_a_404(client, personas):
    pending = request(personas)
    client.force_login(personas.supervisor)
    other = BeneficiaryFactory(referent=personas.colleague)

    response = client.post(
        reverse("casework:reorientation_decide", args=[other.public_id, pending.public_id]),
        {"decision": "accept", "reason": "Oui"},
    )

    assert response.status_code == 404


# --- The file's orientation in force (orientation_track, orientation_decided_on) --------------------------


def in_force_of(file) -> tuple[str, object]:
    return Beneficiary.objects.values_list("orientation_track", "orientation_decided_on").get(pk=file.pk)


def test_every_decision_keeps_the_files_orientation_in_force_in_step(personas):
    """A first decision, a new decision and an accepted reorientation each set the file's track and decision
    day of the orientation in force (what the caseload, the dashboard and the alerts read); a refused
    request leaves them as they were."""
    file = BeneficiaryFactory(referent=personas.colleague)
    assert in_force_of(file) == ("", None)
    decide(personas, beneficiary=file, track=Orientation.Track.SOCIAL, decided_on=days(-30))
    assert in_force_of(file) == (Orientation.Track.SOCIAL, days(-30))
    decide(personas, beneficiary=file, decided_on=days(-2))
    assert in_force_of(file) == (Orientation.Track.PROFESSIONAL, days(-2))

    before = in_force_of(personas.file)
    assert before == (personas.orientation.track, personas.orientation.decided_on)
    refused = request(personas, track=Orientation.Track.SOCIO_PROFESSIONAL)
    reorientation_decide(actor=personas.supervisor, request=refused, accept=False, reason="Pas encore.")
    assert in_force_of(personas.file) == before
    accepted = request(personas, track=Orientation.Track.SOCIO_PROFESSIONAL)
    reorientation_decide(actor=personas.supervisor, request=accepted, accept=True, reason="Accord en EP.")
    assert in_force_of(personas.file) == (Orientation.Track.SOCIO_PROFESSIONAL, today())
    assert in_force_of(file) == (Orientation.Track.PROFESSIONAL, days(-2))  # another file's, untouched


def test_the_migration_fills_the_orientation_in_force_as_the_services_do(personas):
    """Migration 0015's SQL, run again on files whose columns were emptied, gives back what the
    services wrote (the same on PostgreSQL and SQLite)."""
    decide(personas, beneficiary=BeneficiaryFactory(referent=personas.colleague), decided_on=days(-3))
    files = list(Beneficiary.objects.all())
    expected = {file.pk: in_force_of(file) for file in files}
    Beneficiary.objects.update(orientation_track="", orientation_decided_on=None)
    backfill = import_module("casework.migrations.0015_beneficiary_orientation_in_force").BACKFILL
    with connection.cursor() as cursor:
        cursor.execute(backfill)
    assert {file.pk: in_force_of(file) for file in files} == expected
    assert sum(1 for track, _ in expected.values() if track) >= 2
