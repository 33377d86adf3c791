"""Sharing a file and ending a share, through the web pages (issue 3)."""

import datetime
import uuid
from zoneinfo import ZoneInfo

import pytest
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role
from casework import services
from casework.models import Share
from casework.permissions import visible_beneficiaries
from tests.accounts.factories import DepartmentFactory, MembershipFactory, StructureFactory, member
from www.views import sharing

pytestmark = pytest.mark.django_db


def create_url(beneficiary):
    return reverse("casework:share_create", args=[beneficiary.public_id])


def end_url(share, beneficiary=None):
    return reverse("casework:share_end", args=[(beneficiary or share.beneficiary).public_id, share.public_id])


def file_url(beneficiary):
    return reverse("casework:file_detail", args=[beneficiary.public_id])


def sees(user, beneficiary) -> bool:
    return visible_beneficiaries(user).filter(pk=beneficiary.pk).exists()


def messages_of(response) -> list[str]:
    return [message.message for message in get_messages(response.wsgi_request)]


def share_data(**overrides):
    data = {"target_kind": "person", "person": "", "structure": "", "department": "", "reason": "Relais logement"}
    data.update(overrides)
    return data


# --- The form ----------------------------------------------------------------------------------


def test_referent_gets_a_labelled_share_form(client, personas):
    client.force_login(personas.referent)
    response = client.get(create_url(personas.file))
    html = response.content.decode()
    assert response.status_code == 200
    assert f"Partager le dossier de {personas.file}" in html
    # The person and structure pickers' labels name their search inputs (casework/forms/pickers.py).
    for field_id in ("id_person_recherche", "id_structure_recherche", "id_department", "id_reason", "id_ends_on"):
        assert f'for="{field_id}"' in html
    for radio_id, label in (("id_target_kind_0", "Une personne"), ("id_target_kind_1", "Une structure")):
        assert f'<label class="form-check-label" for="{radio_id}">{label}</label>' in html
    assert "CASF, art. L.121-6-2" in html
    assert 'aria-describedby="id_reason_helptext"' in html


def search_url(beneficiary):
    return reverse("casework:share_target_search", args=[beneficiary.public_id])


def search(client, beneficiary, field, term) -> str:
    response = client.get(search_url(beneficiary), {"champ": field, f"recherche_{field}": term})
    assert response.status_code == 200
    return response.content.decode()


def test_people_offered_follow_files_today_and_exclude_the_actor(client, personas):
    gone = member(Role.REFERENT, structure=personas.sud, username="partie", first_name="Paula", last_name="Partie")
    gone.memberships.update(end_date=timezone.localdate() - datetime.timedelta(days=1))
    client.force_login(personas.referent)
    assert "Martin Odile – Référent·e insertion – MDS Sud" in search(client, personas.file, "person", "martin")
    assert "Roux Sam – Responsable d&#x27;équipe – MDS Nord" in search(client, personas.file, "person", "roux")
    assert "Ferrand Rita" not in search(client, personas.file, "person", "ferrand")
    assert "Petit Dora" not in search(client, personas.file, "person", "petit")  # an auditor reads no file
    assert "Partie Paula" not in search(client, personas.file, "person", "partie")  # no longer works here


def test_sensitive_structures_are_named_only_to_their_own_people(client, personas):
    clinic = StructureFactory(name="Centre d'addictologie", department=personas.social, is_sensitive=True)
    member(Role.REFERENT, structure=clinic, username="soignant", first_name="Simon", last_name="Soin")
    client.force_login(personas.referent)
    response = client.get(create_url(personas.file))
    assert "addictologie" not in response.content.decode()
    assert "addictologie" not in search(client, personas.file, "structure", "addicto")
    assert "Soin Simon – Référent·e insertion – Structure partenaire" in search(
        client, personas.file, "person", "soin"
    )
    # A structure one cannot name is not offered as a target; to its own people it is, by its name.
    assert clinic not in response.context["form"]["structure"].field.queryset
    MembershipFactory(user=personas.referent, role=Role.REFERENT, structure=clinic)
    personas.referent.__dict__.pop("active_memberships", None)
    found = search(client, personas.file, "structure", "addicto")
    assert f'value="{clinic.pk}" class="form-check-input" id="id_structure_{clinic.pk}">' in found
    assert "Centre d&#x27;addictologie</label>" in found
    assert "Soin Simon – Référent·e insertion – Centre d&#x27;addictologie" in search(
        client, personas.file, "person", "soin"
    )


def test_share_form_queries_do_not_grow_with_people_and_structures(client, personas):
    client.force_login(personas.referent)
    url = create_url(personas.file)
    client.get(url)  # warm the session
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    for index in range(8):
        structure = StructureFactory(department=personas.housing)
        someone = member(Role.REFERENT, structure=structure, username=f"extra{index}")
        MembershipFactory(user=someone, role=Role.SUPERVISOR, structure=personas.sud)
        DepartmentFactory()
    with CaptureQueriesContext(connection) as many:
        response = client.get(url)
    # The personas one may share with (the referent's colleague, the MDS Sud's referent, both supervisors,
    # the housing worker, the CCAS's referent), and the 8 added.
    assert response.context["form"]["person"].field.queryset.count() == 6 + 8
    assert len(many) == len(few)


# --- Sharing -----------------------------------------------------------------------------------


def test_referent_shares_the_file_with_a_person(client, personas):
    client.force_login(personas.referent)
    response = client.post(create_url(personas.file), share_data(person=personas.other.pk))
    assert response.status_code == 302
    assert response.url == file_url(personas.file)
    share = Share.objects.get(beneficiary=personas.file)
    assert share.shared_with_user == personas.other
    assert share.author == personas.referent
    assert share.reason == "Relais logement"
    assert share.ends_at is None
    assert sees(personas.other, personas.file)
    assert messages_of(response) == [
        "Le dossier est partagé avec Odile Martin. Pensez à en informer la personne suivie."
    ]


def test_referent_shares_the_file_with_a_structure(client, personas):
    client.force_login(personas.referent)
    response = client.post(create_url(personas.file), share_data(target_kind="structure", structure=personas.sud.pk))
    assert response.status_code == 302
    assert Share.objects.get(beneficiary=personas.file).shared_with_structure == personas.sud
    assert sees(personas.other, personas.file)


def test_supervisor_shares_the_file_with_a_department(client, personas):
    client.force_login(personas.supervisor)
    response = client.post(
        create_url(personas.file), share_data(target_kind="department", department=personas.housing.pk)
    )
    assert response.status_code == 302
    assert Share.objects.get(beneficiary=personas.file).shared_with_department == personas.housing
    assert sees(personas.housing_worker, personas.file)


def test_end_date_is_the_end_of_that_day_in_paris(client, personas):
    day = timezone.localdate() + datetime.timedelta(days=10)
    client.force_login(personas.referent)
    response = client.post(create_url(personas.file), share_data(person=personas.other.pk, ends_on=day.isoformat()))
    assert response.status_code == 302
    share = Share.objects.get(beneficiary=personas.file)
    paris = ZoneInfo("Europe/Paris")
    assert share.ends_at == datetime.datetime.combine(day, datetime.time(23, 59, 59, 999999), tzinfo=paris)
    assert f"jusqu'au {day:%d/%m/%Y} inclus" in messages_of(response)[0]


def test_end_date_may_be_typed_the_french_way_and_may_be_today(client, personas):
    today = timezone.localdate()
    client.force_login(personas.referent)
    response = client.post(
        create_url(personas.file), share_data(person=personas.other.pk, ends_on=f"{today:%d/%m/%Y}")
    )
    assert response.status_code == 302
    assert timezone.localtime(Share.objects.get().ends_at).date() == today


def test_past_end_date_is_refused_at_the_field(client, personas):
    yesterday = timezone.localdate() - datetime.timedelta(days=1)
    client.force_login(personas.referent)
    response = client.post(
        create_url(personas.file), share_data(person=personas.other.pk, ends_on=yesterday.isoformat())
    )
    assert response.status_code == 200
    assert response.context["form"].errors == {
        "ends_on": ["La date de fin est passée : choisissez aujourd'hui ou une date à venir."]
    }
    assert not Share.objects.exists()


def test_missing_reason_is_shown_at_the_field_and_linked_to_it(client, personas):
    client.force_login(personas.referent)
    response = client.post(create_url(personas.file), share_data(person=personas.other.pk, reason="   "))
    html = response.content.decode()
    assert response.status_code == 200
    assert '<div class="invalid-feedback d-block" id="id_reason_error">' in html
    assert "Indiquez pourquoi ce partage est nécessaire." in html
    assert 'aria-invalid="true" aria-describedby="id_reason_helptext id_reason_error"' in html
    assert 'class="form-control is-invalid"' in html
    assert not Share.objects.exists()


def test_too_long_reason_is_refused(client, personas):
    client.force_login(personas.referent)
    response = client.post(create_url(personas.file), share_data(person=personas.other.pk, reason="x" * 1001))
    assert response.context["form"].errors == {"reason": ["Le motif ne peut pas dépasser 1000 caractères."]}


def test_target_kind_is_required(client, personas):
    client.force_login(personas.referent)
    response = client.post(create_url(personas.file), share_data(target_kind="", person=personas.other.pk))
    html = response.content.decode()
    assert response.context["form"].errors == {"target_kind": ["Choisissez avec qui partager le dossier."]}
    assert 'aria-describedby="id_target_kind_error"' in html
    assert not Share.objects.exists()


def test_the_chosen_target_must_be_filled(client, personas):
    client.force_login(personas.referent)
    response = client.post(create_url(personas.file), share_data(target_kind="structure"))
    assert response.context["form"].errors == {"structure": ["Choisissez la structure avec qui partager le dossier."]}


def test_a_second_filled_target_is_refused_rather_than_guessed(client, personas):
    client.force_login(personas.referent)
    response = client.post(
        create_url(personas.file),
        share_data(target_kind="department", department=personas.housing.pk, person=personas.other.pk),
    )
    assert response.context["form"].errors == {
        "person": ["Vous partagez avec un service du Département : laissez ce choix vide."]
    }
    assert not Share.objects.exists()


def test_an_auditor_is_not_a_valid_choice(client, personas):
    client.force_login(personas.referent)
    response = client.post(create_url(personas.file), share_data(person=personas.auditor.pk))
    assert response.status_code == 200
    assert response.context["form"].errors == {
        "person": ["Choisissez une personne parmi celles que la recherche propose."]
    }
    assert not Share.objects.exists()


def test_service_refusal_is_shown_at_the_field_not_as_a_500(client, personas, monkeypatch):
    """The person's membership ends between the form's check and the service's."""
    real_share = services.beneficiary_share

    def membership_ends_meanwhile(**kwargs):
        kwargs["user"].memberships.update(end_date=timezone.localdate() - datetime.timedelta(days=1))
        return real_share(**kwargs)

    monkeypatch.setattr(sharing.services, "beneficiary_share", membership_ends_meanwhile)
    client.force_login(personas.referent)
    response = client.post(create_url(personas.file), share_data(person=personas.other.pk))
    assert response.status_code == 200
    assert response.context["form"].errors == {
        "person": ["Cette personne n'est rattachée à aucune structure aujourd'hui."]
    }
    assert 'id="id_person_error"' in response.content.decode()
    assert not Share.objects.exists()


# --- Who may share -----------------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["colleague", "other", "auditor"])
def test_someone_who_does_not_see_the_file_gets_404(client, personas, persona):
    client.force_login(getattr(personas, persona))
    assert client.get(create_url(personas.file)).status_code == 404
    assert client.post(create_url(personas.file), share_data(person=personas.supervisor.pk)).status_code == 404
    assert not Share.objects.exists()


def test_unknown_file_gets_the_same_404(client, personas):
    client.force_login(personas.referent)
    url = reverse("casework:share_create", args=[uuid.uuid4()])
    assert client.get(url).status_code == 404
    assert client.post(url, share_data(person=personas.other.pk)).status_code == 404


def test_someone_the_file_was_shared_with_may_not_share_it_on(client, personas):
    services.beneficiary_share(
        actor=personas.referent, beneficiary=personas.file, user=personas.other, reason="Relais"
    )
    client.force_login(personas.other)
    assert client.get(create_url(personas.file)).status_code == 403
    response = client.post(create_url(personas.file), share_data(person=personas.colleague.pk))
    assert response.status_code == 403
    assert Share.objects.count() == 1


def test_anonymous_visitor_is_sent_to_login(client, personas):
    response = client.get(create_url(personas.file))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


# --- Ending a share ----------------------------------------------------------------------------


@pytest.fixture
def share(personas):
    return services.beneficiary_share(
        actor=personas.referent, beneficiary=personas.file, user=personas.other, reason="Relais"
    )


def test_referent_ends_a_share_and_the_recipient_loses_access(client, personas, share):
    assert sees(personas.other, personas.file)
    client.force_login(personas.referent)
    response = client.post(end_url(share))
    assert response.status_code == 302
    assert response.url == file_url(personas.file)
    share.refresh_from_db()
    assert share.ended_at is not None and share.ended_by == personas.referent
    assert not sees(personas.other, personas.file)
    assert messages_of(response) == ["Le partage avec Odile Martin est arrêté : il ne donne plus accès au dossier."]


def test_ending_a_share_of_a_structure_names_it(client, personas):
    share = services.beneficiary_share(
        actor=personas.referent, beneficiary=personas.file, structure=personas.sud, reason="Suivi conjoint"
    )
    client.force_login(personas.supervisor)
    response = client.post(end_url(share))
    assert response.status_code == 302
    assert messages_of(response) == ["Le partage avec MDS Sud est arrêté : il ne donne plus accès au dossier."]
    assert not sees(personas.other, personas.file)


def test_ending_an_ended_share_changes_nothing(client, personas, share):
    services.share_end(actor=personas.referent, share=share)
    share.refresh_from_db()
    ended_at = share.ended_at
    client.force_login(personas.referent)
    response = client.post(end_url(share))
    assert response.status_code == 302
    assert messages_of(response) == ["Ce partage était déjà terminé."]
    share.refresh_from_db()
    assert share.ended_at == ended_at


def test_ending_a_share_is_post_only(client, personas, share):
    client.force_login(personas.referent)
    assert client.get(end_url(share)).status_code == 405
    assert sees(personas.other, personas.file)


def test_someone_who_does_not_see_the_file_cannot_end_its_shares(client, personas, share):
    client.force_login(personas.colleague)
    assert client.post(end_url(share)).status_code == 404
    assert sees(personas.other, personas.file)


def test_a_share_of_another_file_is_a_404(client, personas, share):
    # The referent of the other file names their own file with a share that belongs to another one.
    client.force_login(personas.other)
    assert client.post(end_url(share, beneficiary=personas.other_file)).status_code == 404
    unknown = reverse("casework:share_end", args=[personas.file.public_id, uuid.uuid4()])
    client.force_login(personas.referent)
    assert client.post(unknown).status_code == 404
    share.refresh_from_db()
    assert share.ended_at is None


def test_the_recipient_of_a_share_may_not_end_it(client, personas, share):
    client.force_login(personas.other)
    assert client.post(end_url(share)).status_code == 403
    share.refresh_from_db()
    assert share.ended_at is None


def test_anonymous_visitor_cannot_end_a_share(client, personas, share):
    response = client.post(end_url(share))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))
