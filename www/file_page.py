"""What the file page and its partials read (www.views.file, www.timeline): the file, its pathway, the
notes this user may read, and what imports changed, for a file the permission layer already scoped.

Everything is read with Django's own tools: `prefetch_related_objects` with one `Prefetch` per kind of
object (one query each, whatever the file holds), then the covers and the previous versions of the
entries loaded (one query each). The number of statements does not depend on the file's size.
"""

import datetime
import functools
import operator
import uuid

from django.db.models import Count, F, Prefetch, Q, QuerySet, Window, prefetch_related_objects
from django.utils import timezone

from accounts.models import Department, Structure, User
from casework.models import (
    Action,
    Appointment,
    Barrier,
    Beneficiary,
    Contract,
    Cover,
    Diagnostic,
    EmergencyAccess,
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
from casework.permissions import can_see_emergency_accesses, visible_notes
from imports.models import ImportChange

# The kinds of pathway entries a file gathers by the hundred, by the attribute they are loaded in: the file
# page may read only the newest of each, with how many the file holds (issue 8).
WINDOWED_KINDS = {"step_list": "step", "appointment_list": "appointment", "readable_notes": "note"}

# The annotation that carries, on each row of a windowed kind, how many rows of that kind the file holds.
KIND_TOTAL = "kind_total"


def _newest(queryset: QuerySet, newest: int | None) -> QuerySet:
    """The queryset's first `newest` rows of each file, each carrying how many the file holds in all
    (`kind_total`: a window count over the file's rows, computed before they are cut). A sliced Prefetch,
    which Django supports with a `to_attr` only: it numbers each file's rows with a window function and
    keeps the first ones. Without `newest`, every row."""
    if newest is None:
        return queryset
    return queryset.annotate(**{KIND_TOTAL: Window(Count("pk"), partition_by=F("beneficiary"))})[:newest]


def _recipient_prefetches(prefix: str = "") -> list[Prefetch]:
    """The departments, structures and people notes are shared with (the notes themselves, or those at
    `prefix`, "readable_notes__"), with the columns their labels need (`_attach_note_recipients`)."""
    return [
        Prefetch(f"{prefix}shared_with_departments", queryset=Department.objects.only("name")),
        Prefetch(f"{prefix}shared_with_structures", queryset=Structure.objects.only("name", "is_sensitive")),
        Prefetch(f"{prefix}shared_with_users", queryset=User.objects.only("username", "first_name", "last_name")),
    ]


def file_page_prefetches(
    user: User, beneficiary: Beneficiary, *, newest: int | None = None, now: datetime.datetime | None = None
) -> list[Prefetch]:
    """Everything the file page shows beside the file's own columns, one Prefetch per kind of object.

    Steps, appointments and notes come newest first, in the timeline's order (www.timeline._sort_key), so
    that the page may read only the newest `newest` of each. Notes are only those `visible_notes` lets this
    user read (`readable_notes`), with the departments, structures and people they are shared with.
    Emergency accesses are read only for the users allowed to see them (`emergency_access_list`).
    `upcoming_appointments` holds the next planned appointment (from `now`), which the summary shows
    however few appointments are read; `import_change_list` what imports changed on the file.
    """
    moment = now or timezone.now()
    prefetches = [
        "household_members",
        Prefetch(
            "assignments",
            queryset=ReferentAssignment.objects.select_related("referent", "structure", "assigned_by").order_by(
                "-started_at", "-pk"
            ),
        ),
        Prefetch("orientations", queryset=Orientation.objects.select_related("organisme_referent", "decided_by")),
        Prefetch(
            "reorientation_requests",
            queryset=ReorientationRequest.objects.select_related(
                "proposed_organisme", "requested_by", "decided_by"
            ).order_by("-created_at", "-pk"),
        ),
        Prefetch(
            "contracts",
            queryset=Contract.objects.select_related("author", "renews", "withdrawn_by").order_by(
                "-start_date", "-pk"
            ),
        ),
        Prefetch(
            "steps",
            queryset=_newest(
                Step.objects.select_related("author", "author_structure", "withdrawn_by").order_by(
                    "-date", "-created_at", "-pk"
                ),
                newest,
            ),
            to_attr="step_list",
        ),
        Prefetch(
            "objectives",
            queryset=Objective.objects.select_related("contract", "author", "withdrawn_by").order_by(
                "status", "due_date"
            ),
        ),
        Prefetch(
            "objectives__actions",
            queryset=Action.objects.select_related("author", "withdrawn_by").order_by("due_date", "pk"),
        ),
        Prefetch(
            "appointments",
            queryset=_newest(
                Appointment.objects.select_related("with_user", "with_structure", "author", "withdrawn_by").order_by(
                    "-scheduled_at", "-pk"
                ),
                newest,
            ),
            to_attr="appointment_list",
        ),
        Prefetch(
            "appointments",
            queryset=Appointment.objects.filter(
                status=Appointment.Status.PLANNED, withdrawn_at__isnull=True, scheduled_at__gte=moment
            )
            .select_related("with_user", "with_structure", "author", "withdrawn_by")
            .order_by("scheduled_at", "pk")[:1],
            to_attr="upcoming_appointments",
        ),
        Prefetch("diagnostics", queryset=Diagnostic.objects.select_related("author", "withdrawn_by")),
        Prefetch("diagnostics__barriers", queryset=Barrier.objects.order_by("kind")),
        Prefetch(
            "notes",
            queryset=_newest(
                visible_notes(user, beneficiary)
                .select_related("author", "author_structure", "withdrawn_by")
                .order_by("-created_at", "-pk"),
                newest,
            ),
            to_attr="readable_notes",
        ),
        *_recipient_prefetches("readable_notes__"),
        Prefetch(
            "shares",
            queryset=Share.objects.select_related(
                "shared_with_user", "shared_with_structure", "shared_with_department", "author", "ended_by"
            ).order_by("-starts_at", "-pk"),
        ),
        Prefetch(
            "import_changes",
            queryset=ImportChange.objects.select_related("beneficiary_import__uploaded_by").order_by(
                "beneficiary_import_id", "pk"
            ),
            to_attr="import_change_list",
        ),
    ]
    if can_see_emergency_accesses(user, beneficiary):
        prefetches.append(
            Prefetch(
                "emergency_accesses",
                queryset=EmergencyAccess.objects.select_related("user", "user_structure").order_by("-started_at"),
                to_attr="emergency_access_list",
            )
        )
    return prefetches


def _cover_candidates(beneficiary: Beneficiary) -> list[Cover]:
    """The covers of the file's referents in their structures, which www.timeline narrows to the periods
    the file was theirs."""
    assignments = ReferentAssignment.objects.filter(beneficiary=beneficiary)
    return list(
        Cover.objects.filter(
            absent_referent__in=assignments.values("referent"), structure__in=assignments.values("structure")
        ).select_related("absent_referent", "covering_referent", "created_by", "cancelled_by")
    )


def _attach_note_recipients(user: User, notes: list[Note]) -> None:
    """Set `note.recipient_labels` on each note: for a shared note, the names of the departments,
    structures (through `Structure.label_for`, so a sensitive structure stays neutral to outsiders) and
    people it is shared with, from what `_recipient_prefetches` loaded."""
    for note in notes:
        if note.visibility != Note.Visibility.SHARED:
            note.recipient_labels = []
            continue
        found = [
            *((0, department.name) for department in note.shared_with_departments.all()),
            *((1, structure.label_for(user)) for structure in note.shared_with_structures.all()),
            *(
                (2, f"{person.first_name} {person.last_name}".strip() or person.username)
                for person in note.shared_with_users.all()
            ),
        ]
        # Sorted on what is shown, so that the order does not hint at a hidden name.
        note.recipient_labels = [label for _, label in sorted(found)]


def _attach_revisions(entries: list[PathwayEntry]) -> None:
    """Set `entry.revision_list` (previous versions, newest first) on each entry given.

    Only the entries that have a previous version (a correction or a status change; a withdrawal keeps a
    version too, but one that says what the entry still says, so the page does not list it) are looked
    up, in one query; none when no entry has one. The entries given are those the user may read: the
    previous versions of a note this user may not read are not read.
    """
    for entry in entries:
        entry.revision_list = []
    corrected = {
        (entry._meta.app_label, entry._meta.model_name, entry.pk): entry for entry in entries if entry.version > 1
    }
    if not corrected:
        return
    ids: dict[tuple[str, str], list[int]] = {}
    for app_label, model_name, pk in corrected:
        ids.setdefault((app_label, model_name), []).append(pk)
    of_entries = functools.reduce(
        operator.or_,
        (
            Q(content_type__app_label=app_label, content_type__model=model_name, object_id__in=pks)
            for (app_label, model_name), pks in ids.items()
        ),
    )
    revisions = (
        Revision.objects.filter(of_entries).select_related("content_type", "changed_by").order_by("-version", "-pk")
    )
    for revision in revisions:
        entry = corrected.get((revision.content_type.app_label, revision.content_type.model, revision.object_id))
        if entry is not None:
            entry.revision_list.append(revision)


def note_with_page_data(user: User, beneficiary: Beneficiary, note_id: uuid.UUID) -> Note | None:
    """The note of the file with this public id if this user may read it (None otherwise), with what its
    own page shows: its recipients and its previous versions."""
    note = (
        visible_notes(user, beneficiary)
        .filter(public_id=note_id)
        .select_related("author", "author_structure", "withdrawn_by")
        .prefetch_related(*_recipient_prefetches())
        .first()
    )
    if note is None:
        return None
    note.beneficiary = beneficiary
    _attach_note_recipients(user, [note])
    _attach_revisions([note])
    return note


def file_page_entries(beneficiary: Beneficiary) -> list[PathwayEntry]:
    """The pathway entries loaded on a file by `with_file_page_data` (notes: only the readable ones)."""
    entries: list[PathwayEntry] = [
        *beneficiary.contracts.all(),
        *beneficiary.step_list,
        *beneficiary.appointment_list,
        *beneficiary.diagnostics.all(),
        *beneficiary.readable_notes,
    ]
    for objective in beneficiary.objectives.all():
        entries.append(objective)
        entries.extend(objective.actions.all())
    return entries


def with_file_page_data(
    user: User, beneficiary: Beneficiary, *, newest: int | None = None, now: datetime.datetime | None = None
) -> Beneficiary:
    """Load the file page's data onto a file the user may read (see `file_page_prefetches`): its relations
    as prefetched (`beneficiary.contracts.all()`...: household members, assignments, orientations,
    reorientation requests, contracts, objectives with their actions, diagnostics with their barriers,
    shares), the steps in `step_list`, the appointments in `appointment_list`, the readable notes in
    `readable_notes` with their `recipient_labels`, the emergency
    accesses (for who may see them) in `emergency_access_list`, the candidate covers in `cover_candidates`,
    the imports' changes in `import_change_list`, the next planned appointment in `upcoming_appointment`,
    and the previous versions of the entries in `entry.revision_list`.

    With `newest`, `step_list`, `appointment_list` and `readable_notes` hold only the newest `newest` of each, and
    `timeline_counts` ({"step": …, "appointment": …, "note": …}) how many there are in all; without it,
    they hold everything and `timeline_counts` is None."""
    prefetch_related_objects([beneficiary], *file_page_prefetches(user, beneficiary, newest=newest, now=now))
    beneficiary.upcoming_appointment = next(iter(beneficiary.upcoming_appointments), None)
    beneficiary.timeline_counts = None
    if newest is not None:
        beneficiary.timeline_counts = {
            kind: getattr(rows[0], KIND_TOTAL) if (rows := getattr(beneficiary, name)) else 0
            for name, kind in WINDOWED_KINDS.items()
        }
    beneficiary.cover_candidates = _cover_candidates(beneficiary)
    _attach_note_recipients(user, beneficiary.readable_notes)
    _attach_revisions(file_page_entries(beneficiary))
    return beneficiary
