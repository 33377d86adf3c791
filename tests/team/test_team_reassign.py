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
from tests.accounts.factories import StructureFactory, member
from tests.casework.factories import BeneficiaryFactory
from tests.conftest import AUDIT_QUERIES, HEADER_QUERIES

pytestmark = pytest.mark.django_db

URL = reverse("team:reassign")
REASON = "Rééquilibrage des portefeuilles"


@pytest.fixture(autouse=True)
def base_url(settings):
    settings.PARCOURS_BASE_URL = "https://parcours.example.fr"


@pytest.fixture
def world():
    nord = StructureFactory(name="MDS Nord")
    sud = StructureFactory(name="MDS Sud")
    w = type("World", (), {})()
    w.nord, w.sud = nord, sud
    w.referent = member(Role.REFERENT, structure=nord, username="referente", first_name="Rita", last_name="Ferrand")
    w.colleague = member(Role.REFERENT, structure=nord, username="collegue", first_name="Colin", last_name="Lebon")
    w.other = member(Role.REFERENT, structure=sud, username="autre", first_name="Odile", last_name="Martin")
    w.supervisor = member(Role.SUPERVISOR, structure=nord, username="chef", first_name="Sam", last_name="Roux")
    w.other_supervisor = member(Role.SUPERVISOR, structure=sud, username="cheffe-sud")
    w.admin = member(Role.DEPARTMENT_ADMIN, structure=nord, username="admin")
    w.auditor = member(Role.AUDITOR, structure=nord, username="dpo")
    w.file = BeneficiaryFactory(referent=w.referent, last_name="Zidane", first_name="Zoé")
    w.second = BeneficiaryFactory(referent=w.referent, last_name="Yilmaz", first_name="Yanis")
    w.other_file = BeneficiaryFactory(referent=w.other, last_name="Xavier", first_name="Xena")
    return w


def membership(user, structure):
    return Membership.objects.get(user=user, structure=structure, role=Role.REFERENT)


def sees(user, beneficiary) -> bool:
    return visible_beneficiaries(user).filter(pk=beneficiary.pk).exists()


def post_data(files, target, reason=REASON):
    return {"dossiers": [str(f.public_id) for f in files], "referent": target.pk, "reason": reason}


# --- Who may open the page ---------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["referent", "colleague", "admin", "auditor"])
def test_only_supervisors_open_the_page(client, world, persona):
    client.force_login(getattr(world, persona))
    assert client.get(URL).status_code == 403
    assert client.post(URL, post_data([world.file], membership(world.colleague, world.nord))).status_code == 403
    world.file.refresh_from_db()
    assert world.file.current_referent == world.referent


def test_anonymous_is_sent_to_login(client, world):
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_supervisor_lists_the_files_of_their_structures_only(client, world):
    client.force_login(world.supervisor)
    html = client.get(URL).content.decode()
    assert "ZIDANE Zoé" in html and "YILMAZ Yanis" in html
    assert "XAVIER" not in html
    # The new referent's choices: referents of the supervised structures only.
    assert "Lebon Colin – MDS Nord" in html and "Martin Odile" not in html


def test_other_supervisor_does_not_see_the_file(client, world):
    client.force_login(world.other_supervisor)
    html = client.get(URL).content.decode()
    assert "XAVIER Xena" in html and "ZIDANE" not in html


def test_filter_by_current_referent(client, world):
    BeneficiaryFactory(referent=world.colleague, last_name="Wagner")
    client.force_login(world.supervisor)
    html = client.get(URL, {"referent": world.colleague.pk}).content.decode()
    assert "WAGNER" in html and "ZIDANE" not in html
    # A referent outside the scope is not a choice: French error, no file shown.
    response = client.get(URL, {"referent": world.other.pk})
    assert response.status_code == 200
    assert "Ce choix n&#x27;est pas valide" in response.content.decode()
    assert "WAGNER" not in response.content.decode()


def test_preselected_file_is_checked(client, world):
    client.force_login(world.supervisor)
    html = client.get(URL, {"dossier": world.file.public_id}).content.decode()
    assert f'value="{world.file.public_id}" id="dossier-{world.file.public_id}" checked' in html
    assert "YILMAZ" not in html


@pytest.mark.parametrize("value", ["other_file", "not-a-uuid"])
def test_preselecting_a_file_out_of_scope_is_404(client, world, value):
    client.force_login(world.supervisor)
    public_id = world.other_file.public_id if value == "other_file" else value
    assert client.get(URL, {"dossier": public_id}).status_code == 404


def test_file_page_offers_the_link_to_its_supervisor_only(client, world):
    link = f"{URL}?dossier={world.file.public_id}"
    file_url = reverse("casework:file_detail", args=[world.file.public_id])
    client.force_login(world.supervisor)
    assert link in client.get(file_url).content.decode()
    client.force_login(world.referent)
    assert link not in client.get(file_url).content.decode()


def test_list_runs_a_constant_number_of_queries(client, world, django_assert_max_num_queries):
    for index in range(30):
        BeneficiaryFactory(referent=world.colleague if index % 2 else world.referent)
    client.force_login(world.supervisor)
    # Session (read and stamped), user, memberships, referent choices (filter and form), count, page;
    # plus the audit trail's queries once the page is audited as a list (casework/audit.py).
    with django_assert_max_num_queries(12 + AUDIT_QUERIES + HEADER_QUERIES):
        response = client.get(URL)
    assert response.status_code == 200


# --- Moving files ------------------------------------------------------------------------------


def test_bulk_reassignment_moves_access_keeps_history_and_notifies(client, world, django_capture_on_commit_callbacks):
    target = membership(world.colleague, world.nord)
    client.force_login(world.supervisor)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(URL, post_data([world.file, world.second], target))
    assert response.status_code == 302

    for beneficiary in (world.file, world.second):
        beneficiary.refresh_from_db()
        assert beneficiary.current_referent == world.colleague
        # The former referent loses access at once, the new one gains it.
        assert not sees(world.referent, beneficiary)
        assert sees(world.colleague, beneficiary) and can_change(world.colleague, beneficiary)
        history = list(ReferentAssignment.objects.filter(beneficiary=beneficiary).order_by("started_at"))
        assert [a.referent for a in history] == [world.referent, world.colleague]
        assert history[0].ended_at is not None and history[1].ended_at is None
        assert history[1].reason == REASON and history[1].assigned_by == world.supervisor

    # One notification for the move, naming no file.
    notification = Notification.objects.get(recipient=world.colleague)
    assert notification.kind == Notification.Kind.FILE_ASSIGNED
    assert notification.message == "2 dossiers vous ont été confiés par Sam Roux."
    assert notification.beneficiary is None
    assert notification.emailed_at is not None

    # The e-mail, sent through Django's mail backend, carries a link and nothing about the people.
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [world.colleague.email]
    assert (
        "Des dossiers vous ont été confiés dans Parcours : https://parcours.example.fr/notifications/" in message.body
    )
    for beneficiary in (world.file, world.second):
        for detail in (beneficiary.last_name, beneficiary.first_name, beneficiary.allocataire_number):
            assert detail not in message.body and detail not in message.subject
        assert str(beneficiary.public_id) not in message.body


def test_timeline_shows_the_reassignment_with_reason_and_who_decided(client, world):
    beneficiaries_reassign(
        actor=world.supervisor,
        beneficiaries=[world.file],
        referent=world.colleague,
        structure=world.nord,
        reason=REASON,
    )
    client.force_login(world.colleague)
    html = client.get(reverse("casework:file_detail", args=[world.file.public_id])).content.decode()
    assert "Désignation de Colin Lebon" in html
    assert f"Motif : {REASON}" in html
    assert "Succède à Rita Ferrand" in html
    assert "Par Sam Roux" in html
    # The former referent gets 404 on the file from now on.
    client.force_login(world.referent)
    assert client.get(reverse("casework:file_detail", args=[world.file.public_id])).status_code == 404


def test_single_file_from_the_file_page_returns_to_it_and_links_the_file(
    client, world, django_capture_on_commit_callbacks
):
    client.force_login(world.supervisor)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"{URL}?dossier={world.file.public_id}", post_data([world.file], membership(world.colleague, world.nord))
        )
    assert response["Location"] == reverse("casework:file_detail", args=[world.file.public_id])
    notification = Notification.objects.get(recipient=world.colleague)
    assert notification.message == "Un dossier vous a été confié par Sam Roux."
    assert notification.beneficiary == world.file

    file_link = reverse("casework:file_detail", args=[world.file.public_id])
    client.force_login(world.colleague)
    assert file_link in client.get(reverse("team:notifications")).content.decode()
    # Once the file is no longer theirs, the notification no longer leads to it.
    beneficiaries_reassign(
        actor=world.supervisor,
        beneficiaries=[world.file],
        referent=world.referent,
        structure=world.nord,
        reason="Retour",
    )
    assert file_link not in client.get(reverse("team:notifications")).content.decode()


def test_a_file_out_of_scope_makes_the_whole_request_404_and_moves_nothing(client, world):
    client.force_login(world.supervisor)
    response = client.post(URL, post_data([world.file, world.other_file], membership(world.colleague, world.nord)))
    assert response.status_code == 404
    world.file.refresh_from_db()
    world.other_file.refresh_from_db()
    assert world.file.current_referent == world.referent
    assert world.other_file.current_referent == world.other
    assert not Notification.objects.exists()


def test_an_unknown_public_id_is_404(client, world):
    client.force_login(world.supervisor)
    data = post_data([world.file], membership(world.colleague, world.nord))
    data["dossiers"].append("7b3c1c2e-0000-4000-8000-000000000000")
    assert client.post(URL, data).status_code == 404
    world.file.refresh_from_db()
    assert world.file.current_referent == world.referent


def test_reason_is_required(client, world):
    client.force_login(world.supervisor)
    response = client.post(URL, post_data([world.file], membership(world.colleague, world.nord), reason="   "))
    assert response.status_code == 200
    assert "Indiquez le motif du changement de référent·e." in response.content.decode()
    world.file.refresh_from_db()
    assert world.file.current_referent == world.referent


def test_at_least_one_file_must_be_ticked(client, world):
    client.force_login(world.supervisor)
    response = client.post(URL, post_data([], membership(world.colleague, world.nord)))
    assert "Cochez au moins un dossier à réaffecter." in response.content.decode()


def test_a_referent_outside_the_team_is_not_a_choice(client, world):
    client.force_login(world.supervisor)
    response = client.post(URL, post_data([world.file], membership(world.other, world.sud)))
    assert response.status_code == 200
    assert "Ce choix n&#x27;est pas valide" in response.content.decode()
    world.file.refresh_from_db()
    assert world.file.current_referent == world.referent


def test_files_already_with_that_referent_are_refused_in_french(client, world):
    client.force_login(world.supervisor)
    response = client.post(URL, post_data([world.file], membership(world.referent, world.nord)))
    assert "Les dossiers choisis sont déjà suivis par cette personne." in response.content.decode()
    assert ReferentAssignment.objects.filter(beneficiary=world.file).count() == 1


def test_the_task_receives_the_notification_id_only(world, monkeypatch, django_capture_on_commit_callbacks):
    sent = []
    monkeypatch.setattr(notification_email_send, "delay", lambda *args, **kwargs: sent.append((args, kwargs)))
    with django_capture_on_commit_callbacks(execute=True):
        result = beneficiaries_reassign(
            actor=world.supervisor,
            beneficiaries=[world.file],
            referent=world.colleague,
            structure=world.nord,
            reason=REASON,
        )
    assert sent == [((result.notification.pk,), {})]


# --- The service on its own ----------------------------------------------------------------------


def test_service_refuses_non_supervisors(world):
    with pytest.raises(PermissionDenied):
        beneficiaries_reassign(
            actor=world.referent,
            beneficiaries=[world.file],
            referent=world.colleague,
            structure=world.nord,
            reason="x",
        )


def test_service_404s_for_another_supervisor(world):
    with pytest.raises(Http404):
        beneficiaries_reassign(
            actor=world.other_supervisor,
            beneficiaries=[world.file],
            referent=world.other,
            structure=world.sud,
            reason=REASON,
        )
    world.file.refresh_from_db()
    assert world.file.current_referent == world.referent
