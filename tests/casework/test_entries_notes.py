"""Writing a note through the web pages: its visibility, its readers, the personal-data warnings, and
the quick-write panel's htmx path (casework/views/entries.py)."""

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from accounts.models import Role
from casework.models import Note
from tests.accounts.factories import MembershipFactory, StructureFactory, member
from tests.casework.test_entries_services import personas_sharing_with_recipient  # noqa: F401 (`personas`)

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}
NIR = "1 85 05 78 006 084 91"
IBAN = "FR76 3000 6000 0112 3456 7890 189"


def url(personas):
    return reverse("casework:note_create", args=[personas.file.public_id])


def messages_of(response) -> list[str]:
    return [message.message for message in get_messages(response.wsgi_request)]


def note_data(**overrides):
    return {"body": "Entretien de suivi : démarches en cours.", "visibility": "private"} | overrides


def test_the_note_form_is_labelled_and_private_by_default(client, personas):
    client.force_login(personas.referent)
    response = client.get(url(personas))
    html = response.content.decode()
    assert response.status_code == 200
    for field_id in (
        "id_body",
        "id_is_sensitive",
        "id_shared_with_departments",
        # The pickers' labels name their search inputs (casework/forms/pickers.py).
        "id_shared_with_structures_recherche",
        "id_shared_with_users_recherche",
    ):
        assert f'for="{field_id}"' in html
    assert 'for="id_visibility_0">Privée (moi seul·e)</label>' in html
    assert 'value="private" class="form-check-input" id="id_visibility_0" required checked>' in html
    assert 'aria-describedby="id_body_helptext"' in html


def test_writing_a_private_note(client, personas):
    client.force_login(personas.referent)
    response = client.post(url(personas), note_data())
    assert response.status_code == 302
    assert response["Location"] == reverse("casework:file_detail", args=[personas.file.public_id])
    note = Note.objects.get()
    assert (note.author, note.visibility, note.is_sensitive) == (personas.referent, "private", False)
    assert messages_of(response) == ["Note enregistrée : vous seul·e pourrez la lire."]
    personas.file.refresh_from_db()
    assert personas.file.last_activity_at is not None


def test_who_the_file_is_shared_with_may_write_a_note(client, personas):
    client.force_login(personas.recipient)
    assert client.get(url(personas)).status_code == 200
    assert client.post(url(personas), note_data(visibility="followers")).status_code == 302
    assert Note.objects.get().author == personas.recipient


@pytest.mark.parametrize("persona", ["other", "colleague", "auditor"])
def test_who_may_not_read_the_file_gets_a_404(client, personas, persona):
    client.force_login(getattr(personas, persona))
    assert client.get(url(personas)).status_code == 404
    assert client.post(url(personas), note_data()).status_code == 404
    assert client.post(url(personas), note_data(), **HTMX).status_code == 404
    assert not Note.objects.exists()


def test_a_note_shared_with_a_structure_and_a_person(client, personas):
    client.force_login(personas.referent)
    response = client.post(
        url(personas),
        note_data(
            visibility="shared", shared_with_structures=[personas.ccas.pk], shared_with_users=[personas.colleague.pk]
        ),
    )
    assert response.status_code == 302
    note = Note.objects.get()
    assert list(note.shared_with_structures.all()) == [personas.ccas]
    assert list(note.shared_with_users.all()) == [personas.colleague]


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"body": ""}, "body", "Écrivez le texte de la note."),
        ({"body": "   "}, "body", "Écrivez le texte de la note."),
        ({"body": "x" * 5001}, "body", "Une note ne peut pas dépasser 5000 caractères."),
        ({"visibility": ""}, "visibility", "Choisissez qui pourra lire la note."),
        (
            {"visibility": "shared"},
            "visibility",
            "Une note partagée nomme au moins un service, une structure ou une personne.",
        ),
        (
            {"visibility": "followers", "is_sensitive": "on"},
            "visibility",
            "Une note sensible n&#x27;est lue que par les personnes, structures ou services nommés : choisissez "
            "« Privée » ou « Partagée ».",
        ),
    ],
)
def test_note_errors_show_at_the_field_in_french(client, personas, data, field, message):
    client.force_login(personas.referent)
    response = client.post(url(personas), note_data(**data))
    html = response.content.decode()
    assert response.status_code == 200
    assert f'id="id_{field}_error"><p class="mb-0">{message}</p>' in html
    assert not Note.objects.exists()


def test_the_typed_text_is_kept_when_the_form_comes_back(client, personas):
    client.force_login(personas.referent)
    response = client.post(url(personas), note_data(visibility="shared", body="Texte à garder"))
    assert ">\nTexte à garder</textarea>" in response.content.decode()


def test_readers_picked_before_choosing_private_are_dropped(client, personas):
    client.force_login(personas.referent)
    client.post(url(personas), note_data(visibility="private", shared_with_structures=[personas.ccas.pk]))
    note = Note.objects.get()
    assert note.visibility == "private"
    assert not note.shared_with_structures.exists()


def test_the_readers_offered(client, personas):
    """The pickers search the form's own querysets: a sensitive structure is offered to its own people only,
    and shown as « Structure partenaire » in the labels of its people to everyone else."""
    clinic = StructureFactory(name="Centre d'addictologie", department=personas.social, is_sensitive=True)
    member(Role.REFERENT, structure=clinic, username="soignant", first_name="Simon", last_name="Soin")
    client.force_login(personas.referent)
    response = client.get(url(personas))
    form = response.context["form"]
    assert "addictologie" not in response.content.decode()
    assert clinic not in form["shared_with_structures"].field.queryset
    assert personas.auditor not in form["shared_with_users"].field.queryset
    assert personas.referent not in form["shared_with_users"].field.queryset
    search = reverse("casework:note_recipients_search", args=[personas.file.public_id])
    people = client.get(search, {"champ": "shared_with_users", "recherche_shared_with_users": "soin"})
    assert "Soin Simon – Référent·e insertion – Structure partenaire" in people.content.decode()
    structures = client.get(search, {"champ": "shared_with_structures", "recherche_shared_with_structures": "addicto"})
    assert "addictologie" not in structures.content.decode()
    MembershipFactory(user=personas.referent, role=Role.REFERENT, structure=clinic)
    personas.referent.__dict__.pop("active_memberships", None)
    structures = client.get(search, {"champ": "shared_with_structures", "recherche_shared_with_structures": "addicto"})
    assert "Centre d&#x27;addictologie" in structures.content.decode()


# --- Personal data -------------------------------------------------------------------------------


def test_health_words_are_warned_about_then_saved_once_reviewed(client, personas):
    client.force_login(personas.referent)
    data = note_data(body="Suivi en psychiatrie, dossier MDPH déposé.")
    response = client.post(url(personas), data)
    html = response.content.decode()
    assert response.status_code == 200
    assert "Avant d'enregistrer : ce texte contient peut-être des données à protéger" in html
    assert "« psychiatrie », « MDPH »" in html
    assert "Cochez « Information sensible »" in html
    assert (
        '<input type="checkbox" class="form-check-input" name="confirm_personal_data" id="id_confirm_personal_data"'
        in html
    )
    assert 'id="id_confirm_personal_data_error"' in html
    assert ">\nSuivi en psychiatrie, dossier MDPH déposé.</textarea>" in html
    assert not Note.objects.exists()

    digest = response.context["form"].personal_data_digest
    assert f'name="personal_data_reviewed" value="{digest}"' in html
    response = client.post(url(personas), data | {"confirm_personal_data": "on", "personal_data_reviewed": digest})
    assert response.status_code == 302
    assert Note.objects.get().body == "Suivi en psychiatrie, dossier MDPH déposé."


def test_ticking_the_box_without_the_review_saves_nothing(client, personas):
    client.force_login(personas.referent)
    response = client.post(url(personas), note_data(body="Diabète", confirm_personal_data="on"))
    assert response.status_code == 200
    assert not Note.objects.exists()


def test_a_number_typed_after_the_warning_is_warned_about_again(client, personas):
    client.force_login(personas.referent)
    first = client.post(url(personas), note_data(body="Diabète"))
    digest = first.context["form"].personal_data_digest
    response = client.post(
        url(personas),
        note_data(body=f"Diabète. NIR {NIR}", confirm_personal_data="on", personal_data_reviewed=digest),
    )
    assert response.status_code == 200
    assert "numéro de sécurité sociale (NIR)" in response.content.decode()
    assert not Note.objects.exists()


def test_a_sensitive_note_may_hold_health_words_without_warning(client, personas):
    client.force_login(personas.referent)
    response = client.post(url(personas), note_data(body="Hospitalisée en mars.", is_sensitive="on"))
    assert response.status_code == 302
    assert Note.objects.get().is_sensitive


@pytest.mark.parametrize(
    ("body", "warning"),
    [
        (f"Son NIR : {NIR}", "le référentiel de la CNIL pour l&#x27;accompagnement social ne permet pas"),
        (f"RIB {IBAN}", "coordonnées bancaires (IBAN) : « FR76 30… »"),
    ],
)
def test_a_nir_or_an_iban_is_warned_about_even_in_a_sensitive_note(client, personas, body, warning):
    client.force_login(personas.referent)
    response = client.post(url(personas), note_data(body=body, is_sensitive="on"))
    html = response.content.decode()
    assert response.status_code == 200
    assert warning in html
    assert "Supprimez" in html
    assert not Note.objects.exists()


def test_no_warning_for_a_caf_number_a_phone_or_a_date(client, personas):
    client.force_login(personas.referent)
    response = client.post(
        url(personas), note_data(body="Allocataire 1234567, joignable au 06 12 34 56 78, rappel le 12/05/2026.")
    )
    assert response.status_code == 302


# --- The quick-write panel (htmx) ----------------------------------------------------------------


def test_a_note_from_the_panel_returns_a_confirmation_and_an_empty_form(client, personas):
    client.force_login(personas.referent)
    response = client.post(url(personas), note_data(visibility="followers"), **HTMX)
    html = response.content.decode()
    assert response.status_code == 200
    assert '<div id="quick-note">' in html
    assert "Note enregistrée : elle sera lue par toutes les personnes qui suivent le dossier." in html
    assert 'id="quick-note-body"' in html
    assert "démarches en cours" not in html  # the form is empty again
    assert response["HX-Trigger"] == "parcours:entry-saved"
    assert messages_of(response) == []
    assert Note.objects.get().visibility == "followers"


def test_a_note_from_the_panel_with_an_error_comes_back_in_the_panel(client, personas):
    client.force_login(personas.referent)
    response = client.post(url(personas), note_data(body=""), **HTMX)
    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="quick-note-body_error"' in html
    assert "Écrivez le texte de la note." in html
    assert "<html" not in html


def test_a_note_from_the_panel_with_health_words_is_warned_about_in_the_panel(client, personas):
    client.force_login(personas.referent)
    response = client.post(url(personas), note_data(body="Grossesse en cours"), **HTMX)
    html = response.content.decode()
    assert 'id="quick-note-confirm_personal_data"' in html
    assert "« Grossesse »" in html
    digest = response.context["note_form"].personal_data_digest
    response = client.post(
        url(personas),
        note_data(body="Grossesse en cours", confirm_personal_data="on", personal_data_reviewed=digest),
        **HTMX,
    )
    assert "Note enregistrée" in response.content.decode()
    assert Note.objects.count() == 1


def test_without_javascript_the_panel_posts_and_redirects(client, personas):
    client.force_login(personas.referent)
    response = client.post(url(personas), note_data())
    assert response.status_code == 302
