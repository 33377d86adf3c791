"""Notes reach exactly the people the rules name, in the HTML itself, on every page of the app.

One file holds a note of each kind, each with a marker of its own in its body. For every persona, every
page of the app that answers a GET (walked from the URL resolver, so a new page is covered as soon as
it exists) is fetched: the file page shows exactly the notes the persona may read (docs/permissions.md,
"Notes"), and no marker ever appears on any other page, nor on the file page of someone else.
"""

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role
from audit.models import AuditEvent, AuditExport
from audit.trail import audit_record
from casework.models import Barrier, Cover, Note, Orientation, ReorientationRequest
from casework.services import beneficiary_share
from imports.models import BeneficiaryImport
from team.models import Notification
from tests.accounts.factories import member
from tests.casework.factories import (
    ActionFactory,
    BarrierFactory,
    ContractFactory,
    DiagnosticFactory,
    NoteFactory,
    ObjectiveFactory,
    StepFactory,
)
from tests.test_permission_matrix import app_urls

pytestmark = pytest.mark.django_db

# The page that renders notes. Every other page must show none.
NOTES_PAGE = "casework:file_detail"

PRIVATE = "MARQUEUR-NOTE-PRIVEE"
SUPERVISOR_PRIVATE = "MARQUEUR-NOTE-PRIVEE-DU-RESPONSABLE"
FOLLOWERS = "MARQUEUR-NOTE-TOUS-INTERVENANTS"
DEPARTMENT = "MARQUEUR-NOTE-SERVICE-LOGEMENT"
STRUCTURE = "MARQUEUR-NOTE-STRUCTURE-MDS-SUD"
SENSITIVE_PERSON = "MARQUEUR-NOTE-SENSIBLE-UNE-PERSONNE"
SENSITIVE_STRUCTURE = "MARQUEUR-NOTE-SENSIBLE-MDS-SUD"
MARKERS = (PRIVATE, SUPERVISOR_PRIVATE, FOLLOWERS, DEPARTMENT, STRUCTURE, SENSITIVE_PERSON, SENSITIVE_STRUCTURE)

# Who reads which note on the file page; everyone else (and every other page) shows none of them.
# The file is shared with the MDS Sud, with the housing department and with the recipient personally.
READERS = {
    "anonymous": set(),
    "referent": {PRIVATE, FOLLOWERS, DEPARTMENT, STRUCTURE, SENSITIVE_PERSON, SENSITIVE_STRUCTURE},  # the author
    "colleague": set(),  # same structure, but not the referent: does not see the file at all
    "supervisor": {SUPERVISOR_PRIVATE, FOLLOWERS},  # sensitive notes pass supervisors by
    "other": {FOLLOWERS, STRUCTURE, SENSITIVE_STRUCTURE},
    "other_supervisor": {FOLLOWERS, STRUCTURE, SENSITIVE_STRUCTURE},
    "housing_worker": {FOLLOWERS, DEPARTMENT},
    "recipient": {FOLLOWERS, SENSITIVE_PERSON},
    "admin": set(),
    "auditor": set(),
}


@pytest.fixture
def personas(personas):
    """The shared personas; the file shared with the MDS Sud (`personas.share`), with the housing department
    and with the CCAS's referent personally, and holding one note of each kind (`personas.notes`, by marker)."""
    p = personas
    author = p.referent
    p.share = beneficiary_share(actor=author, beneficiary=p.file, structure=p.sud, reason="Suivi conjoint")
    beneficiary_share(actor=author, beneficiary=p.file, department=p.housing, reason="Expulsion locative")
    beneficiary_share(actor=author, beneficiary=p.file, user=p.recipient, reason="Relais")

    def note(marker, *, by=author, visibility=Note.Visibility.SHARED, sensitive=False, **shared_with):
        created = NoteFactory(
            beneficiary=p.file,
            author=by,
            author_structure=by.memberships.get().structure,
            body=f"{marker} : texte de la note.",
            visibility=visibility,
            is_sensitive=sensitive,
        )
        for relation, targets in shared_with.items():
            getattr(created, f"shared_with_{relation}").set(targets)
        p.notes[marker] = created

    p.notes = {}
    note(PRIVATE, visibility=Note.Visibility.PRIVATE)
    note(SUPERVISOR_PRIVATE, by=p.supervisor, visibility=Note.Visibility.PRIVATE)
    note(FOLLOWERS, visibility=Note.Visibility.FOLLOWERS)
    note(DEPARTMENT, departments=[p.housing])
    note(STRUCTURE, structures=[p.sud])
    note(SENSITIVE_PERSON, sensitive=True, users=[p.recipient])
    note(SENSITIVE_STRUCTURE, sensitive=True, structures=[p.sud])
    return p


def user_of(personas, persona):
    return None if persona == "anonymous" else getattr(personas, persona)


def pages(file, share) -> dict[str, str]:
    """Every URL of the app, with the file (and one of its shares and entries) where the URL names them.

    Entry URLs get a step, an objective, a contract...: the pages of a note itself (its own page,
    correction, withdrawal) show its text to who may read it, by design: they get a note without a
    marker here, and the marked notes' own pages have their test below."""
    author = file.current_referent
    objective = ObjectiveFactory(beneficiary=file, author=author)
    diagnostic = DiagnosticFactory(beneficiary=file, author=author)
    BarrierFactory(diagnostic=diagnostic, kind=Barrier.Kind.MOBILITY)
    request = ReorientationRequest.objects.create(
        beneficiary=file,
        proposed_track=Orientation.Track.PROFESSIONAL,
        proposed_organisme=file.current_structure,
        reason="Projet professionnel",
        requested_by=author,
    )
    known = {
        "public_id": file.public_id,
        "share_id": share.public_id,
        "entry_id": StepFactory(beneficiary=file, author=author).public_id,
        "contract_id": ContractFactory(beneficiary=file, author=author).public_id,
        "request_id": request.public_id,
        "objective_id": objective.public_id,
        "action_id": ActionFactory(objective=objective, author=author).public_id,
        "diagnostic_id": diagnostic.public_id,
        "note_id": NoteFactory(beneficiary=file, author=author, visibility=Note.Visibility.FOLLOWERS).public_id,
        # The audit trail's pages: an event about the file, an export (of its author: others get a 404).
        "event_id": audit_record(action=AuditEvent.Action.VIEW_FILE, user=author, beneficiary=file).pk,
        "export_id": AuditExport.objects.create(requested_by=author, format=AuditExport.Format.CSV).public_id,
        # Supervision: a cover of the referent, a notice for them.
        "cover_id": Cover.objects.create(
            absent_referent=author,
            covering_referent=member(Role.REFERENT, structure=file.current_structure),
            structure=file.current_structure,
            starts_on=timezone.localdate(),
            ends_on=timezone.localdate(),
            reason="Congé",
            created_by=author,
        ).public_id,
        "import_id": BeneficiaryImport.objects.create(
            uploaded_by=author,
            original_name="caf.csv",
            file_name="caf.csv",
            file_size=1,
            sha256="0" * 64,
            format="csv",
            dry_run=False,
            status="done",
        ).public_id,
        "notification_id": Notification.objects.create(
            recipient=author, kind=Notification.Kind.FILE_ASSIGNED, beneficiary=file, message="Dossier confié"
        ).public_id,
    }
    urls = {}
    for name, route in app_urls().items():
        kwargs = {key: value for key, value in known.items() if f":{key}>" in route}
        if "<slug:kind>" in route:
            kwargs["kind"] = "etape" if "saisies" in route else Barrier.Kind.MOBILITY
        assert route.count("<") == len(kwargs), f"{name}: tell this test what to put in {route}"
        urls[name] = reverse(name, kwargs=kwargs)
    return urls


def body(response) -> str:
    """The page's text, streamed (a CSV export) or not."""
    if response.streaming:
        return b"".join(response.streaming_content).decode()
    return response.content.decode()


def markers_in(html: str) -> set[str]:
    # Longer markers first: SUPERVISOR_PRIVATE contains PRIVATE.
    found, rest = set(), html
    for marker in sorted(MARKERS, key=len, reverse=True):
        if marker in rest:
            found.add(marker)
            rest = rest.replace(marker, "")
    return found


@pytest.mark.parametrize("persona", list(READERS))
def test_each_note_is_shown_exactly_to_the_people_the_rules_name(client, personas, persona):
    user = user_of(personas, persona)
    if user is not None:
        client.force_login(user)

    seen = {name: markers_in(body(client.get(url))) for name, url in pages(personas.file, personas.share).items()}

    assert seen.pop(NOTES_PAGE) == READERS[persona]
    assert seen == dict.fromkeys(seen, set()), "notes shown outside the file page"


def test_the_author_sees_the_notes_on_the_file_page(client, personas):
    """A guard on the test itself: the markers are found where the notes are rendered."""
    client.force_login(personas.referent)

    response = client.get(reverse(NOTES_PAGE, kwargs={"public_id": personas.file.public_id}))

    assert response.status_code == 200
    assert markers_in(response.content.decode()) == READERS["referent"]


@pytest.mark.parametrize("persona", list(READERS))
def test_a_note_on_its_own_page_is_shown_exactly_to_its_readers(client, personas, persona):
    user = user_of(personas, persona)
    if user is not None:
        client.force_login(user)

    for marker, note in personas.notes.items():
        response = client.get(reverse("casework:note_detail", args=[personas.file.public_id, note.public_id]))
        found = markers_in(response.content.decode())
        if marker in READERS[persona]:
            assert response.status_code == 200, marker
            assert found == {marker}
        else:
            assert response.status_code == (302 if persona == "anonymous" else 404), marker
            assert found == set(), marker
