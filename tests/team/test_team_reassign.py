"""Reassigning one or many files (issue 6): scope, permissions moved, history, timeline, notification."""

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.urls import reverse

from accounts.models import Membership, Role
from casework.models import ReferentAssignment
from casework.permissions import can_change, visible_beneficiaries
from team.models import Notification
from team.services import beneficiaries_reassign
from team.tasks import notification_email_send
from tests.casework.factories import BeneficiaryFactory
from tests.conftest import AUDIT_QUERIES, HEADER_QUERIES

pytestmark = pytest.mark.django_db

URL = reverse("team:reassign")
REASON = "Rééquilibrage des portefeuilles"


@pytest.fixture(autouse=True)
def base_url(settings):
    settings.PARCOURS_BASE_URL = "https://parcours.example.fr"


@pytest.fixture
def personas(personas):
    """The shared personas, and a second file followed by the referent."""
    personas.second = BeneficiaryFactory(referent=personas.referent, last_name="Yilmaz", first_name="Yanis")
    return personas


def membership(user, structure):
    return Membership.objects.get(user=user, structure=structure, role=Role.REFERENT)


def sees(user, beneficiary) -> bool:
    return visible_beneficiaries(user).filter(pk=beneficiary.pk).exists()


def post_data(files, target, reason=REASON):
    return {"dossiers": [str(f.public_id) for f in files], "referent": target.pk, "reason": reason}


# --- Who may open the page ---------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["referent", "colleague", "admin", "auditor"])
def test_only_supervisors_open_the_page(client, personas, persona):
    client.force_login(getattr(personas, persona))
    assert client.get(URL).status_code == 403
    assert (
        client.post(URL, post_data([personas.file], membership(personas.colleague, personas.nord))).status_code == 403
    )
    personas.file.refresh_from_db()
    assert personas.file.current_referent == personas.referent


def test_anonymous_is_sent_to_login(client, personas):
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_supervisor_lists_the_files_of_their_structures_only(client, personas):
    client.force_login(personas.supervisor)
    html = client.get(URL).content.decode()
    assert "ZIDANE Zoé" in html and "YILMAZ Yanis" in html
    assert "XAVIER" not in html
    # The new referent's choices: referents of the supervised structures only.
    assert "Lebon Colin – MDS Nord" in html and "Martin Odile" not in html


def test_other_supervisor_does_not_see_the_file(client, personas):
    client.force_login(personas.other_supervisor)
    html = client.get(URL).content.decode()
    assert "XAVIER Xena" in html and "ZIDANE" not in html


def test_filter_by_current_referent(client, personas):
    BeneficiaryFactory(referent=personas.colleague, last_name="Wagner")
    client.force_login(personas.supervisor)
    html = client.get(URL, {"referent": personas.colleague.pk}).content.decode()
    assert "WAGNER" in html and "ZIDANE" not in html
    # A referent outside the scope is not a choice: French error, no file shown.
    response = client.get(URL, {"referent": personas.other.pk})
    assert response.status_code == 200
    assert "Ce choix n&#x27;est pas valide" in response.content.decode()
    assert "WAGNER" not in response.content.decode()


def test_preselected_file_is_checked(client, personas):
    client.force_login(personas.supervisor)
    html = client.get(URL, {"dossier": personas.file.public_id}).content.decode()
    assert f'value="{personas.file.public_id}" id="dossier-{personas.file.public_id}" checked' in html
    assert "YILMAZ" not in html


@pytest.mark.parametrize("value", ["other_file", "not-a-uuid"])
def test_preselecting_a_file_out_of_scope_is_404(client, personas, value):
    client.force_login(personas.supervisor)
    public_id = personas.other_file.public_id if value == "other_file" else value
    assert client.get(URL, {"dossier": public_id}).status_code == 404


def test_file_page_offers_the_link_to_its_supervisor_only(client, personas):
    link = f"{URL}?dossier={personas.file.public_id}"
    file_url = reverse("casework:file_detail", args=[personas.file.public_id])
    client.force_login(personas.supervisor)
    assert link in client.get(file_url).content.decode()
    client.force_login(personas.referent)
    assert link not in client.get(file_url).content.decode()


def test_list_runs_a_constant_number_of_queries(client, personas, django_assert_max_num_queries):
    for index in range(30):
        BeneficiaryFactory(referent=personas.colleague if index % 2 else personas.referent)
    client.force_login(personas.supervisor)
    # Session (read and stamped), user, memberships, referent choices (filter and form), count, page;
    # plus the audit trail's queries once the page is audited as a list (casework/audit.py).
    with django_assert_max_num_queries(12 + AUDIT_QUERIES + HEADER_QUERIES):
        response = client.get(URL)
    assert response.status_code == 200


# --- Moving files ------------------------------------------------------------------------------


def test_bulk_reassignment_moves_access_keeps_history_and_notifies(
    client, personas, django_capture_on_commit_callbacks
):
    target = membership(personas.colleague, personas.nord)
    client.force_login(personas.supervisor)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(URL, post_data([personas.file, personas.second], target))
    assert response.status_code == 302

    for beneficiary in (personas.file, personas.second):
        beneficiary.refresh_from_db()
        assert beneficiary.current_referent == personas.colleague
        # The former referent loses access at once, the new one gains it.
        assert not sees(personas.referent, beneficiary)
        assert sees(personas.colleague, beneficiary) and can_change(personas.colleague, beneficiary)
        history = list(ReferentAssignment.objects.filter(beneficiary=beneficiary).order_by("started_at"))
        assert [a.referent for a in history] == [personas.referent, personas.colleague]
        assert history[0].ended_at is not None and history[1].ended_at is None
        assert history[1].reason == REASON and history[1].assigned_by == personas.supervisor

    # One notification for the move, naming no file.
    notification = Notification.objects.get(recipient=personas.colleague)
    assert notification.kind == Notification.Kind.FILE_ASSIGNED
    assert notification.message == "2 dossiers vous ont été confiés par Sam Roux."
    assert notification.beneficiary is None
    assert notification.emailed_at is not None

    # The e-mail, sent through Django's mail backend, carries a link and nothing about the people.
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [personas.colleague.email]
    assert (
        "Des dossiers vous ont été confiés dans Parcours : https://parcours.example.fr/notifications/" in message.body
    )
    for beneficiary in (personas.file, personas.second):
        for detail in (beneficiary.last_name, beneficiary.first_name, beneficiary.allocataire_number):
            assert detail not in message.body and detail not in message.subject
        assert str(beneficiary.public_id) not in message.body


def test_timeline_shows_the_reassignment_with_reason_and_who_decided(client, personas):
    beneficiaries_reassign(
        actor=personas.supervisor,
        beneficiaries=[personas.file],
        referent=personas.colleague,
        structure=personas.nord,
        reason=REASON,
    )
    client.force_login(personas.colleague)
    html = client.get(reverse("casework:file_detail", args=[personas.file.public_id])).content.decode()
    assert "Désignation de Colin Lebon" in html
    assert f"Motif : {REASON}" in html
    assert "Succède à Rita Ferrand" in html
    assert "Par Sam Roux" in html
    # The former referent gets 404 on the file from now on.
    client.force_login(personas.referent)
    assert client.get(reverse("casework:file_detail", args=[personas.file.public_id])).status_code == 404


def test_single_file_from_the_file_page_returns_to_it_and_links_the_file(
    client, personas, django_capture_on_commit_callbacks
):
    client.force_login(personas.supervisor)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"{URL}?dossier={personas.file.public_id}",
            post_data([personas.file], membership(personas.colleague, personas.nord)),
        )
    assert response["Location"] == reverse("casework:file_detail", args=[personas.file.public_id])
    notification = Notification.objects.get(recipient=personas.colleague)
    assert notification.message == "Un dossier vous a été confié par Sam Roux."
    assert notification.beneficiary == personas.file

    file_link = reverse("casework:file_detail", args=[personas.file.public_id])
    client.force_login(personas.colleague)
    assert file_link in client.get(reverse("team:notifications")).content.decode()
    # Once the file is no longer theirs, the notification no longer leads to it.
    beneficiaries_reassign(
        actor=personas.supervisor,
        beneficiaries=[personas.file],
        referent=personas.referent,
        structure=personas.nord,
        reason="Retour",
    )
    assert file_link not in client.get(reverse("team:notifications")).content.decode()


def test_a_file_out_of_scope_makes_the_whole_request_404_and_moves_nothing(client, personas):
    client.force_login(personas.supervisor)
    response = client.post(
        URL, post_data([personas.file, personas.other_file], membership(personas.colleague, personas.nord))
    )
    assert response.status_code == 404
    personas.file.refresh_from_db()
    personas.other_file.refresh_from_db()
    assert personas.file.current_referent == personas.referent
    assert personas.other_file.current_referent == personas.other
    assert not Notification.objects.exists()


def test_an_unknown_public_id_is_404(client, personas):
    client.force_login(personas.supervisor)
    data = post_data([personas.file], membership(personas.colleague, personas.nord))
    data["dossiers"].append("7b3c1c2e-0000-4000-8000-000000000000")
    assert client.post(URL, data).status_code == 404
    personas.file.refresh_from_db()
    assert personas.file.current_referent == personas.referent


def test_reason_is_required(client, personas):
    client.force_login(personas.supervisor)
    response = client.post(
        URL, post_data([personas.file], membership(personas.colleague, personas.nord), reason="   ")
    )
    assert response.status_code == 200
    assert "Indiquez le motif du changement de référent·e." in response.content.decode()
    personas.file.refresh_from_db()
    assert personas.file.current_referent == personas.referent


def test_at_least_one_file_must_be_ticked(client, personas):
    client.force_login(personas.supervisor)
    response = client.post(URL, post_data([], membership(personas.colleague, personas.nord)))
    assert "Cochez au moins un dossier à réaffecter." in response.content.decode()


def test_a_referent_outside_the_team_is_not_a_choice(client, personas):
    client.force_login(personas.supervisor)
    response = client.post(URL, post_data([personas.file], membership(personas.other, personas.sud)))
    assert response.status_code == 200
    assert "Ce choix n&#x27;est pas valide" in response.content.decode()
    personas.file.refresh_from_db()
    assert personas.file.current_referent == personas.referent


def test_files_already_with_that_referent_are_refused_in_french(client, personas):
    client.force_login(personas.supervisor)
    response = client.post(URL, post_data([personas.file], membership(personas.referent, personas.nord)))
    assert "Les dossiers choisis sont déjà suivis par cette personne." in response.content.decode()
    assert ReferentAssignment.objects.filter(beneficiary=personas.file).count() == 1


def test_the_task_receives_the_notification_id_only(personas, monkeypatch, django_capture_on_commit_callbacks):
    sent = []
    monkeypatch.setattr(notification_email_send, "delay", lambda *args, **kwargs: sent.append((args, kwargs)))
    with django_capture_on_commit_callbacks(execute=True):
        result = beneficiaries_reassign(
            actor=personas.supervisor,
            beneficiaries=[personas.file],
            referent=personas.colleague,
            structure=personas.nord,
            reason=REASON,
        )
    assert sent == [((result.notification.pk,), {})]


# --- The service on its own ----------------------------------------------------------------------


def test_service_refuses_non_supervisors(personas):
    with pytest.raises(PermissionDenied):
        beneficiaries_reassign(
            actor=personas.referent,
            beneficiaries=[personas.file],
            referent=personas.colleague,
            structure=personas.nord,
            reason="x",
        )


def test_service_404s_for_another_supervisor(personas):
    with pytest.raises(Http404):
        beneficiaries_reassign(
            actor=personas.other_supervisor,
            beneficiaries=[personas.file],
            referent=personas.other,
            structure=personas.sud,
            reason=REASON,
        )
    personas.file.refresh_from_db()
    assert personas.file.current_referent == personas.referent
