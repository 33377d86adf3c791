"""Named read bundles for the screens: what each page fetches, in a constant number of queries.

These take a queryset (or a file) that the permission layer has already scoped
(`casework.permissions.visible_beneficiaries` / `get_beneficiary_or_404`); they never widen it.
"""

import calendar
import datetime
import re
import uuid
from dataclasses import dataclass
from functools import cached_property

from django.db.models import (
    Exists,
    F,
    OuterRef,
    Q,
    QuerySet,
)
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone

from accounts.models import User
from casework.db_bundle import BundleTemplate, fetch_bundle, set_parent, set_prefetched
from casework.models import (
    Action,
    Appointment,
    Barrier,
    Beneficiary,
    CaseworkSettings,
    Contract,
    Cover,
    Diagnostic,
    EmergencyAccess,
    HouseholdMember,
    ImportChange,
    Note,
    Objective,
    Orientation,
    PathwayEntry,
    ReferentAssignment,
    ReorientationRequest,
    Revision,
    Share,
    Step,
    search_key,
)
from casework.permissions import can_see_emergency_accesses, note_reading_rules, readable_notes, visible_notes


def with_caseload_data(queryset: QuerySet[Beneficiary]) -> QuerySet[Beneficiary]:
    """The caseload's columns: the track of the orientation in force (a subquery: no query per row), the
    end of the latest signed, non-withdrawn contract (the file's `signed_contract_end`) and the current
    referent and structure. The caseload's sort by contract end (casework.filters) relies on the
    `contract_end` annotation."""
    return queryset.select_related("current_referent", "current_structure").annotate(
        contract_end=F("signed_contract_end"),
    )


def caseload_rows(ids: list[int]) -> list[Beneficiary]:
    """The caseload's rows for a page of ids that `casework.pagination.IdPaginator` has just read from the
    user's scope (`visible_beneficiaries`, filtered and sorted): the files by id, with the caseload's
    columns, without the scope's conditions again. Never call it with ids read anywhere else.

    Only the columns the caseload shows are read (`CASELOAD_COLUMNS`): the file's and its referent's
    timestamps would be ~200 datetimes a page to convert for nothing. A column left out and read by the
    template would cost a query per row, which the caseload's tests of its number of queries catch.
    The statement is compiled once per process and number of ids (`_CASELOAD_ROWS`)."""
    if not ids:
        return []
    return fetch_bundle(_CASELOAD_ROWS.bind(ids))["rows"]


def _caseload_rows(ids: tuple[int, ...]) -> dict[str, QuerySet[Beneficiary]]:
    return {"rows": with_caseload_data(Beneficiary.objects.filter(pk__in=ids)).only(*CASELOAD_COLUMNS).order_by("pk")}


_CASELOAD_ROWS = BundleTemplate(_caseload_rows)


# What the caseload's rows show (templates/casework/includes/caseload_results.html, views/caseload.py).
CASELOAD_COLUMNS = (
    "public_id",
    "last_name",
    "first_name",
    "birth_date",
    "organism",
    "allocataire_number",
    "commune",
    "is_active",
    "orientation_track",
    "signed_contract_end",
    "last_activity_at",
    "current_referent__first_name",
    "current_referent__last_name",
    "current_referent__username",
    "current_structure__name",
    "current_structure__is_sensitive",
)


# The kinds of pathway entries a file gathers by the hundred, by the name of their queryset in
# file_page_querysets: the file page may read only the newest of each, with their counts (issue 8).
WINDOWED_KINDS = {"steps": "step", "appointments": "appointment", "notes": "note"}


def file_page_querysets(
    user: User, beneficiary: Beneficiary, *, now: datetime.datetime | None = None
) -> dict[str, QuerySet]:
    """Everything the file page shows beside the file's own columns, one queryset per kind of object,
    which `with_file_page_data` reads in one statement (casework.db_bundle): those of the file alone
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
    `_FILE_TEMPLATE` compiles once per process (casework.db_bundle.BundleTemplate). Nothing here may depend
    on the user, the time or the settings.

    Steps and appointments come newest first, in the timeline's order (casework.timeline), so that the
    page may read only the newest of each. `covers` are the covers of the file's referents in their
    structures, which casework.timeline narrows to the periods the file was theirs. `emergency_accesses`
    only when asked for (only some users may see them: casework.permissions.can_see_emergency_accesses).
    """
    of_file = {"beneficiary": file_id}
    assignments = ReferentAssignment.objects.filter(**of_file)
    querysets = {
        # Explicit orders where Meta.ordering starts with the file (one file here: the same rows in the
        # same order); casework.db_bundle wants orders it can number.
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
        # The timeline's order (casework.timeline._sort_key), newest first.
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
    own page shows, its recipients and its previous versions: one statement (casework.db_bundle)."""
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


# --- The caseload's filters and search (casework.filters, casework.views.caseload) -------------------
# Each takes a queryset already scoped by casework.permissions.visible_beneficiaries and only narrows it.


def orientation_in_force() -> QuerySet[Orientation]:
    """The orientation in force of the file at OuterRef("pk"): the decided one (a unique constraint
    allows one at most)."""
    return Orientation.objects.filter(beneficiary=OuterRef("pk"), status=Orientation.Status.DECIDED).order_by(
        "-decided_on", "-created_at"
    )


def latest_signed_contract() -> QuerySet[Contract]:
    """The signed contracts of the file at OuterRef("pk") that were not withdrawn, latest first."""
    return Contract.objects.filter(
        beneficiary=OuterRef("pk"), status=Contract.Status.SIGNED, withdrawn_at__isnull=True
    ).order_by("-start_date", "-end_date", "-pk")


def caseload_with_track(queryset: QuerySet[Beneficiary], track: str | None) -> QuerySet[Beneficiary]:
    """Files whose orientation in force has this track; with None, files with no orientation in force."""
    return queryset.filter(orientation_track=track or "")


# Contract states of a file, from the end date of its latest signed, non-withdrawn contract.
CONTRACT_NONE = "none"
CONTRACT_RUNNING = "running"
CONTRACT_ENDING = "ending"
CONTRACT_EXPIRED = "expired"


def caseload_with_contract_state(
    queryset: QuerySet[Beneficiary], state: str, *, today: datetime.date, ending_within: datetime.timedelta
) -> QuerySet[Beneficiary]:
    """Files whose latest signed contract is missing, running (ends after `ending_within`), ending
    (today or within `ending_within`) or expired (ended before today)."""
    soon = today + ending_within
    conditions = {
        CONTRACT_NONE: Q(latest_contract_end__isnull=True),
        CONTRACT_RUNNING: Q(latest_contract_end__gt=soon),
        CONTRACT_ENDING: Q(latest_contract_end__range=(today, soon)),  # BETWEEN: the subquery runs once
        CONTRACT_EXPIRED: Q(latest_contract_end__lt=today),
    }
    return queryset.alias(latest_contract_end=F("signed_contract_end")).filter(conditions[state])


def caseload_inactive_since(queryset: QuerySet[Beneficiary], since: datetime.datetime) -> QuerySet[Beneficiary]:
    """Files with no activity since this instant; a file with no recorded activity at all counts."""
    return queryset.filter(Q(last_activity_at__isnull=True) | Q(last_activity_at__lt=since))


def caseload_with_missed_appointment(
    queryset: QuerySet[Beneficiary], *, since: datetime.datetime, until: datetime.datetime, missed: bool = True
) -> QuerySet[Beneficiary]:
    """Files with (or, missed=False, without) a missed, non-withdrawn appointment between two instants."""
    missed_appointment = Exists(
        Appointment.objects.filter(
            beneficiary=OuterRef("pk"),
            status=Appointment.Status.MISSED,
            withdrawn_at__isnull=True,
            scheduled_at__gte=since,
            scheduled_at__lte=until,
        )
    )
    return queryset.filter(missed_appointment if missed else ~missed_appointment)


# A term made of digits (spaces allowed: a number is often read out in groups) is a CAF/MSA number.
ALLOCATAIRE_TERM = re.compile(r"[\d\s]+")
_WORD_SEPARATORS = re.compile(r"\W+")


def caseload_search(queryset: QuerySet[Beneficiary], term: str) -> QuerySet[Beneficiary]:
    """Files matching a typed term.

    Digits: the start of the CAF/MSA number. Anything else: a name, accent- and case-insensitive,
    through the denormalised `search_text` (the names as `search_key` writes them): every word of the
    term must appear in it, anywhere (`LIKE '%word%'`, served by the trigram index `benef_search_trgm`
    on PostgreSQL; the same filter scans on SQLite). Punctuation separates words: "jean-pierre" finds
    "Jean Pierre", "n'diaye" finds "N'Diaye".
    """
    term = term.strip()
    if not term:
        return queryset
    if ALLOCATAIRE_TERM.fullmatch(term):
        return queryset.filter(allocataire_number__startswith="".join(term.split()))
    words = [word for word in _WORD_SEPARATORS.split(search_key(term)) if word]
    if not words:
        return queryset.none()
    for word in words:
        queryset = queryset.filter(search_text__contains=word)
    return queryset


# --- Deadlines of the pathway (the caseload's filters, and casework.supervision: the team's dashboard) --


def months_before(moment: datetime.datetime, months: int) -> datetime.datetime:
    """The same local day and time `months` calendar months earlier (the 31st becomes the month's last day)."""
    moment = timezone.localtime(moment)
    index = moment.year * 12 + moment.month - 1 - months
    year, month = divmod(index, 12)
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)


@dataclass(frozen=True)
class Deadlines:
    """The Département's deadlines (CaseworkSettings, edited by a department admin) applied at one instant:
    the limits the caseload's filters and the supervisors' dashboard and alerts compare files with."""

    settings: CaseworkSettings
    now: datetime.datetime

    @classmethod
    def current(cls, now: datetime.datetime | None = None) -> "Deadlines":
        return cls(CaseworkSettings.current(), now or timezone.now())

    @cached_property
    def today(self) -> datetime.date:
        return timezone.localdate(self.now)

    @property
    def new_since(self) -> datetime.datetime:
        """A file taken on by its referent at or after this instant is new."""
        return self.now - datetime.timedelta(days=self.settings.new_files_days)

    @property
    def orientation_entered_before(self) -> datetime.date:
        """A file with no orientation that entered the RSA before this day is late."""
        return self.today - datetime.timedelta(days=self.settings.orientation_delay_days)

    @property
    def contract_oriented_before(self) -> datetime.date:
        """A file oriented before this day with no contract since is late."""
        return self.today - datetime.timedelta(days=self.settings.contract_delay_days)

    @property
    def contract_ending_within(self) -> datetime.timedelta:
        return datetime.timedelta(days=self.settings.contract_expiring_days)

    def inactive_since(self, months: int) -> datetime.datetime:
        return months_before(self.now, months)

    @property
    def missed_since(self) -> datetime.datetime:
        return self.now - datetime.timedelta(days=self.settings.missed_appointments_days)


# The indicators of the supervisors' dashboard (casework.supervision), one key each: the key is also the
# value of the caseload's "alerte" filter (casework.filters), so that a figure and the list behind it
# apply the same condition. All concern files whose support is ongoing.
NEW = "nouveaux"
INACTIVE_WARNING = "sans_activite"
INACTIVE_ALERT = "sans_activite_longue"
AWAITING_ORIENTATION = "attente_orientation"
ORIENTATION_LATE = "orientation_en_retard"
CONTRACT_LATE = "contrat_en_retard"
CONTRACT_EXPIRED = "contrat_echu"
CONTRACT_EXPIRING = "contrat_a_echeance"
MISSED_APPOINTMENT = "rendez_vous_manque"
WARNING_KEYS = (
    NEW,
    INACTIVE_WARNING,
    INACTIVE_ALERT,
    AWAITING_ORIENTATION,
    ORIENTATION_LATE,
    CONTRACT_LATE,
    CONTRACT_EXPIRED,
    CONTRACT_EXPIRING,
    MISSED_APPOINTMENT,
)


def open_assignment() -> QuerySet[ReferentAssignment]:
    """The open assignment of the file at OuterRef("pk") (a unique constraint allows one at most)."""
    return ReferentAssignment.objects.filter(beneficiary=OuterRef("pk"), ended_at__isnull=True)


def missed_appointments(deadlines: Deadlines) -> QuerySet[Appointment]:
    """The missed, non-withdrawn appointments of the file at OuterRef("pk") in the Département's window."""
    return Appointment.objects.filter(
        beneficiary=OuterRef("pk"),
        status=Appointment.Status.MISSED,
        withdrawn_at__isnull=True,
        scheduled_at__gte=deadlines.missed_since,
        scheduled_at__lte=deadlines.now,
    )


def warning_aliases() -> dict:
    """The per-file values the conditions compare (subqueries: no query per file).

    - `last_seen_at`: the last activity, or (none yet) the file's arrival;
    - `entered_on`: the day the person entered the RSA, or (unknown) the day the file arrived;
    - `oriented_on`: the decision day of the orientation in force (None: not oriented;
      `orientation_decided_on`);
    - `latest_contract_end`: the end of the latest signed, non-withdrawn contract (`signed_contract_end`);
    - `contracts_until`: the latest end among the signed, non-withdrawn contracts (`signed_contracts_until`).
    """
    return {
        "last_seen_at": Coalesce("last_activity_at", "created_at"),
        "entered_on": Coalesce("rsa_entry_date", TruncDate("created_at")),
        "oriented_on": F("orientation_decided_on"),
        "latest_contract_end": F("signed_contract_end"),
        "contracts_until": F("signed_contracts_until"),
    }


def _inactive(since: datetime.datetime) -> Q:
    # A file with no recorded activity yet counts from its arrival (a file that came in yesterday is not
    # "without activity for months"): the `last_seen_at` alias of warning_aliases.
    return Q(last_seen_at__lt=since)


def warning_conditions(deadlines: Deadlines) -> dict[str, Q]:
    """Each indicator as a condition on files carrying `warning_aliases`.

    - new: its current referent took it on within `new_files_days` (the open assignment started then:
      a file handed over by a colleague is new to whoever receives it);
    - without activity for `inactivity_warning_months` / `inactivity_alert_months` (`last_activity_at`, or
      the file's arrival when nothing was recorded yet);
    - awaiting orientation: no orientation in force; late when, for a person subject to the rights and
      duties (SDD), the RSA entry is more than `orientation_delay_days` old;
    - oriented without a contract (SDD): the orientation in force was decided more than
      `contract_delay_days` ago and no signed contract has run since that decision;
    - contract expired: the latest signed contract ended before today; expiring: it ends today or
      within `contract_expiring_days`;
    - missed appointment: at least one in the last `missed_appointments_days`.
    """
    settings = deadlines.settings
    today = deadlines.today
    not_oriented = Q(oriented_on__isnull=True)
    expiring_until = today + deadlines.contract_ending_within
    return {
        NEW: Q(Exists(open_assignment().filter(started_at__gte=deadlines.new_since))),
        INACTIVE_WARNING: _inactive(deadlines.inactive_since(settings.inactivity_warning_months)),
        INACTIVE_ALERT: _inactive(deadlines.inactive_since(settings.inactivity_alert_months)),
        AWAITING_ORIENTATION: not_oriented,
        ORIENTATION_LATE: not_oriented & Q(sdd=True, entered_on__lt=deadlines.orientation_entered_before),
        # No signed contract ran on or after the decision day: none ends on that day or later.
        CONTRACT_LATE: Q(sdd=True, oriented_on__lt=deadlines.contract_oriented_before)
        & (Q(contracts_until__isnull=True) | Q(contracts_until__lt=F("oriented_on"))),
        CONTRACT_EXPIRED: Q(latest_contract_end__lt=today),
        CONTRACT_EXPIRING: Q(latest_contract_end__range=(today, expiring_until)),  # BETWEEN: one subquery
        MISSED_APPOINTMENT: Q(Exists(missed_appointments(deadlines))),
    }


def caseload_with_warning(queryset: QuerySet[Beneficiary], key: str, deadlines: Deadlines) -> QuerySet[Beneficiary]:
    """Files with support ongoing that meet one indicator of the supervisors' dashboard."""
    return queryset.filter(is_active=True).alias(**warning_aliases()).filter(warning_conditions(deadlines)[key])
