"""The people and structure pickers of the note and sharing forms: their searches (www/views/pickers.py),
the forms' search round without JavaScript, and the choices the forms still check
(casework/forms/pickers.py)."""

import datetime
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role
from audit.models import AuditEvent
from casework.forms.entries import NoteForm
from casework.forms.sharing import ShareForm
from casework.models import Note, Share
from core.search import fold
from tests.accounts.factories import StructureFactory, member
from tests.casework.test_entries_services import personas_sharing_with_recipient  # noqa: F401 (`personas`)

pytestmark = pytest.mark.django_db

NOTE_SEARCH = "casework:note_recipients_search"
SHARE_SEARCH = "casework:share_target_search"
# Each search with the form it answers for and that form's pickers.
PICKERS = [
    (NOTE_SEARCH, NoteForm, "shared_with_users"),
    (NOTE_SEARCH, NoteForm, "shared_with_structures"),
    (SHARE_SEARCH, ShareForm, "person"),
    (SHARE_SEARCH, ShareForm, "structure"),
]
OPTION = re.compile(
    r'<input type="(?:checkbox|radio)" name="(?P<name>\w+)" value="(?P<value>\d+)"[^>]*?(?P<checked> checked)?>'
)


def search(client, personas, url_name, field, term, chosen=()):
    data = {"champ": field, f"recherche_{field}": term}
    if chosen:
        data[field] = list(chosen)
    return client.get(reverse(url_name, args=[personas.file.public_id]), data)


def options(response) -> tuple[list[int], list[int]]:
    """The ids offered in an answer: (chosen, found)."""
    found = [(int(match["value"]), bool(match["checked"])) for match in OPTION.finditer(response.content.decode())]
    return [pk for pk, checked in found if checked], [pk for pk, checked in found if not checked]


def status(response) -> str:
    return re.search(r'hx-swap-oob="innerHTML">([^<]*)</div>', response.content.decode())[1]


# --- Who may search -------------------------------------------------------------------------------


@pytest.mark.parametrize("url_name", [NOTE_SEARCH, SHARE_SEARCH])
def test_anonymous_visitor_is_sent_to_log_in(client, personas, url_name):
    response = search(client, personas, url_name, "structure", "mds")

    assert response.status_code == 302
    assert response["Location"].startswith(f"{reverse('login')}?next=")


@pytest.mark.parametrize("url_name", [NOTE_SEARCH, SHARE_SEARCH])
@pytest.mark.parametrize("persona", ["other", "colleague", "auditor"])
def test_who_may_not_see_the_file_gets_a_404(client, personas, url_name, persona):
    """Another structure's referent, a colleague who does not follow the file, the DPO."""
    client.force_login(getattr(personas, persona))
    field = "shared_with_users" if url_name == NOTE_SEARCH else "person"

    response = search(client, personas, url_name, field, "roux")

    assert response.status_code == 404
    assert "Roux" not in response.content.decode()
    assert options(response) == ([], [])


def test_who_reads_the_file_without_acting_on_it_searches_for_a_note_not_for_a_share(client, personas):
    client.force_login(personas.recipient)  # the file is shared with them

    assert search(client, personas, NOTE_SEARCH, "shared_with_users", "lebon").status_code == 200
    assert search(client, personas, SHARE_SEARCH, "person", "lebon").status_code == 403


# --- What is found ---------------------------------------------------------------------------------


@pytest.fixture
def crowd(personas):
    """People and structures around the personas, in and out of the forms' scopes."""
    gone = member(Role.REFERENT, structure=personas.sud, username="maria", first_name="Maria", last_name="Partie")
    gone.memberships.update(end_date=timezone.localdate() - datetime.timedelta(days=1))
    member(
        Role.REFERENT, structure=personas.sud, username="marc", first_name="Marc", last_name="Marin", is_active=False
    )
    member(Role.DEPARTMENT_ADMIN, structure=personas.nord, username="admin", first_name="Mathis", last_name="Martel")
    member(Role.AUDITOR, structure=personas.sud, username="dpo2", first_name="Marine", last_name="Audit")
    clinic = StructureFactory(name="Centre d'addictologie Marceau", department=personas.social, is_sensitive=True)
    member(Role.REFERENT, structure=clinic, username="soin", first_name="Martine", last_name="Soin")
    StructureFactory(name="Mission locale de Marcq", department=personas.social)


@pytest.mark.usefixtures("crowd")
@pytest.mark.parametrize(("url_name", "form_class", "field"), PICKERS)
@pytest.mark.parametrize("term", ["ma", "ar", "MAR", "in", "co", "nord"])
def test_the_results_are_the_forms_own_choices_that_match(client, personas, url_name, form_class, field, term):
    """Exactly the choices the form accepts (its field's queryset) whose name holds the term."""
    client.force_login(personas.referent)
    queryset = form_class(actor=personas.referent).fields[field].queryset
    names = ("name",) if "structure" in field else ("last_name", "first_name", "username")
    expected = {obj.pk for obj in queryset if fold(term) in fold(" ".join(getattr(obj, name) for name in names))}

    response = search(client, personas, url_name, field, term)

    assert response.status_code == 200
    chosen, found = options(response)
    assert chosen == []
    assert set(found) == expected
    assert len(found) == len(expected)


def test_out_of_scope_people_and_structures_are_never_found(client, personas, crowd):
    client.force_login(personas.referent)

    people = search(client, personas, NOTE_SEARCH, "shared_with_users", "mar").content.decode()
    structures = search(client, personas, NOTE_SEARCH, "shared_with_structures", "mar").content.decode()

    assert "Martin Odile" in people
    assert "Martel Mathis" in people  # a department admin reads files: a note may name them
    for absent in ("Partie Maria", "Marin Marc", "Audit Marine", "Ferrand"):  # ended, inactive, DPO, oneself
        assert absent not in people
    assert "Soin Martine – Référent·e insertion – Structure partenaire" in people
    assert "Mission locale de Marcq" in structures
    assert "addictologie" not in structures and "addictologie" not in people


@pytest.mark.parametrize("term", ["cecile", "Cécile", "CÉCILE", "cÈcIlE", "cas cec", "céc-cas"])
def test_names_are_found_whatever_their_accents_and_case(client, personas, term):
    client.force_login(personas.referent)

    _, found = options(search(client, personas, NOTE_SEARCH, "shared_with_users", term))

    assert found == [personas.recipient.pk]


def test_a_name_typed_with_an_accent_finds_it_written_without(client, personas):
    helene = member(Role.REFERENT, structure=personas.sud, username="hl", first_name="Helene", last_name="Dupre")
    cote = StructureFactory(name="MDS Côte d'Opale", department=personas.social)
    client.force_login(personas.referent)

    assert options(search(client, personas, NOTE_SEARCH, "shared_with_users", "Hélène Dupré"))[1] == [helene.pk]
    assert options(search(client, personas, SHARE_SEARCH, "structure", "cote d'opale"))[1] == [cote.pk]


@pytest.mark.parametrize("term", ["", "c", " c ", "-", "(.*)", "%_"])
def test_a_term_of_less_than_two_letters_finds_nothing(client, personas, term):
    client.force_login(personas.referent)

    response = search(client, personas, NOTE_SEARCH, "shared_with_users", term)

    assert response.status_code == 200
    assert options(response) == ([], [])
    assert status(response) == "Tapez au moins 2 lettres du nom pour chercher."


def test_at_most_twenty_results_and_a_word_to_say_there_are_more(client, personas):
    for index in range(25):
        member(
            Role.REFERENT,
            structure=personas.sud,
            username=f"dup{index}",
            first_name="Jean",
            last_name=f"Dupond{index:02}",
        )
    client.force_login(personas.referent)

    response = search(client, personas, SHARE_SEARCH, "person", "dupond")

    _, found = options(response)
    assert len(found) == 20
    assert status(response) == (
        "Plus de 20 personnes correspondent à « dupond » : les 20 premières sont affichées, précisez la recherche."
    )


def test_what_the_counts_say(client, personas):
    client.force_login(personas.referent)

    assert status(search(client, personas, SHARE_SEARCH, "person", "lebon")) == "Une personne correspond à « lebon »."
    assert (
        status(search(client, personas, SHARE_SEARCH, "structure", "mds")) == "2 structures correspondent à « mds »."
    )
    assert status(search(client, personas, SHARE_SEARCH, "person", "zz")) == "Aucune personne ne correspond à « zz »."


def test_the_chosen_come_back_checked_and_out_of_the_results(client, personas):
    """htmx sends the boxes ticked so far with the term: the answer keeps them, above the results."""
    client.force_login(personas.referent)

    response = search(client, personas, NOTE_SEARCH, "shared_with_users", "in", chosen=[personas.colleague.pk])

    assert options(response) == ([personas.colleague.pk], [personas.other.pk])  # Lebon Colin, Martin Odile
    assert "Personnes choisies" in response.content.decode()


def test_a_single_picker_keeps_one_chosen_and_a_way_to_choose_none(client, personas):
    client.force_login(personas.referent)

    response = search(
        client, personas, SHARE_SEARCH, "person", "in", chosen=[personas.colleague.pk, personas.other.pk]
    )

    html = response.content.decode()
    # The value the field reads (the last one sent, as QueryDict.get gives it); the other is a result again.
    assert options(response) == ([personas.other.pk], [personas.colleague.pk])
    assert '<input type="radio" name="person" value="" class="form-check-input" id="id_person_aucune">' in html


def test_chosen_values_out_of_the_scope_or_malformed_are_left_out(client, personas):
    client.force_login(personas.referent)
    chosen = [
        personas.auditor.pk,
        personas.referent.pk,
        "abc",
        "-1",
        "0",
        "99999999999999999999999",
        personas.colleague.pk,
    ]

    response = search(client, personas, NOTE_SEARCH, "shared_with_users", "", chosen=chosen)

    assert response.status_code == 200
    assert options(response) == ([personas.colleague.pk], [])


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"champ": "inconnu"},
        {"champ": "body"},  # a field of the form, not a picker
        {"champ": "shared_with_departments"},
        {"champ": ["shared_with_users", "x"]},
    ],
)
def test_an_unknown_picker_is_a_400(client, personas, params):
    client.force_login(personas.referent)

    response = client.get(reverse(NOTE_SEARCH, args=[personas.file.public_id]), params)

    assert response.status_code == 400


@pytest.mark.parametrize("term", ["x" * 10_000, "a " * 500, "é" * 200, "\x00ab", "[[:alpha:]]", "a{1,99999}b"])
def test_hostile_terms_answer_a_page(client, personas, term):
    client.force_login(personas.referent)

    response = search(client, personas, NOTE_SEARCH, "shared_with_users", term)

    assert response.status_code == 200


def test_the_search_reads_a_constant_number_of_statements(client, personas):
    member(Role.REFERENT, structure=personas.sud, username="dupond", last_name="Dupond")
    client.force_login(personas.referent)
    search(client, personas, NOTE_SEARCH, "shared_with_users", "dupond")  # warm the session
    with CaptureQueriesContext(connection) as few:
        search(client, personas, NOTE_SEARCH, "shared_with_users", "dupond", chosen=[personas.colleague.pk])
    chosen = []
    for index in range(25):
        structure = StructureFactory(department=personas.social)
        someone = member(Role.REFERENT, structure=structure, username=f"d{index}", last_name=f"Dupond{index}")
        member(Role.SUPERVISOR, structure=structure, username=f"s{index}")
        chosen.append(someone.pk)
    with CaptureQueriesContext(connection) as many:
        response = search(client, personas, NOTE_SEARCH, "shared_with_users", "dupond", chosen=chosen[:5])

    assert len(options(response)[1]) == 20
    assert len(many) == len(few)
    # The picker's own: the chosen people, then those found, each with the memberships of their labels.
    people = 'SELECT "accounts_user"."id", "accounts_user"."username", "accounts_user"."first_name", "accounts_user"'
    labels = '"accounts_structure"."name", "accounts_structure"."is_sensitive" FROM "accounts_membership" INNER JOIN'
    people = [query for query in many.captured_queries if query["sql"].startswith(people)]
    memberships = [query for query in many.captured_queries if labels in query["sql"]]
    assert (len(people), len(memberships)) == (2, 2)


def test_the_search_is_not_recorded_in_the_audit_trail(client, personas):
    """It reads staff names, the same for every file, and nothing of the file (www/views/pickers.py)."""
    client.force_login(personas.referent)
    before = AuditEvent.objects.count()

    search(client, personas, NOTE_SEARCH, "shared_with_users", "lebon")
    search(client, personas, SHARE_SEARCH, "structure", "ccas")

    assert AuditEvent.objects.count() == before


def test_the_answer_names_staff_and_structures_only(client, personas):
    client.force_login(personas.referent)

    html = search(client, personas, NOTE_SEARCH, "shared_with_users", personas.file.last_name[:4]).content.decode()

    for personal in (personas.file.last_name, personas.file.first_name, personas.file.allocataire_number):
        assert personal not in html


# --- The forms ------------------------------------------------------------------------------------


def note_url(personas):
    return reverse("casework:note_create", args=[personas.file.public_id])


def share_url(personas):
    return reverse("casework:share_create", args=[personas.file.public_id])


def test_a_note_names_only_people_of_its_scope(client, personas):
    """The picker shows only what may be chosen; the form still checks what is posted."""
    client.force_login(personas.referent)
    data = {
        "body": "Relais",
        "visibility": "shared",
        "shared_with_users": [personas.colleague.pk, personas.auditor.pk],
    }

    response = client.post(note_url(personas), data)

    html = response.content.decode()
    assert response.status_code == 200
    message = "Choisissez des personnes parmi celles que la recherche propose."
    assert f'id="id_shared_with_users_error"><p class="mb-0">{message}</p>' in html
    assert 'aria-invalid="true"' in html.split('id="id_shared_with_users_recherche"')[1].split(">")[0]
    assert not Note.objects.exists()


def test_a_share_names_only_a_structure_of_its_scope(client, personas):
    clinic = StructureFactory(name="Centre d'addictologie", department=personas.social, is_sensitive=True)
    client.force_login(personas.referent)
    data = {"target_kind": "structure", "structure": clinic.pk, "reason": "Relais"}

    response = client.post(share_url(personas), data)

    assert response.context["form"].errors == {
        "structure": ["Choisissez une structure parmi celles que la recherche propose."]
    }
    assert not Share.objects.filter(shared_with_structure=clinic).exists()


def test_without_javascript_a_note_searches_then_chooses(client, personas):
    """« Rechercher » posts the form: it comes back as typed, with the results, without errors."""
    client.force_login(personas.referent)
    typed = {"body": "Texte à garder", "visibility": "shared", "recherche_shared_with_users": "lebon"}

    response = client.post(note_url(personas), typed | {"rechercher": "shared_with_users"})

    html = response.content.decode()
    assert response.status_code == 200
    assert not Note.objects.exists()
    assert "invalid-feedback" not in html and "is-invalid" not in html
    assert ">\nTexte à garder</textarea>" in html
    assert 'value="shared" class="form-check-input" id="id_visibility_1" required checked>' in html
    assert options(response) == ([], [personas.colleague.pk])
    assert "Une personne correspond à « lebon »." in html

    response = client.post(note_url(personas), typed | {"shared_with_users": [personas.colleague.pk]})

    assert response.status_code == 302
    assert list(Note.objects.get().shared_with_users.all()) == [personas.colleague]


def test_without_javascript_a_search_round_searches_every_picker_with_a_term(client, personas):
    """Enter in any field presses the form's first « Rechercher »: each picker with a term shows results."""
    client.force_login(personas.referent)
    data = {
        "body": "Relais",
        "visibility": "shared",
        "shared_with_users": [personas.colleague.pk],
        "recherche_shared_with_users": "martin",
        "recherche_shared_with_structures": "ccas",
        "rechercher": "shared_with_structures",
    }

    response = client.post(note_url(personas), data)

    assert options(response) == ([personas.colleague.pk], [personas.ccas.pk, personas.other.pk])


def test_without_javascript_a_share_searches_then_chooses(client, personas):
    client.force_login(personas.referent)
    typed = {"target_kind": "person", "reason": "Relais", "recherche_person": "martin"}
    before = AuditEvent.objects.count()

    response = client.post(share_url(personas), typed | {"person": "", "rechercher": "person"})

    assert response.status_code == 200
    assert not Share.objects.exclude(shared_with_user=personas.recipient).exists()
    assert "invalid-feedback" not in response.content.decode()
    assert options(response) == ([], [personas.other.pk])
    # A POST of the share form is recorded whatever its outcome (audit.trail.AUDITED_URLS), the search too.
    assert AuditEvent.objects.count() == before + 1

    response = client.post(share_url(personas), typed | {"person": personas.other.pk})

    assert response.status_code == 302
    assert Share.objects.filter(shared_with_user=personas.other).exists()


def test_a_note_being_corrected_shows_its_readers_chosen(client, personas):
    client.force_login(personas.referent)
    data = {"body": "Relais", "visibility": "shared", "shared_with_users": [personas.colleague.pk]}
    client.post(note_url(personas), data | {"shared_with_structures": [personas.ccas.pk]})
    note = Note.objects.get()

    response = client.get(
        reverse("casework:entry_correct", args=[personas.file.public_id, "note", note.public_id]),
    )

    assert response.status_code == 200
    assert options(response) == ([personas.ccas.pk, personas.colleague.pk], [])


def test_the_form_pages_read_no_list_of_people_or_structures(client, personas):
    """Only the chosen values are read: the form page's statements do not grow with the people."""
    client.force_login(personas.referent)
    client.get(note_url(personas))  # warm the session
    with CaptureQueriesContext(connection) as few:
        client.get(note_url(personas))
    for index in range(10):
        member(Role.REFERENT, structure=StructureFactory(department=personas.social), username=f"x{index}")
    with CaptureQueriesContext(connection) as many:
        response = client.get(note_url(personas))

    assert len(many) == len(few)
    assert options(response) == ([], [])
