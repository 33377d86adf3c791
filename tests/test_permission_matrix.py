"""The permission matrix: every URL of the app, for every persona, in every situation of a file.

The URL resolver is walked, so that a new URL without a rule in RULES fails
`test_every_url_of_the_app_has_a_rule` (and a rule for a URL that no longer exists fails it too). Each
(URL, method, persona, scenario) is its own test. The rules are those of docs/permissions.md:

- a file out of the user's scope is a 404 on every URL that names it, never a 403, a 200 or a redirect;
- a file the user may read but not act on is a 403 on the URLs that act on it;
- auditors read no files (caseload 403); only referents may ask for an emergency access;
- anonymous visitors are sent to the login page (LoginRequiredMiddleware), whatever the URL.

Django's admin is left to its own test below (it is for department admins only, accounts/admin_site.py).
"""

import datetime
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from django.db import transaction
from django.urls import URLPattern, URLResolver, get_resolver, include, path, reverse
from django.utils import timezone

from accounts.models import Role
from audit.exports import export_file_path, final_name
from audit.models import AuditEvent, AuditExport
from audit.trail import audit_record
from casework.models import Barrier, Cover, Note, Orientation, ReorientationRequest, Share, Step
from casework.permissions import can_change, visible_beneficiaries
from casework.services import beneficiary_assign_referent, beneficiary_share, share_end
from imports.models import BeneficiaryImport
from team.models import Notification
from tests.accounts.factories import member
from tests.casework.factories import (
    ActionFactory,
    AppointmentFactory,
    BarrierFactory,
    ContractFactory,
    DiagnosticFactory,
    NoteFactory,
    ObjectiveFactory,
    OrientationFactory,
    StepFactory,
)
from tests.personas import Personas, build_personas, share_with_recipient

pytestmark = pytest.mark.django_db

# URL namespaces left out of the matrix, each with a test of its own below.
EXCLUDED_NAMESPACES = {"admin"}

# The file's name (the shared personas' file, tests/personas.py): it must never appear on a page of someone
# who may not read the file. No persona and no factory wears it.
FILE_LAST_NAME = "Zidane"


def app_urls(patterns=None, namespace: str = "") -> dict[str, str]:
    """{"namespace:name": route} for every URL of the project, walking included URLconfs."""
    urls = {}
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(pattern, URLResolver):
            if pattern.namespace in EXCLUDED_NAMESPACES:
                continue
            inner = ":".join(part for part in (namespace, pattern.namespace) if part)
            urls |= app_urls(pattern.url_patterns, inner)
        elif isinstance(pattern, URLPattern):
            # An unnamed URL cannot be given a rule: it shows up as such and fails the comparison.
            name = pattern.name or f"<unnamed {pattern.pattern}>"
            urls[f"{namespace}:{name}" if namespace else name] = str(pattern.pattern)
    return urls


# --- The world: the shared personas' file, its people, and what happened to it -------------------

# The shared personas (tests/personas.py) the matrix signs in as.
PERSONAS = (
    "anonymous",
    "referent",  # the file's referent of record (MDS Nord)
    "colleague",  # another referent of the MDS Nord
    "other",  # a referent of the MDS Sud
    "supervisor",  # supervises the MDS Nord
    "other_supervisor",  # supervises the MDS Sud
    "admin",  # department admin, in the MDS Nord
    "auditor",  # auditor (DPO), in the MDS Nord
    "recipient",  # a referent of a CCAS the file is shared with, personally
)
REFERENTS = {"referent", "colleague", "other", "recipient"}


@dataclass(frozen=True)
class Situation:
    """Who may read the file and who may act on it, in one scenario."""

    sees: frozenset[str]
    changes: frozenset[str]
    # Personas whose every membership has ended: they read nothing and have no role.
    without_membership: frozenset[str] = frozenset()

    def reads_files(self, persona: str) -> bool:
        return persona not in {"anonymous", "auditor"} | self.without_membership

    def is_referent(self, persona: str) -> bool:
        return persona in REFERENTS - self.without_membership


SCENARIOS = {
    # The file followed by the referent, shared with the recipient personally.
    "plain": Situation(
        sees=frozenset({"referent", "supervisor", "recipient"}),
        changes=frozenset({"referent", "supervisor"}),
    ),
    # Reassigned to the MDS Sud's referent: the former referent and the MDS Nord's supervisor lose it.
    "reassigned": Situation(
        sees=frozenset({"other", "other_supervisor", "recipient"}),
        changes=frozenset({"other", "other_supervisor"}),
    ),
    # The recipient's share was ended.
    "share_ended": Situation(
        sees=frozenset({"referent", "supervisor"}),
        changes=frozenset({"referent", "supervisor"}),
    ),
    # The referent of record left: their membership ended yesterday (nobody has reassigned the file yet).
    "membership_ended": Situation(
        sees=frozenset({"supervisor", "recipient"}),
        changes=frozenset({"supervisor"}),
        without_membership=frozenset({"referent"}),
    ),
}


@dataclass
class World:
    users: dict
    file: object
    share: Share
    other_file: object
    other_share: Share
    entries: dict = field(default_factory=dict)


def ready_export(auditor) -> AuditExport:
    """An export of the audit trail, written and downloadable (its file in PRIVATE_MEDIA_ROOT)."""
    export = AuditExport.objects.create(
        requested_by=auditor,
        format=AuditExport.Format.CSV,
        status=AuditExport.Status.DONE,
        total_rows=0,
        finished_at=timezone.now(),
        expires_at=timezone.now() + datetime.timedelta(days=7),
    )
    export.file_name = final_name(export)
    export.save(update_fields=["file_name"])
    path = export_file_path(export)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("id;date\n", encoding="utf-8")
    return export


def matrix_world(scenario: str) -> World:
    """The shared personas (tests/personas.py) with the matrix's scenario on top (with_scenario)."""
    return with_scenario(build_personas(), scenario)


def with_scenario(personas: Personas, scenario: str) -> World:
    """The file shared with the recipient personally; a share of the other structure's file (a share of
    another file); one entry of each kind on the file, an audit event, an export, a cover, an import and a
    notice; then what the scenario did to the file."""
    p = personas
    users = {persona: None if persona == "anonymous" else getattr(p, persona) for persona in PERSONAS}
    file, nord, sud = p.file, p.nord, p.sud
    share = share_with_recipient(p)
    # The other structure's file, with a share of its own.
    other_file = p.other_file
    other_share = beneficiary_share(actor=p.other, beneficiary=other_file, structure=p.ccas, reason="Aide")

    # One entry of each kind on the file, written by its referent (today: still correctable).
    author = users["referent"]
    orientation = OrientationFactory(beneficiary=file, organisme_referent=nord, decided_by=users["supervisor"])
    objective = ObjectiveFactory(beneficiary=file, author=author)
    diagnostic = DiagnosticFactory(beneficiary=file, author=author)
    BarrierFactory(diagnostic=diagnostic, kind=Barrier.Kind.MOBILITY)
    entries = {
        "step": StepFactory(beneficiary=file, author=author, author_structure=nord, status=Step.Status.PLANNED),
        "appointment": AppointmentFactory(beneficiary=file, author=author),
        "note": NoteFactory(beneficiary=file, author=author, visibility=Note.Visibility.FOLLOWERS),
        "contract": ContractFactory(beneficiary=file, author=author),
        "orientation": orientation,
        "reorientation": ReorientationRequest.objects.create(
            beneficiary=file,
            proposed_track=Orientation.Track.PROFESSIONAL,
            proposed_organisme=nord,
            reason="Projet professionnel prêt",
            requested_by=author,
        ),
        "objective": objective,
        "action": ActionFactory(objective=objective, author=author),
        "diagnostic": diagnostic,
        # An event of the audit trail about the file (its referent read it).
        "event": audit_record(action=AuditEvent.Action.VIEW_FILE, user=author, beneficiary=file),
        # The auditor's export of the trail, ready to download.
        "export": ready_export(users["auditor"]),
        # A cover of the referent by a colleague next month, set by the MDS Nord's supervisor.
        "cover": Cover.objects.create(
            absent_referent=author,
            covering_referent=users["colleague"],
            structure=nord,
            starts_on=timezone.localdate() + datetime.timedelta(days=30),
            ends_on=timezone.localdate() + datetime.timedelta(days=40),
            reason="Congé",
            created_by=users["supervisor"],
        ),
        # An import of a CAF file by a department admin, finished (not a dry run: it cannot be run again).
        "import": BeneficiaryImport.objects.create(
            uploaded_by=users["admin"],
            original_name="caf-novembre.csv",
            file_name="caf-novembre.csv",
            file_size=10,
            sha256="0" * 64,
            format="csv",
            dry_run=False,
            status="done",
        ),
        # A notice for the referent.
        "notification": Notification.objects.create(
            recipient=author, kind=Notification.Kind.FILE_ASSIGNED, beneficiary=file, message="Dossier confié"
        ),
    }

    if scenario == "reassigned":
        beneficiary_assign_referent(
            actor=users["supervisor"],
            beneficiary=file,
            referent=users["other"],
            structure=sud,
            reason="Déménagement",
        )
    elif scenario == "share_ended":
        share_end(actor=users["referent"], share=share)
    elif scenario == "membership_ended":
        users["referent"].memberships.update(end_date=timezone.localdate() - datetime.timedelta(days=1))
    else:
        assert scenario == "plain", scenario
    file.refresh_from_db()
    share.refresh_from_db()
    return World(users=users, file=file, share=share, other_file=other_file, other_share=other_share, entries=entries)


@pytest.fixture(scope="module", params=list(SCENARIOS))
def personas(request, django_db_setup, django_db_blocker):
    """The shared personas in each scenario, (scenario, World), built once for the module; each test runs in
    a savepoint on top of it."""
    with django_db_blocker.unblock(), transaction.atomic():
        yield request.param, matrix_world(request.param)
        transaction.set_rollback(True)


# --- What each URL answers ---------------------------------------------------------------------------

# Expected answers besides a status code: a redirection, and where to.
LOGIN = "302 to the login page"  # LoginRequiredMiddleware, with ?next=
TO_FILE = "302 to the file page"
TO_HOME = "302 to the home page"
TO_CASELOAD = "302 to the caseload"
SIGNED_OUT = "302 to the login page, signed out"

Expected = int | str


def file_page(persona: str, situation: Situation) -> Expected:
    """A page that shows the file."""
    if persona == "anonymous":
        return LOGIN
    return 200 if persona in situation.sees else 404


def file_action(success: Expected) -> Callable[[str, Situation], Expected]:
    """A URL that acts on the file: 404 out of scope, 403 visible but not changeable."""

    def expect(persona: str, situation: Situation) -> Expected:
        if persona == "anonymous":
            return LOGIN
        if persona not in situation.sees:
            return 404
        return success if persona in situation.changes else 403

    return expect


SUPERVISORS = {"supervisor", "other_supervisor"}


def file_decision(success: Expected) -> Callable[[str, Situation], Expected]:
    """A decision on the file (orientation, reorientation): supervisors of its structure only."""

    def expect(persona: str, situation: Situation) -> Expected:
        if persona == "anonymous":
            return LOGIN
        if persona not in situation.sees:
            return 404
        return success if persona in situation.changes & SUPERVISORS else 403

    return expect


def file_reader(success: Expected) -> Callable[[str, Situation], Expected]:
    """Anyone who may read the file may do it (write a note)."""

    def expect(persona: str, situation: Situation) -> Expected:
        if persona == "anonymous":
            return LOGIN
        return success if persona in situation.sees else 404

    return expect


def entry_author(success: Expected) -> Callable[[str, Situation], Expected]:
    """Correcting an entry: its author (the referent), while they may still act on the file."""

    def expect(persona: str, situation: Situation) -> Expected:
        if persona == "anonymous":
            return LOGIN
        if persona not in situation.sees:
            return 404
        return success if persona == "referent" and persona in situation.changes else 403

    return expect


def signed_in(status: Expected) -> Callable[[str, Situation], Expected]:
    return lambda persona, situation: LOGIN if persona == "anonymous" else status


def caseload(persona: str, situation: Situation) -> Expected:
    if persona == "anonymous":
        return LOGIN
    return 200 if situation.reads_files(persona) else 403


def referents_only(success: Expected) -> Callable[[str, Situation], Expected]:
    def expect(persona: str, situation: Situation) -> Expected:
        if persona == "anonymous":
            return LOGIN
        return success if situation.is_referent(persona) else 403

    return expect


def caseload_search(persona: str, situation: Situation) -> Expected:
    """The caseload's search term is posted, kept in the session, and the list shown again."""
    if persona == "anonymous":
        return LOGIN
    return TO_CASELOAD if situation.reads_files(persona) else 403


def login_page(persona: str, situation: Situation) -> Expected:
    # LoginView(redirect_authenticated_user=True): a signed-in user is sent home.
    return 200 if persona == "anonymous" else TO_HOME


@dataclass(frozen=True)
class Check:
    method: str
    expect: Callable[[str, Situation], Expected]
    data: Callable[[World], dict] = field(default=lambda world: {})


@dataclass(frozen=True)
class Rule:
    kwargs: Callable[[World], dict]
    checks: tuple[Check, ...]
    # A page of the audit trail: it names files (who read which file) to the auditor, who reads none.
    trail: bool = False


def no_kwargs(world: World) -> dict:
    return {}


def file_kwargs(world: World) -> dict:
    return {"public_id": world.file.public_id}


def share_kwargs(world: World) -> dict:
    return {"public_id": world.file.public_id, "share_id": world.share.public_id}


def entry_kwargs(kind: str, url_kind: str | None = None, name: str = "entry_id") -> Callable[[World], dict]:
    def kwargs(world: World) -> dict:
        values = {"public_id": world.file.public_id, name: world.entries[kind].public_id}
        if url_kind:
            values["kind"] = url_kind
        return values

    return kwargs


def barrier_kwargs(world: World) -> dict:
    return {
        "public_id": world.file.public_id,
        "diagnostic_id": world.entries["diagnostic"].public_id,
        "kind": Barrier.Kind.MOBILITY,
    }


def form_page(success_get: Expected = 200, rule=None) -> tuple:
    """A form page: GET shows it, an empty POST shows it again with its errors (nothing written)."""
    rule = rule or file_action
    return (Check("get", rule(success_get)), Check("post", rule(200)))


def share_form_data(world: World) -> dict:
    return {"target_kind": "person", "person": world.users["colleague"].pk, "reason": "Relais pendant un congé"}


def emergency_form_data(world: World) -> dict:
    return {
        "allocataire_number": world.file.allocataire_number,
        "birth_date": world.file.birth_date.isoformat(),
        "reason": "La personne est à l'accueil et son référent est absent.",
    }


def picker_search(field: str) -> dict:
    """A picker's search: the field searched and a term (« re » finds the personas' referents and supervisors)."""
    return {"champ": field, f"recherche_{field}": "re"}


post_not_allowed = Check("post", signed_in(405))

RULES: dict[str, Rule] = {
    "home": Rule(no_kwargs, (Check("get", signed_in(200)),)),
    "login": Rule(no_kwargs, (Check("get", login_page),)),
    # LogoutView accepts POST only; anonymous visitors are sent to log in first (it is not login-exempt).
    "logout": Rule(no_kwargs, (Check("get", signed_in(405)), Check("post", signed_in(SIGNED_OUT)))),
    "casework:caseload": Rule(no_kwargs, (Check("get", caseload),)),
    "casework:file_detail": Rule(file_kwargs, (Check("get", file_page),)),
    # The world's note is for all who follow the file: whoever reads the file reads it.
    "casework:note_detail": Rule(entry_kwargs("note", name="note_id"), (Check("get", file_page),)),
    "casework:share_create": Rule(
        file_kwargs,
        (Check("get", file_action(200)), Check("post", file_action(TO_FILE), data=share_form_data)),
    ),
    # POST only (require_POST answers a GET before the file is looked up, so 405 for everyone signed in:
    # it says nothing about the file). Ending a share that already ended redirects to the file as well.
    "casework:share_end": Rule(share_kwargs, (Check("get", signed_in(405)), Check("post", file_action(TO_FILE)))),
    # A referent who types the file's exact identifiers is taken to it (with an emergency access if
    # they did not already see it); other roles may not ask.
    "casework:emergency_access": Rule(
        no_kwargs,
        (Check("get", referents_only(200)), Check("post", referents_only(TO_FILE), data=emergency_form_data)),
    ),
}

RULES |= {
    # Writing on the file (issue 4). Forms: GET shows them, an empty POST shows the errors.
    "casework:caseload_search": Rule(no_kwargs, (Check("get", signed_in(405)), Check("post", caseload_search))),
    "casework:step_create": Rule(file_kwargs, form_page()),
    "casework:step_status": Rule(entry_kwargs("step"), form_page()),
    "casework:appointment_create": Rule(file_kwargs, form_page()),
    "casework:appointment_record": Rule(entry_kwargs("appointment"), form_page()),
    "casework:note_create": Rule(file_kwargs, form_page(rule=file_reader)),
    "casework:entry_correct": Rule(entry_kwargs("step", "etape"), form_page(rule=entry_author)),
    "casework:entry_withdraw": Rule(entry_kwargs("step", "etape"), form_page()),
    "casework:contract_create": Rule(file_kwargs, form_page()),
    "casework:contract_renew": Rule(entry_kwargs("contract", name="contract_id"), form_page()),
    "casework:contract_sign": Rule(entry_kwargs("contract", name="contract_id"), form_page()),
    "casework:orientation_decide": Rule(file_kwargs, form_page(rule=file_decision)),
    "casework:reorientation_request": Rule(file_kwargs, form_page()),
    "casework:reorientation_decide": Rule(
        entry_kwargs("reorientation", name="request_id"), form_page(rule=file_decision)
    ),
    "casework:objective_create": Rule(file_kwargs, form_page()),
    "casework:objective_status": Rule(
        entry_kwargs("objective", name="objective_id"),
        (Check("get", signed_in(405)), Check("post", file_action(200))),
    ),
    "casework:action_create": Rule(entry_kwargs("objective", name="objective_id"), form_page()),
    "casework:action_status": Rule(
        entry_kwargs("action", name="action_id"), (Check("get", signed_in(405)), Check("post", file_action(200)))
    ),
    "casework:diagnostic_create": Rule(file_kwargs, form_page()),
    "casework:barrier_resolve": Rule(barrier_kwargs, form_page()),
    "casework:support_end": Rule(file_kwargs, form_page()),
    # The pickers' searches (www/views/pickers.py), for the form they serve: a note's readers for whoever
    # may write a note, the share's targets for whoever may share. GET only (require_safe: 405 for a POST,
    # before the file is looked up).
    "casework:note_recipients_search": Rule(
        file_kwargs,
        (Check("get", file_reader(200), data=lambda world: picker_search("shared_with_users")), post_not_allowed),
    ),
    "casework:share_target_search": Rule(
        file_kwargs, (Check("get", file_action(200), data=lambda world: picker_search("person")), post_not_allowed)
    ),
}


def auditors_only(success: Expected) -> Callable[[str, Situation], Expected]:
    """The audit trail's screens: auditors (DPO) only, 403 for every other signed-in user."""
    return lambda persona, situation: LOGIN if persona == "anonymous" else (success if persona == "auditor" else 403)


def access_report(persona: str, situation: Situation) -> Expected:
    """A file's access report: any file for the auditor; the supervisors of the file's structure; 403
    for others who see the file, 404 for those who do not."""
    if persona == "anonymous":
        return LOGIN
    if persona == "auditor":
        return 200
    if persona not in situation.sees:
        return 404
    return 200 if persona in situation.changes & SUPERVISORS else 403


def event_kwargs(world: World) -> dict:
    return {"event_id": world.entries["event"].pk}


RULES |= {
    # The audit trail (issue 5).
    "audit:events": Rule(no_kwargs, (Check("get", auditors_only(200)),), trail=True),
    "audit:event_detail": Rule(event_kwargs, (Check("get", auditors_only(200)),), trail=True),
    "audit:access_report": Rule(file_kwargs, (Check("get", access_report),), trail=True),
    "audit:access_report_export": Rule(file_kwargs, (Check("get", access_report),), trail=True),
}


def export_kwargs(world: World) -> dict:
    return {"export_id": world.entries["export"].public_id}


def export_request_data(world: World) -> dict:
    return {"action": [AuditEvent.Action.VIEW_FILE], "format": AuditExport.Format.CSV}


TO_EXPORT = "303 to the export's page"

RULES |= {
    # Exports of the trail: the auditor who asked for one, nobody else (another auditor: 404).
    "audit:exports": Rule(
        no_kwargs,
        (Check("get", auditors_only(200)), Check("post", auditors_only(TO_EXPORT), data=export_request_data)),
    ),
    "audit:export_status": Rule(export_kwargs, (Check("get", auditors_only(200)),)),
    "audit:export_download": Rule(export_kwargs, (Check("get", auditors_only(200)),)),
}


def supervisors_only(success: Expected) -> Callable[[str, Situation], Expected]:
    """The team's screens: any supervisor (each sees their own structures), 403 for everyone else."""
    return lambda persona, situation: LOGIN if persona == "anonymous" else (success if persona in SUPERVISORS else 403)


def reassign_data(world: World) -> dict:
    return {"dossiers": [str(world.file.public_id)], "reason": "Rééquilibrage de l'équipe"}


def reassign(persona: str, situation: Situation) -> Expected:
    """Moving the file: the supervisors of its structure; another supervisor gets a 404 (out of scope)."""
    if persona == "anonymous":
        return LOGIN
    if persona not in SUPERVISORS:
        return 403
    return 200 if persona in situation.changes else 404


def cover_kwargs(world: World) -> dict:
    return {"cover_id": world.entries["cover"].public_id}


def cover_cancel(persona: str, situation: Situation) -> Expected:
    """The cover belongs to the MDS Nord: its supervisor cancels it; the other supervisor gets a 404."""
    if persona == "anonymous":
        return LOGIN
    if persona not in SUPERVISORS:
        return 403
    return TO_COVERS if persona == "supervisor" else 404


def notification_kwargs(world: World) -> dict:
    return {"notification_id": world.entries["notification"].public_id}


def notification_read(persona: str, situation: Situation) -> Expected:
    """A notice is its recipient's (the referent's): 404 for everyone else."""
    if persona == "anonymous":
        return LOGIN
    return TO_NOTIFICATIONS if persona == "referent" else 404


TO_COVERS = "302 to the covers"
TO_NOTIFICATIONS = "302 to the notifications"

RULES |= {
    # Supervision (issue 6).
    "team:dashboard": Rule(no_kwargs, (Check("get", supervisors_only(200)),)),
    "team:alerts": Rule(no_kwargs, (Check("get", supervisors_only(200)),)),
    "team:dashboard_export": Rule(
        no_kwargs, (Check("get", supervisors_only(200), data=lambda world: {"format": "csv"}),)
    ),
    "team:alerts_export": Rule(
        # CSV: text the check below can search for the file's name (the .xlsx is zipped).
        no_kwargs,
        (Check("get", supervisors_only(200), data=lambda world: {"format": "csv"}),),
    ),
    "team:reassign": Rule(
        no_kwargs,
        (
            Check("get", supervisors_only(200)),
            Check("get", reassign, data=lambda world: {"dossier": str(world.file.public_id)}),
            # An incomplete form (no new referent) naming the file: shown again with its errors, and
            # without the file to a supervisor who does not see it (a complete one is tested in
            # tests/casework/test_team_reassign.py: 404 out of scope, nothing moved).
            Check("post", supervisors_only(200), data=reassign_data),
        ),
    ),
    "team:covers": Rule(no_kwargs, (Check("get", supervisors_only(200)), Check("post", supervisors_only(200)))),
    "team:cover_cancel": Rule(cover_kwargs, (Check("get", signed_in(405)), Check("post", cover_cancel))),
    "team:notifications": Rule(no_kwargs, (Check("get", signed_in(200)),)),
    "team:notification_read": Rule(
        notification_kwargs, (Check("get", signed_in(405)), Check("post", notification_read))
    ),
}


def admins_only(success: Expected) -> Callable[[str, Situation], Expected]:
    """The imports' screens: department admins only, 403 for everyone else."""
    return lambda persona, situation: LOGIN if persona == "anonymous" else (success if persona == "admin" else 403)


def import_kwargs(world: World) -> dict:
    return {"import_id": world.entries["import"].public_id}


RULES |= {
    # Imports of the CAF/MSA files (issue 7). An empty upload is refused with its errors (400); the
    # world's import is finished, so running it again is a conflict (409).
    "imports:list": Rule(no_kwargs, (Check("get", admins_only(200)), Check("post", admins_only(400)))),
    "imports:detail": Rule(import_kwargs, (Check("get", admins_only(200)),)),
    "imports:run": Rule(import_kwargs, (Check("get", signed_in(405)), Check("post", admins_only(409)))),
    "imports:errors_export": Rule(import_kwargs, (Check("get", admins_only(200)),)),
}

CASES = [
    pytest.param(url_name, check, persona, id=f"{url_name}-{check.method}-{persona}")
    for url_name, rule in RULES.items()
    for check in rule.checks
    for persona in PERSONAS
]


def test_every_url_of_the_app_has_a_rule():
    """A new URL needs a rule here (and in docs/permissions.md); a rule for a removed URL goes too."""
    urls = set(app_urls())

    assert not urls - set(RULES), "URLs without a rule in RULES"
    assert not set(RULES) - urls, "rules for URLs that do not exist"


def test_the_walk_reaches_nested_namespaces_and_unnamed_urls_but_not_the_admin():
    def view(request):
        raise AssertionError("never called")

    inner = ([path("b/", view, name="b"), path("c/", view)], "inner")
    patterns = [
        path("a/", view, name="a"),
        path("x/", include(([path("", include(inner))], "outer"))),
        path("admin/", include(([path("", view, name="index")], "admin"))),
    ]

    assert app_urls(patterns) == {"a": "a/", "outer:inner:b": "b/", "outer:inner:<unnamed c/>": "c/"}


@pytest.mark.parametrize(("url_name", "check", "persona"), CASES)
def test_permission_matrix(client, personas, url_name, check, persona):
    scenario, w = personas
    situation = SCENARIOS[scenario]
    rule = RULES[url_name]
    url = reverse(url_name, kwargs=rule.kwargs(w))
    user = w.users[persona]
    if user is not None:
        client.force_login(user)

    response = getattr(client, check.method)(url, check.data(w))

    expected = check.expect(persona, situation)
    if isinstance(expected, int):
        assert response.status_code == expected, f"{scenario}: {response.status_code} != {expected}"
    elif expected == TO_EXPORT:
        assert response.status_code == 303, f"{scenario}: {response.status_code} != {expected}"
        assert response["Location"].startswith(reverse("audit:exports")), response["Location"]
    else:
        assert response.status_code == 302, f"{scenario}: {response.status_code} != {expected}"
        location = response["Location"]
        if expected == LOGIN:
            assert location.startswith(f"{reverse('login')}?next="), location
        elif expected == TO_FILE:
            assert location == reverse("casework:file_detail", kwargs={"public_id": w.file.public_id})
        elif expected == TO_HOME:
            assert location == reverse("home")
        elif expected == TO_CASELOAD:
            assert location.startswith(reverse("casework:caseload")), location
        elif expected == TO_COVERS:
            assert location == reverse("team:covers")
        elif expected == TO_NOTIFICATIONS:
            assert location.startswith(reverse("team:notifications")), location
        else:
            assert expected == SIGNED_OUT
            assert location == reverse("login")
            assert "_auth_user_id" not in client.session
    if persona not in situation.sees and not (rule.trail and persona == "auditor"):
        # Nothing about a file out of scope reaches the page, whatever its status.
        html = b"".join(response.streaming_content).decode() if response.streaming else response.content.decode()
        assert FILE_LAST_NAME not in html
        assert str(w.file.public_id) not in html


def test_the_scenarios_are_what_they_say(personas):
    """The situations above are those the services produce (a guard on the matrix itself)."""
    scenario, w = personas
    situation = SCENARIOS[scenario]
    for persona, user in w.users.items():
        if user is None:
            continue
        user.__dict__.pop("active_memberships", None)
        assert visible_beneficiaries(user).filter(pk=w.file.pk).exists() == (persona in situation.sees), persona
        if persona in situation.sees:
            assert can_change(user, w.file) == (persona in situation.changes), persona


# --- Beyond the matrix ----------------------------------------------------------------------------


@pytest.mark.parametrize("persona", [persona for persona in PERSONAS if persona != "anonymous"])
def test_a_file_that_does_not_exist_is_a_404_on_every_url_that_names_one(client, personas, persona):
    _, w = personas
    client.force_login(w.users[persona])
    unknown = uuid.uuid4()

    assert client.get(reverse("casework:file_detail", kwargs={"public_id": unknown})).status_code == 404
    assert client.get(reverse("casework:share_create", kwargs={"public_id": unknown})).status_code == 404
    for search in ("casework:note_recipients_search", "casework:share_target_search"):
        assert client.get(reverse(search, kwargs={"public_id": unknown}), {"champ": "person"}).status_code == 404
    ended = reverse("casework:share_end", kwargs={"public_id": unknown, "share_id": w.share.public_id})
    assert client.post(ended).status_code == 404


def test_a_share_of_another_file_is_a_404_even_to_who_may_act_on_this_one(client, personas):
    scenario, w = personas
    url = reverse("casework:share_end", kwargs={"public_id": w.file.public_id, "share_id": w.other_share.public_id})

    for persona in SCENARIOS[scenario].changes:
        client.force_login(w.users[persona])
        assert client.post(url).status_code == 404, persona
    w.other_share.refresh_from_db()
    assert w.other_share.is_active()


@pytest.mark.ignore_unknown_template_variables
@pytest.mark.parametrize(
    ("role", "expected"),
    [(Role.REFERENT, 302), (Role.SUPERVISOR, 302), (Role.AUDITOR, 302), (Role.DEPARTMENT_ADMIN, 200)],
)
def test_the_admin_is_for_department_admins_only(client, role, expected):
    client.force_login(member(role))

    response = client.get(reverse("admin:index"))

    assert response.status_code == expected
    if expected == 302:
        assert response["Location"].startswith(reverse("admin:login"))


def test_the_admin_sends_anonymous_visitors_to_log_in(client):
    response = client.get(reverse("admin:index"))

    assert response.status_code == 302
