"""What the file page and its partials read (www.views.file, www.timeline): the file, its pathway, the
notes this user may read, and what imports changed, for a file the user may read.

Everything is read with Django's own tools: the file through its scoped queryset with the prefetch
bundle of `BeneficiaryQuerySet.with_file_page_data` (one query per kind of object, whatever the file
holds), the newest steps, appointments and notes as plain querysets, then the covers and the previous
versions of the entries (one query each). The number of statements does not depend on the file's size.
"""

import datetime
import functools
import operator
import uuid

from django.db.models import Count, Prefetch, Q, QuerySet, Window, prefetch_related_objects
from django.utils import timezone

from accounts.models import Department, Structure, User
from casework.models import (
    Appointment,
    Beneficiary,
    Cover,
    Note,
    PathwayEntry,
    ReferentAssignment,
    Revision,
)
from casework.permissions import can_see_emergency_accesses, get_beneficiary_or_404, visible_notes
from imports.models import ImportChange

# The kinds of pathway entries a file gathers by the hundred, by the attribute they are loaded in: the file
# page reads only the newest of each, with how many the file holds (issue 8).
WINDOWED_KINDS = {"step_list": "step", "appointment_list": "appointment", "readable_notes": "note"}

# The annotation that carries, on each row of a windowed kind, how many rows of that kind the file holds.
KIND_TOTAL = "kind_total"


def _newest(queryset: QuerySet, newest: int | None) -> list:
    """The queryset's first `newest` rows (every row without `newest`), each carrying in `kind_total` how
    many rows the queryset holds in all: `COUNT(*) OVER ()`, which the database computes before the
    `LIMIT` cuts the rows, in the same statement."""
    if newest is None:
        return list(queryset)
    return list(queryset.annotate(**{KIND_TOTAL: Window(Count("pk"))})[:newest])


def _recipient_prefetches() -> list[Prefetch]:
    """The departments, structures and people notes are shared with, with the columns their labels need
    (`_attach_note_recipients`)."""
    return [
        Prefetch("shared_with_departments", queryset=Department.objects.only("name")),
        Prefetch("shared_with_structures", queryset=Structure.objects.only("name", "is_sensitive")),
        Prefetch("shared_with_users", queryset=User.objects.only("username", "first_name", "last_name")),
    ]


def _import_changes() -> Prefetch:
    """What imports changed on the file (`import_change_list`), in the order of the imports and lines."""
    return Prefetch(
        "import_changes",
        queryset=ImportChange.objects.select_related("beneficiary_import__uploaded_by").order_by(
            "beneficiary_import_id", "pk"
        ),
        to_attr="import_change_list",
    )


def _load_entries(user: User, file: Beneficiary, *, newest: int | None, now: datetime.datetime | None = None) -> None:
    """The entries a file gathers by the hundred, the newest first in the timeline's order
    (www.timeline._sort_key), only the newest `newest` of each kind when given: the steps in `step_list`,
    the appointments in `appointment_list`, the notes `visible_notes` lets this user read in
    `readable_notes` (with the departments, structures and people they are shared with), and the next
    planned appointment (from `now`) in `upcoming_appointment`, which the summary shows however few
    appointments are read. One statement each, plain querysets on the one file."""
    file.step_list = _newest(
        file.steps.select_related("author", "author_structure", "withdrawn_by").order_by(
            "-date", "-created_at", "-pk"
        ),
        newest,
    )
    file.appointment_list = _newest(
        file.appointments.select_related("with_user", "with_structure", "author", "withdrawn_by").order_by(
            "-scheduled_at", "-pk"
        ),
        newest,
    )
    file.upcoming_appointment = (
        file.appointments.filter(
            status=Appointment.Status.PLANNED, withdrawn_at__isnull=True, scheduled_at__gte=now or timezone.now()
        )
        .select_related("with_user", "with_structure", "author", "withdrawn_by")
        .order_by("scheduled_at", "pk")
        .first()
    )
    file.readable_notes = _newest(
        visible_notes(user, file)
        .select_related("author", "author_structure", "withdrawn_by")
        .order_by("-created_at", "-pk"),
        newest,
    )
    prefetch_related_objects(file.readable_notes, *_recipient_prefetches())
    for note in file.readable_notes:
        note.beneficiary = file  # the file is known: no lookup when a note's page or item names it


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
    """The pathway entries loaded on a file by `file_page_data` (notes: only the readable ones)."""
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


def file_page_data(
    user: User, public_id: uuid.UUID | str, *, newest: int | None = None, now: datetime.datetime | None = None
) -> Beneficiary:
    """The file with this public id if the user may read it, with what the file page shows; 404 otherwise,
    whether it exists or not (casework.permissions.get_beneficiary_or_404).

    Its relations as prefetched by `BeneficiaryQuerySet.with_file_page_data` (`file.contracts.all()`...),
    what imports changed in `import_change_list`; the steps in `step_list`, the appointments in
    `appointment_list`, the readable notes in `readable_notes` with their `recipient_labels`, the next
    planned appointment in `upcoming_appointment` (`_load_entries`); the emergency accesses (for who may
    see them) in `emergency_access_list`, the candidate covers in `cover_candidates`, and the previous
    versions of the entries in `entry.revision_list`.

    With `newest`, `step_list`, `appointment_list` and `readable_notes` hold only the newest `newest` of
    each, and `timeline_counts` ({"step": …, "appointment": …, "note": …}) how many there are in all;
    without it, they hold everything and `timeline_counts` is None. The number of statements does not
    depend on what the file holds."""
    files = Beneficiary.objects.with_file_page_data().prefetch_related(_import_changes())
    file = get_beneficiary_or_404(user, public_id, files=files)
    _load_entries(user, file, newest=newest, now=now)
    file.timeline_counts = None
    if newest is not None:
        file.timeline_counts = {
            kind: getattr(rows[0], KIND_TOTAL) if (rows := getattr(file, name)) else 0
            for name, kind in WINDOWED_KINDS.items()
        }
    if can_see_emergency_accesses(user, file):
        file.emergency_access_list = list(
            file.emergency_accesses.select_related("user", "user_structure").order_by("-started_at")
        )
    file.cover_candidates = _cover_candidates(file)
    _attach_note_recipients(user, file.readable_notes)
    _attach_revisions(file_page_entries(file))
    return file
