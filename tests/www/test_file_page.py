"""The file page: who may open it (404 otherwise), what each person sees on it, query count."""

import datetime
import uuid

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role
from casework.models import Appointment, Contract, Note, Orientation, ReorientationRequest, Revision, Step
from casework.services import beneficiary_share, emergency_access_open, share_end
from tests.accounts.factories import StructureFactory, UserFactory, member
from tests.casework.factories import (
    ActionFactory,
    AppointmentFactory,
    BarrierFactory,
    BeneficiaryFactory,
    ContractFactory,
    DiagnosticFactory,
    HouseholdMemberFactory,
    NoteFactory,
    ObjectiveFactory,
    OrientationFactory,
    StepFactory,
)
from tests.conftest import AUDIT_QUERIES, HEADER_QUERIES, SESSION_QUERIES
from www.views.file import TIMELINE_MORE_TARGET, TIMELINE_PAGE_SIZE

pytestmark = pytest.mark.django_db


def url(file):
    return reverse("casework:file_detail", args=[file.public_id])


def html_for(client, user, file):
    client.force_login(user)
    response = client.get(url(file))
    assert response.status_code == 200
    return response.content.decode()


# --- Who may open the page ---------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["referent", "supervisor"])
def test_referent_and_supervisor_open_the_file(client, personas, persona):
    html = html_for(client, getattr(personas, persona), personas.file)
    assert "ZIDANE Zoé" in html
    assert personas.file.allocataire_number in html and "FT123" in html and "06 39 98 00 01" in html


@pytest.mark.parametrize("persona", ["colleague", "other", "housing_worker", "admin", "auditor"])
def test_people_out_of_scope_get_a_404(client, personas, persona):
    client.force_login(getattr(personas, persona))
    response = client.get(url(personas.file))
    assert response.status_code == 404
    assert "ZIDANE" not in response.content.decode()


def test_unknown_file_is_the_same_404(client, personas):
    client.force_login(personas.referent)
    assert client.get(reverse("casework:file_detail", args=[uuid.uuid4()])).status_code == 404


def test_anonymous_is_sent_to_the_login_page(client, personas):
    response = client.get(url(personas.file))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_the_page_is_read_only(client, personas):
    client.force_login(personas.referent)
    assert client.post(url(personas.file)).status_code == 405


def test_the_page_is_not_cached(client, personas):
    client.force_login(personas.referent)
    assert "no-store" in client.get(url(personas.file))["Cache-Control"]


def test_user_it_was_shared_with_opens_it_but_may_not_share_it_on(client, personas):
    beneficiary_share(actor=personas.referent, beneficiary=personas.file, user=personas.other, reason="Relais emploi")
    html = html_for(client, personas.other, personas.file)
    assert "ZIDANE Zoé" in html
    assert reverse("casework:share_create", args=[personas.file.public_id]) not in html
    assert "Arrêter le partage" not in html


@pytest.mark.parametrize("persona", ["referent", "supervisor"])
def test_who_may_act_gets_the_share_button(client, personas, persona):
    html = html_for(client, getattr(personas, persona), personas.file)
    assert reverse("casework:share_create", args=[personas.file.public_id]) in html


# --- Sections ----------------------------------------------------------------------------------


def test_every_section_shows_its_content(client, personas):
    HouseholdMemberFactory(beneficiary=personas.file, first_name="Lina")
    OrientationFactory(beneficiary=personas.file, organisme_referent=personas.nord)
    contract = ContractFactory(beneficiary=personas.file, objectives="OBJECTIF-CONTRAT", author=personas.referent)
    ContractFactory(
        beneficiary=personas.file,
        renews=contract,
        start_date=contract.end_date,
        end_date=contract.end_date + datetime.timedelta(days=180),
        author=personas.referent,
    )
    StepFactory(beneficiary=personas.file, kind=Step.Kind.TRAINING, outcome="RESULTAT-ETAPE", author=personas.referent)
    objective = ObjectiveFactory(beneficiary=personas.file, title="OBJECTIF-EMPLOI", author=personas.referent)
    ActionFactory(objective=objective, title="ACTION-CACES", author=personas.referent)
    AppointmentFactory(
        beneficiary=personas.file, location="LIEU-RDV", with_structure=personas.nord, author=personas.referent
    )
    diagnostic = DiagnosticFactory(beneficiary=personas.file, author=personas.referent)
    BarrierFactory(diagnostic=diagnostic, comment="FREIN-MOBILITE")
    html = html_for(client, personas.referent, personas.file)
    for marker in (
        "Lina",
        "Sociale",
        "OBJECTIF-CONTRAT",
        "Renouvelle le contrat du",
        "RESULTAT-ETAPE",
        "OBJECTIF-EMPLOI",
        "ACTION-CACES",
        "LIEU-RDV",
        "FREIN-MOBILITE",
        "Droits ouverts",
        "Rita Ferrand",
    ):
        assert marker in html, marker


def test_referent_history_is_listed_newest_first(client, personas):
    from casework.services import beneficiary_assign_referent

    beneficiary_assign_referent(
        actor=personas.supervisor,
        beneficiary=personas.file,
        referent=personas.colleague,
        structure=personas.nord,
        reason="CONGE",
    )
    html = html_for(client, personas.supervisor, personas.file)
    history = html[html.index("Historique") :]
    assert history.index("CONGE") < history.index("Rita Ferrand")


# --- Sensitive structures ----------------------------------------------------------------------


@pytest.fixture
def sensitive(personas):
    """A file followed in a sensitive structure and shared with a referent of another structure."""
    csapa = StructureFactory(name="CSAPA Le Relais", is_sensitive=True, department=personas.social)
    worker = member(Role.REFERENT, structure=csapa, username="csapa")
    file = BeneficiaryFactory(referent=worker, last_name="Petit")
    OrientationFactory(beneficiary=file, organisme_referent=csapa)
    StepFactory(beneficiary=file, author=worker, author_structure=csapa)
    AppointmentFactory(beneficiary=file, with_structure=csapa, author=worker)
    NoteFactory(beneficiary=file, author=worker, author_structure=csapa, visibility=Note.Visibility.FOLLOWERS)
    beneficiary_share(actor=worker, beneficiary=file, user=personas.other, reason="Relais emploi")
    return type("Sensitive", (), {"structure": csapa, "worker": worker, "file": file})()


def test_sensitive_structure_is_hidden_from_outsiders(client, personas, sensitive):
    html = html_for(client, personas.other, sensitive.file)
    assert "PETIT" in html
    assert "CSAPA" not in html
    assert "Structure partenaire" in html


def test_sensitive_structure_is_named_to_its_members(client, personas, sensitive):
    html = html_for(client, sensitive.worker, sensitive.file)
    assert "CSAPA Le Relais" in html


# --- Notes -------------------------------------------------------------------------------------


@pytest.fixture
def notes(personas):
    beneficiary_share(
        actor=personas.referent, beneficiary=personas.file, structure=personas.sud, reason="Suivi conjoint"
    )
    beneficiary_share(
        actor=personas.referent, beneficiary=personas.file, department=personas.housing, reason="Logement"
    )
    NoteFactory(beneficiary=personas.file, author=personas.referent, body="NOTE-PRIVEE")
    NoteFactory(
        beneficiary=personas.file, author=personas.referent, visibility=Note.Visibility.FOLLOWERS, body="NOTE-TOUS"
    )
    to_housing = NoteFactory(
        beneficiary=personas.file, author=personas.referent, visibility=Note.Visibility.SHARED, body="NOTE-LOGEMENT"
    )
    to_housing.shared_with_departments.add(personas.housing)
    sensitive = NoteFactory(
        beneficiary=personas.file,
        author=personas.referent,
        visibility=Note.Visibility.SHARED,
        is_sensitive=True,
        body="NOTE-SANTE",
    )
    sensitive.shared_with_users.add(personas.other)


@pytest.mark.parametrize(
    ("persona", "readable"),
    [
        ("referent", {"NOTE-PRIVEE", "NOTE-TOUS", "NOTE-LOGEMENT", "NOTE-SANTE"}),
        ("supervisor", {"NOTE-TOUS"}),
        ("other", {"NOTE-TOUS", "NOTE-SANTE"}),
        ("housing_worker", {"NOTE-TOUS", "NOTE-LOGEMENT"}),
    ],
)
def test_each_person_reads_only_the_notes_meant_for_them(client, personas, notes, persona, readable):
    html = html_for(client, getattr(personas, persona), personas.file)
    for marker in ("NOTE-PRIVEE", "NOTE-TOUS", "NOTE-LOGEMENT", "NOTE-SANTE"):
        assert (marker in html) == (marker in readable), marker


def test_notes_carry_their_visibility_and_sensitivity(client, personas, notes):
    html = html_for(client, personas.referent, personas.file)
    assert "Note privée" in html and "Note partagée" in html and "Note pour tous les intervenants" in html
    assert ">sensible<" in html
    assert "Partagée avec : Habitat" in html and "Partagée avec : Odile Martin" in html


# --- Shares ------------------------------------------------------------------------------------


def test_shares_are_listed_with_their_target_and_state(client, personas):
    beneficiary_share(actor=personas.referent, beneficiary=personas.file, user=personas.other, reason="MOTIF-PERSONNE")
    beneficiary_share(
        actor=personas.referent, beneficiary=personas.file, structure=personas.habitat, reason="MOTIF-STRUCT"
    )
    ended = beneficiary_share(
        actor=personas.referent, beneficiary=personas.file, department=personas.housing, reason="MOTIF-SERVICE"
    )
    share_end(actor=personas.referent, share=ended)
    html = html_for(client, personas.referent, personas.file)
    for marker in ("MOTIF-PERSONNE", "Odile Martin", "MOTIF-STRUCT", "Service logement", "MOTIF-SERVICE", "Habitat"):
        assert marker in html, marker
    assert "terminé" in html
    # One "stop" form per active share, none for the ended one.
    assert html.count("Arrêter le partage") == 2
    assert reverse("casework:share_end", args=[personas.file.public_id, ended.public_id]) not in html
    assert "csrfmiddlewaretoken" in html


def test_author_of_a_share_may_end_it_after_losing_the_file(client, personas):
    from casework.services import beneficiary_assign_referent

    share = beneficiary_share(actor=personas.referent, beneficiary=personas.file, user=personas.other, reason="Relais")
    beneficiary_share(
        actor=personas.referent, beneficiary=personas.file, structure=personas.nord, reason="Passage de relais"
    )
    beneficiary_assign_referent(
        actor=personas.supervisor, beneficiary=personas.file, referent=personas.colleague, structure=personas.nord
    )
    personas.referent.__dict__.pop("active_memberships", None)
    html = html_for(client, personas.referent, personas.file)
    assert reverse("casework:share_create", args=[personas.file.public_id]) not in html
    assert reverse("casework:share_end", args=[personas.file.public_id, share.public_id]) in html


# --- Emergency accesses ------------------------------------------------------------------------


@pytest.fixture
def emergency(personas):
    emergency_access_open(
        actor=personas.other,
        allocataire_number=personas.file.allocataire_number,
        birth_date=personas.file.birth_date,
        reason="MOTIF-URGENCE, personne reçue à l'accueil",
    )


@pytest.mark.parametrize("persona", ["supervisor", "referent"])
def test_supervisor_and_referent_see_emergency_accesses(client, personas, emergency, persona):
    html = html_for(client, getattr(personas, persona), personas.file)
    assert "Accès exceptionnels à ce dossier" in html
    assert "MOTIF-URGENCE" in html and "Odile Martin" in html and "MDS Sud" in html


def test_who_opened_in_emergency_reads_the_file_but_not_the_accesses(client, personas, emergency):
    html = html_for(client, personas.other, personas.file)
    assert "ZIDANE Zoé" in html
    assert "MOTIF-URGENCE" not in html


# --- Query count -------------------------------------------------------------------------------


def _fill(personas, count, file=None):
    """`count` steps (each corrected once, with its previous version), notes (some shared, with M2M rows),
    appointments, contracts and reorientation requests on the file (the shared file unless given), and one of
    every other kind."""
    file = file or personas.file
    author, today, now = personas.referent, timezone.localdate(), timezone.now()
    steps = Step.objects.bulk_create(
        Step(
            beneficiary=file,
            kind=Step.Kind.OTHER,
            date=today,
            author=author,
            author_structure=personas.nord,
            outcome=f"Résultat corrigé {i}",
            version=2,
            corrected_at=now,
        )
        for i in range(count)
    )
    step_type = ContentType.objects.get_for_model(Step)
    Revision.objects.bulk_create(
        Revision(
            content_type=step_type,
            object_id=step.pk,
            beneficiary=file,
            version=1,
            data={"kind": "other", "date": today.isoformat(), "status": "done", "outcome": f"Premier jet {i}"},
            action=Revision.Action.CORRECTED,
            changed_by=author,
            changed_at=now,
        )
        for i, step in enumerate(steps)
    )
    ReorientationRequest.objects.bulk_create(
        ReorientationRequest(
            beneficiary=file,
            proposed_track=Orientation.Track.PROFESSIONAL,
            proposed_organisme=personas.sud,
            reason="Projet professionnel",
            requested_by=author,
            status=ReorientationRequest.Status.REFUSED,
            decided_by=personas.supervisor,
            decided_at=now,
            decision_reason="Pas encore",
        )
        for _ in range(count)
    )
    Appointment.objects.bulk_create(
        Appointment(
            beneficiary=file,
            scheduled_at=timezone.now() - datetime.timedelta(days=i),
            with_user=author,
            with_structure=personas.nord,
            author=author,
        )
        for i in range(count)
    )
    Contract.objects.bulk_create(
        Contract(
            beneficiary=file,
            kind=Contract.Kind.CER,
            status=Contract.Status.SIGNED,
            start_date=today - datetime.timedelta(days=400),
            end_date=today - datetime.timedelta(days=200),
            signed_on=today - datetime.timedelta(days=400),
            author=author,
        )
        for _ in range(count)
    )
    notes = Note.objects.bulk_create(
        Note(
            beneficiary=file,
            author=author,
            author_structure=personas.nord,
            body=f"Note {i}",
            visibility=Note.Visibility.SHARED if i % 2 else Note.Visibility.FOLLOWERS,
        )
        for i in range(count)
    )
    shared = [note for note in notes if note.visibility == Note.Visibility.SHARED]
    Note.shared_with_structures.through.objects.bulk_create(
        Note.shared_with_structures.through(note=note, structure=personas.nord) for note in shared
    )
    Note.shared_with_departments.through.objects.bulk_create(
        Note.shared_with_departments.through(note=note, department=personas.social) for note in shared
    )
    Note.shared_with_users.through.objects.bulk_create(
        Note.shared_with_users.through(note=note, user=personas.supervisor) for note in shared
    )
    objective = ObjectiveFactory(beneficiary=file, author=author)
    ActionFactory(objective=objective, author=author)
    BarrierFactory(diagnostic=DiagnosticFactory(beneficiary=file, author=author))
    HouseholdMemberFactory(beneficiary=file)
    OrientationFactory(beneficiary=file, organisme_referent=personas.nord)
    beneficiary_share(actor=author, beneficiary=file, user=personas.other, reason="Relais")
    emergency_access_open(
        actor=personas.housing_worker,
        allocataire_number=file.allocataire_number,
        birth_date=file.birth_date,
        reason="Accueil de la personne sans rendez-vous",
    )


# User, SAVEPOINT (the request's transaction), the user's memberships, the file; then one query per kind
# of object the page shows (www.file_page: household, assignments, orientations, reorientation requests,
# contracts, steps, objectives, actions, appointments, the next appointment, diagnostics, barriers,
# readable notes, the departments, structures and people they are shared with, shares, the imports'
# changes, emergency accesses for who may see them), the covers of the file's referents, the previous
# versions of the entries shown; RELEASE SAVEPOINT; then the session's save (its read is from the cache).
# On PostgreSQL outside tests, the two SAVEPOINT lines are not sent. With core.db_bundle (issue 8 to 26),
# the page's data was one statement (8 in all here); before issue 8, 27 (one query a kind, no window).
FILE_PAGE_MAX_QUERIES = 26 + SESSION_QUERIES + AUDIT_QUERIES + HEADER_QUERIES


@pytest.mark.parametrize("count", [50, 500])
@pytest.mark.parametrize("persona", ["referent", "supervisor"])
def test_file_page_runs_a_constant_number_of_queries(client, personas, django_assert_max_num_queries, count, persona):
    _fill(personas, count)
    client.force_login(getattr(personas, persona))
    with django_assert_max_num_queries(FILE_PAGE_MAX_QUERIES):
        response = client.get(url(personas.file))
    html = response.content.decode()
    assert response.status_code == 200
    # Everything is counted (6 kinds by `count`, and one of 7 others); the newest page is shown.
    total = 6 * count + 7
    assert f"{total} événements" in html
    assert html.count('<li class="mb-2" id="evenement-') == TIMELINE_PAGE_SIZE
    assert f"Afficher les événements plus anciens ({total - TIMELINE_PAGE_SIZE})" in html
    assert f"Note {count - 1}<" in html

    # The last page of a filtered timeline, with the previous versions of every step, as cheaply.
    pages = -(-2 * count // TIMELINE_PAGE_SIZE)
    with django_assert_max_num_queries(FILE_PAGE_MAX_QUERIES):
        response = client.get(url(personas.file) + f"?type=step&type=note&page={pages}")
    html = response.content.decode()
    assert "Résultat corrigé 0<" in html and "Premier jet 0<" in html
    assert html.count('<li class="mb-2" id="evenement-') == 2 * count - (pages - 1) * TIMELINE_PAGE_SIZE


def _statements(client, path, **headers) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path, headers=headers)
    assert response.status_code == 200
    return [query["sql"] for query in captured.captured_queries if "SAVEPOINT" not in query["sql"]]


@pytest.mark.parametrize("persona", ["referent", "supervisor"])
def test_file_page_sends_as_many_statements_with_1_entry_of_every_kind_as_with_500(client, personas, persona):
    big = BeneficiaryFactory(referent=personas.referent, last_name="Grand")
    _fill(personas, 1)
    _fill(personas, 500, file=big)
    client.force_login(getattr(personas, persona))
    sent = {}
    for file in (personas.file, big):
        sent[file] = [
            _statements(client, url(file)),
            # The htmx partials: the timeline filtered by kind, then its next items.
            _statements(client, url(file) + "?type=note", **{"HX-Request": "true"}),
            _statements(client, url(file) + "?page=2", **{"HX-Request": "true", "HX-Target": TIMELINE_MORE_TARGET}),
        ]
    for small_page, big_page in zip(sent[personas.file], sent[big], strict=True):
        assert len(small_page) == len(big_page)
    (full, partial, more) = sent[big]
    # User, memberships, file, the page's data (21), header, audit (two), session save (the session is read
    # from the cache); the partials have no header.
    assert len(full) == 28 and len(partial) == len(more) == 27


@pytest.mark.parametrize("corrected", [False, True])
def test_note_page_sends_a_constant_number_of_statements(client, personas, corrected):
    note = NoteFactory(beneficiary=personas.file, author=personas.referent, visibility=Note.Visibility.SHARED)
    note.shared_with_users.add(personas.supervisor, personas.colleague)
    note.shared_with_structures.add(personas.sud, personas.habitat)
    if corrected:
        Note.objects.filter(pk=note.pk).update(version=3, corrected_at=timezone.now())
        Revision.objects.bulk_create(
            Revision(
                content_type=ContentType.objects.get_for_model(Note),
                object_id=note.pk,
                beneficiary=personas.file,
                version=version,
                data={"body": f"Version {version}"},
                action=Revision.Action.CORRECTED,
                changed_by=personas.referent,
                changed_at=timezone.now(),
            )
            for version in (1, 2)
        )
    client.force_login(personas.referent)
    path = reverse("casework:note_detail", args=[personas.file.public_id, note.public_id])
    # User, memberships, file, the note, the departments, structures and people it is shared with, its
    # previous versions when it has some, header, audit (two), session save (the session is read from the
    # cache). With core.db_bundle (issue 8 to 26), the note and what it shows were one statement (9 in all).
    assert len(_statements(client, path)) == (12 if corrected else 11)
    html = client.get(path).content.decode()
    assert "MDS Sud" in html and "Service logement" in html
    assert ("Versions précédentes (2)" in html) is corrected


def test_an_unrelated_user_is_not_helped_by_being_superuser(client, personas):
    boss = UserFactory(is_superuser=True, is_staff=True)
    client.force_login(boss)
    assert client.get(url(personas.file)).status_code == 404
