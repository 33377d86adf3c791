"""What the file page and its partials read (www.views.file, www.timeline): the file, its pathway, the
notes this user may read, and what imports changed, for a file the permission layer already scoped.
"""

import datetime
import uuid

from django.db.models import (
    Q,
    QuerySet,
)
from django.utils import timezone

from accounts.models import User
from casework.models import (
    Action,
    Appointment,
    Barrier,
    Beneficiary,
    Contract,
    Cover,
    Diagnostic,
    EmergencyAccess,
    HouseholdMember,
    Note,
    Objective,
    Orientation,
    PathwayEntry,
    ReferentAssignment,
    ReorientationRequest,
    Revision,
    Share,
    Step,
)
from casework.permissions import can_see_emergency_accesses, note_reading_rules, readable_notes, visible_notes
from core.db_bundle import BundleTemplate, fetch_bundle, set_parent, set_prefetched
from imports.models import ImportChange

# The kinds of pathway entries a file gathers by the hundred, by the name of their queryset in
# file_page_querysets: the file page may read only the newest of each, with their counts (issue 8).
WINDOWED_KINDS = {"steps": "step", "appointments": "appointment", "notes": "note"}


def file_page_querysets(
    user: User, beneficiary: Beneficiary, *, now: datetime.datetime | None = None
) -> dict[str, QuerySet]:
    """Everything the file page shows beside the file's own columns, one queryset per kind of object,
    which `with_file_page_data` reads in one statement (core.db_bundle): those of the file alone
    (`_file_querysets`), then those that depend on the user or the time.

    Notes are only those `visible_notes` lets this user read (`notes`), and so are the people, structures
    and departments they are shared with (`note_departments`, `note_structures`, `note_users`: the rows of
    the readable shared notes only) and the previous versions of notes (`revisions`: the file's previous
    versions, those of a note only when this user may read it). Emergency accesses are there only for the
    users allowed to see them. `upcoming` is the next planned appointment (from `now`), which the summary
    shows however few appointments are read.
    """
    return _file_querysets(beneficiary.pk, emergency=can_see_emergency_accesses(user, beneficiary)) | (
        _user_file_querysets(user, beneficiary, now=now)
    )


def _file_querysets(file_id: int, *, emergency: bool = True) -> dict[str, QuerySet]:
    """The file page's querysets that depend on the file alone: the same SQL for every file, which
    `_FILE_TEMPLATE` compiles once per process (core.db_bundle.BundleTemplate). Nothing here may depend
    on the user, the time or the settings.

    Steps and appointments come newest first, in the timeline's order (www.timeline), so that the
    page may read only the newest of each. `covers` are the covers of the file's referents in their
    structures, which www.timeline narrows to the periods the file was theirs. `emergency_accesses`
    only when asked for (only some users may see them: casework.permissions.can_see_emergency_accesses).
    """
    of_file = {"beneficiary": file_id}
    assignments = ReferentAssignment.objects.filter(**of_file)
    querysets = {
        # Explicit orders where Meta.ordering starts with the file (one file here: the same rows in the
        # same order); core.db_bundle wants orders it can number.
        "household_members": HouseholdMember.objects.filter(**of_file).order_by("relationship", "birth_date"),
        "assignments": assignments.select_related("referent", "structure", "assigned_by").order_by(
            "-started_at", "-pk"
        ),
        "orientations": Orientation.objects.filter(**of_file)
        .select_related("organisme_referent", "decided_by")
        .order_by("-decided_on", "-created_at"),
        "reorientation_requests": ReorientationRequest.objects.filter(**of_file)
        .select_related("proposed_organisme", "requested_by", "decided_by")
        .order_by("-created_at", "-pk"),
        "contracts": Contract.objects.filter(**of_file)
        .select_related("author", "renews", "withdrawn_by")
        .order_by("-start_date", "-pk"),
        # The timeline's order (www.timeline._sort_key), newest first.
        "steps": Step.objects.filter(**of_file)
        .select_related("author", "author_structure", "withdrawn_by")
        .order_by("-date", "-created_at", "-pk"),
        "objectives": Objective.objects.filter(**of_file)
        .select_related("contract", "author", "withdrawn_by")
        .order_by("status", "due_date"),
        "actions": Action.objects.filter(objective__beneficiary=file_id)
        .select_related("author", "withdrawn_by")
        .order_by("due_date", "pk"),
        "appointments": Appointment.objects.filter(**of_file)
        .select_related("with_user", "with_structure", "author", "withdrawn_by")
        .order_by("-scheduled_at", "-pk"),
        "diagnostics": Diagnostic.objects.filter(**of_file)
        .select_related("author", "withdrawn_by")
        .order_by("-carried_out_on"),
        "barriers": Barrier.objects.filter(diagnostic__beneficiary=file_id).order_by("kind"),
        "shares": Share.objects.filter(**of_file)
        .select_related("shared_with_user", "shared_with_structure", "shared_with_department", "author", "ended_by")
        .order_by("-starts_at", "-pk"),
        "covers": Cover.objects.filter(
            absent_referent__in=assignments.values("referent"), structure__in=assignments.values("structure")
        ).select_related("absent_referent", "covering_referent", "created_by", "cancelled_by"),
        "import_changes": ImportChange.objects.filter(**of_file)
        .select_related("beneficiary_import__uploaded_by")
        .order_by("beneficiary_import_id", "pk"),
    }
    if emergency:
        querysets["emergency_accesses"] = (
            EmergencyAccess.objects.filter(**of_file).select_related("user", "user_structure").order_by("-started_at")
        )
    return querysets


_FILE_TEMPLATE = BundleTemplate(_file_querysets)


def _user_file_querysets(
    user: User, beneficiary: Beneficiary, *, now: datetime.datetime | None = None
) -> dict[str, QuerySet]:
    """The file page's querysets that depend on the user (the notes they may read) or the time."""
    return _user_querysets(beneficiary.pk, user.pk, *note_reading_rules(user), now or timezone.now())


def _user_querysets(
    file_id: int, user_id: int, structures, departments, now: datetime.datetime
) -> dict[str, QuerySet]:
    """`_user_file_querysets` from the values they depend on: visible_notes' rules (constants) and the
    time, which `_USER_FILE_TEMPLATE` binds to statements compiled once per process and shape."""
    readable = readable_notes(file_id, user_id, structures, departments)
    return {
        # Newest first, in the timeline's order, as steps and appointments (`_file_querysets`).
        "notes": readable.select_related("author", "author_structure", "withdrawn_by").order_by("-created_at", "-pk"),
        **_note_page_querysets(file_id, readable),
        "upcoming": Appointment.objects.filter(
            beneficiary=file_id,
            status=Appointment.Status.PLANNED,
            withdrawn_at__isnull=True,
            scheduled_at__gte=now,
        )
        .select_related("with_user", "with_structure", "author", "withdrawn_by")
        .order_by("scheduled_at", "pk")[:1],
    }


_USER_FILE_TEMPLATE = BundleTemplate(_user_querysets)


def _note_page_querysets(file_id: int, notes: QuerySet[Note]) -> dict[str, QuerySet]:
    """For the notes given (already narrowed to those the user may read): the rows naming who the shared
    ones are shared with, and the file's previous versions, those of a note only for these notes."""
    shared = notes.filter(visibility=Note.Visibility.SHARED).values("pk")
    through = {relation: getattr(Note, relation).through.objects for relation in _RECIPIENT_RELATIONS}
    is_note = Q(content_type__app_label=Note._meta.app_label, content_type__model=Note._meta.model_name)
    return {
        "note_departments": through["shared_with_departments"]
        .filter(note__in=shared)
        .select_related("department")
        .only("note", "department__name"),
        "note_structures": through["shared_with_structures"]
        .filter(note__in=shared)
        .select_related("structure")
        .only("note", "structure__name", "structure__is_sensitive"),
        "note_users": through["shared_with_users"]
        .filter(note__in=shared)
        .select_related("user")
        .only("note", "user__username", "user__first_name", "user__last_name"),
        "revisions": Revision.objects.filter(beneficiary=file_id)
        .filter(~is_note | Q(object_id__in=notes.values("pk")))
        .select_related("content_type", "changed_by")
        .order_by("-version", "-pk"),
    }


_RECIPIENT_RELATIONS = ("shared_with_departments", "shared_with_structures", "shared_with_users")


def _attach_note_recipients(user: User, notes: list[Note], data: dict[str, list]) -> None:
    """Set `note.recipient_labels` on each note: the names of the departments, structures (through
    `Structure.label_for`, so a sensitive structure stays neutral to outsiders) and people it is shared
    with, from the rows `_note_page_querysets` read (only those of these notes are used)."""
    for note in notes:
        note.recipient_labels = []
    shared = {note.pk: note for note in notes if note.visibility == Note.Visibility.SHARED}
    labels: dict[int, list[tuple[int, str]]] = {note_id: [] for note_id in shared}
    for row in data["note_departments"]:
        if row.note_id in labels:
            labels[row.note_id].append((0, row.department.name))
    for row in data["note_structures"]:
        if row.note_id in labels:
            labels[row.note_id].append((1, row.structure.label_for(user)))
    for row in data["note_users"]:
        if row.note_id in labels:
            person = row.user
            labels[row.note_id].append((2, f"{person.first_name} {person.last_name}".strip() or person.username))
    for note_id, found in labels.items():
        # Sorted on what is shown, so that the order does not hint at a hidden name.
        shared[note_id].recipient_labels = [label for _, label in sorted(found)]


def _attach_revisions(entries: list[PathwayEntry], revisions: list[Revision]) -> None:
    """Set `entry.revision_list` (previous versions, newest first) on each entry given.

    Only when one of these entries has a previous version (a correction or a status change; a withdrawal
    keeps a version too, but one that says what the entry still says, so the page does not list it).
    They are attached only to the entries given, which are those the user may read: the previous versions
    of a note this user may not read stay unread (and are not read: see `_note_page_querysets`).
    """
    for entry in entries:
        entry.revision_list = []
    if not any(entry.version > 1 for entry in entries):
        return
    by_key = {(entry._meta.app_label, entry._meta.model_name, entry.pk): entry for entry in entries}
    for revision in revisions:
        entry = by_key.get((revision.content_type.app_label, revision.content_type.model, revision.object_id))
        if entry is not None:
            entry.revision_list.append(revision)


def note_with_page_data(user: User, beneficiary: Beneficiary, note_id: uuid.UUID) -> Note | None:
    """The note of the file with this public id if this user may read it (None otherwise), with what its
    own page shows, its recipients and its previous versions: one statement (core.db_bundle)."""
    notes = visible_notes(user, beneficiary).filter(public_id=note_id).order_by()  # one at most
    data = fetch_bundle(
        {
            "notes": notes.select_related("author", "author_structure", "withdrawn_by"),
            **_note_page_querysets(beneficiary.pk, notes),
        }
    )
    if not data["notes"]:
        return None
    (note,) = data["notes"]
    set_parent([note], "beneficiary", beneficiary)
    _attach_note_recipients(user, [note], data)
    _attach_revisions([note], data["revisions"])
    return note


def file_page_entries(beneficiary: Beneficiary) -> list[PathwayEntry]:
    """The pathway entries loaded on a file by `with_file_page_data` (notes: only the readable ones)."""
    entries: list[PathwayEntry] = [
        *beneficiary.contracts.all(),
        *beneficiary.steps.all(),
        *beneficiary.appointments.all(),
        *beneficiary.diagnostics.all(),
        *beneficiary.readable_notes,
    ]
    for objective in beneficiary.objectives.all():
        entries.append(objective)
        entries.extend(objective.actions.all())
    return entries


# What `beneficiary.<accessor>.all()` returns on a file that went through with_file_page_data.
_FILE_PAGE_RELATIONS = (
    "household_members",
    "assignments",
    "orientations",
    "reorientation_requests",
    "contracts",
    "steps",
    "objectives",
    "appointments",
    "diagnostics",
    "shares",
)


def with_file_page_data(
    user: User, beneficiary: Beneficiary, *, newest: int | None = None, now: datetime.datetime | None = None
) -> Beneficiary:
    """Load the file page's data onto a file the user may read, in one statement (see
    file_page_querysets; those of the file alone are compiled once, `_FILE_TEMPLATE`): the relations of
    `_FILE_PAGE_RELATIONS` as if prefetched (with each objective's `actions` and each diagnostic's `barriers`),
    the readable notes in `readable_notes` with their
    `recipient_labels`, the emergency accesses (for who may see them) in `emergency_access_list`, the
    candidate covers in `cover_candidates`, the imports' changes in `import_change_list`, the next planned
    appointment in `upcoming_appointment`, and the previous versions of the entries in `entry.revision_list`.

    With `newest`, `steps`, `appointments` and `readable_notes` hold only the newest `newest` of each, and
    `timeline_counts` ({"step": …, "appointment": …, "note": …}) how many there are in all; without it,
    they hold everything and `timeline_counts` is None."""
    first = dict.fromkeys(WINDOWED_KINDS, newest) if newest is not None else None
    using = beneficiary._state.db or "default"
    of_file = _FILE_TEMPLATE.bind(beneficiary.pk, using=using)
    if not can_see_emergency_accesses(user, beneficiary):
        del of_file["emergency_accesses"]
    of_user = _USER_FILE_TEMPLATE.bind(
        beneficiary.pk, user.pk, *note_reading_rules(user), now or timezone.now(), using=using
    )
    data = fetch_bundle(of_file | of_user, first=first)
    for accessor in _FILE_PAGE_RELATIONS:
        set_prefetched(beneficiary, accessor, data[accessor])
    actions = _grouped(data["actions"], "objective_id")
    for objective in data["objectives"]:
        set_prefetched(objective, "actions", actions.get(objective.pk, []))
    barriers = _grouped(data["barriers"], "diagnostic_id")
    for diagnostic in data["diagnostics"]:
        set_prefetched(diagnostic, "barriers", barriers.get(diagnostic.pk, []))
    beneficiary.readable_notes = data["notes"]
    set_parent(beneficiary.readable_notes, "beneficiary", beneficiary)
    if "emergency_accesses" in data:
        beneficiary.emergency_access_list = data["emergency_accesses"]
        set_parent(beneficiary.emergency_access_list, "beneficiary", beneficiary)
    set_parent(data["upcoming"], "beneficiary", beneficiary)
    beneficiary.upcoming_appointment = data["upcoming"][0] if data["upcoming"] else None
    beneficiary.timeline_counts = None
    if newest is not None:
        beneficiary.timeline_counts = {kind: data.counts[name] for name, kind in WINDOWED_KINDS.items()}
    beneficiary.cover_candidates = data["covers"]
    beneficiary.import_change_list = data["import_changes"]
    set_parent(beneficiary.import_change_list, "beneficiary", beneficiary)
    _attach_note_recipients(user, beneficiary.readable_notes, data)
    _attach_revisions(file_page_entries(beneficiary), data["revisions"])
    return beneficiary


def _grouped(objects: list, attname: str) -> dict[int, list]:
    """The objects by the value of one of their columns, each group in the list's order."""
    groups: dict[int, list] = {}
    for obj in objects:
        groups.setdefault(getattr(obj, attname), []).append(obj)
    return groups
