"""The file page's timeline (everything that happened on a file, newest first) and its summary (where
the pathway stands today).

Both are built in Python from what `www.file_page.file_page_data` loaded on the file (a constant
number of queries): no query here, whatever the number of entries. Notes are only those the user may read
(`beneficiary.readable_notes`), emergency accesses only for those allowed to see them; previous
versions are those attached to the loaded entries (`entry.revision_list`).
"""

import datetime
import json
from collections import Counter
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from django.core.exceptions import FieldDoesNotExist
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.template.defaultfilters import date as format_date
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from accounts.models import Structure, User
from casework.models import (
    Appointment,
    Barrier,
    Beneficiary,
    Contract,
    Cover,
    Diagnostic,
    Note,
    Objective,
    Orientation,
    PathwayEntry,
    ReorientationRequest,
    Revision,
    Step,
)
from imports.models import ImportChange
from www.filters import CONTRACT_ENDING_SOON_DAYS  # the caseload flags contracts with the same delay

KIND_LABELS = {
    "step": "Étape",
    "appointment": "Rendez-vous",
    "note": "Note",
    "contract": "Contrat",
    "objective": "Objectif",
    "action": "Action",
    "diagnostic": "Diagnostic",
    "orientation": "Orientation",
    "assignment": "Référent·e",
    "cover": "Intérim",
    "share": "Partage",
    "emergency_access": "Accès exceptionnel",
    "reorientation": "Réorientation",
    "support_end": "Fin d'accompagnement",
    "import": "Import CAF/MSA",
}


# The colour of each kind's mark on the timeline (Bootstrap `border-*`).
KIND_TONES = {
    "step": "primary",
    "appointment": "info",
    "note": "secondary",
    "contract": "success",
    "objective": "warning",
    "action": "warning",
    "diagnostic": "warning",
    "orientation": "dark",
    "reorientation": "dark",
    "assignment": "primary",
    "cover": "primary",
    "share": "danger",
    "emergency_access": "danger",
    "support_end": "dark",
    "import": "secondary",
}


@dataclass(frozen=True)
class TimelineFilter:
    """A choice of the timeline's kind filter (`?type=<code>`), and the kinds of item it shows."""

    code: str
    label: str
    kinds: frozenset[str]


TIMELINE_FILTERS = (
    TimelineFilter("step", "Étapes", frozenset({"step"})),
    TimelineFilter("appointment", "Rendez-vous", frozenset({"appointment"})),
    TimelineFilter("note", "Notes", frozenset({"note"})),
    TimelineFilter("contract", "Contrats", frozenset({"contract"})),
    TimelineFilter("objective", "Objectifs et actions", frozenset({"objective", "action"})),
    TimelineFilter("diagnostic", "Diagnostics", frozenset({"diagnostic"})),
    TimelineFilter("orientation", "Orientation", frozenset({"orientation", "reorientation"})),
    TimelineFilter("assignment", "Référent·es et intérims", frozenset({"assignment", "cover"})),
    TimelineFilter("share", "Partages et accès", frozenset({"share", "emergency_access"})),
    TimelineFilter("support_end", "Fin d'accompagnement", frozenset({"support_end"})),
    TimelineFilter("import", "Imports CAF/MSA", frozenset({"import"})),
)

# Badge colours of the statuses shown on the items (Bootstrap `text-bg-*`).
_TONES = {
    "planned": "info",
    "done": "success",
    "honoured": "success",
    "signed": "success",
    "decided": "success",
    "accepted": "success",
    "achieved": "success",
    "in_progress": "primary",
    "open": "primary",
    "missed": "warning",
    "pending": "warning",
    "proposed": "warning",
    "draft": "light",
    "refused": "danger",
}

# The fields of each kind of entry that a previous version shows when they changed, in this order.
REVISION_FIELDS: dict[type[models.Model], tuple[str, ...]] = {
    Step: ("kind", "date", "status", "outcome"),
    Appointment: ("scheduled_at", "location", "purpose", "status"),
    Note: ("body", "visibility", "is_sensitive"),
    Contract: (
        "kind",
        "status",
        "start_date",
        "end_date",
        "signed_on",
        "weekly_hours",
        "objectives",
        "beneficiary_agreed",
    ),
    Objective: ("theme", "title", "description", "status", "due_date", "beneficiary_agreed"),
    Diagnostic: ("carried_out_on", "situation", "education_level", "qualifications", "work_experience"),
}


@dataclass
class RevisionChange:
    label: str
    value: str


@dataclass
class PreviousVersion:
    """A previous version of an entry as the timeline shows it: what it said that changed since."""

    version: int
    changed_at: datetime.datetime
    changed_by: User
    changes: list[RevisionChange]


@dataclass
class TimelineItem:
    """One line of the timeline. `obj` is the object it comes from (the file itself for the end of
    support); `template` renders its details. An object may give two items (a share and its end, a
    reorientation request and its decision): only its `primary` item carries the entry's actions."""

    kind: str
    when: datetime.date | datetime.datetime
    title: str
    obj: Any
    event: str = ""
    author: User | None = None
    author_structure: Structure | None = None
    status_label: str = ""
    status_tone: str = "secondary"
    primary: bool = True
    is_future: bool = False
    corrected_at: datetime.datetime | None = None
    withdrawn_at: datetime.datetime | None = None
    withdrawn_by: User | None = None
    withdrawal_reason: str = ""
    previous_versions: list[PreviousVersion] = field(default_factory=list)
    # More badges: (label, Bootstrap tone).
    flags: list[tuple[str, str]] = field(default_factory=list)
    # For a referent change: the assignment it ended.
    previous_assignment: Any = None
    # Secondary sort key within a day: the instant it happened, or when it was written down.
    written_at: datetime.datetime | None = None
    # For an import: what it changed on the file (field label, old value, new value).
    changes: list["ImportChangeLine"] = field(default_factory=list)

    @property
    def kind_label(self) -> str:
        return KIND_LABELS[self.kind]

    @property
    def kind_tone(self) -> str:
        return KIND_TONES[self.kind]

    @cached_property
    def has_time(self) -> bool:
        return isinstance(self.when, datetime.datetime)

    @cached_property
    def day(self) -> datetime.date:
        return timezone.localdate(self.when) if self.has_time else self.when

    @property
    def is_withdrawn(self) -> bool:
        return self.withdrawn_at is not None

    @property
    def template(self) -> str:
        return f"casework/includes/timeline/{self.kind}.html"

    @cached_property
    def status_dom_id(self) -> str:
        """The id of the status badge of an entry's primary item, which the one-click status change of
        views/entries.py updates in place (an htmx out-of-band swap); empty for the other items."""
        if self.primary and isinstance(self.obj, PathwayEntry):
            return f"entry-status-{self.obj.public_id}"
        return ""

    @cached_property
    def anchor(self) -> str:
        """A stable HTML id for the item."""
        return f"evenement-{self.kind}-{self.obj.pk}{'-' + self.event if self.event else ''}"


def _aware_min() -> datetime.datetime:
    return datetime.datetime.min.replace(tzinfo=datetime.UTC)


def _status(obj: models.Model) -> tuple[str, str]:
    value = getattr(obj, "status", "")
    if not value:
        return "", "secondary"
    return obj.get_status_display(), _TONES.get(value, "secondary")


def _entry_item(kind: str, entry: PathwayEntry, when, title: str, **extra) -> TimelineItem:
    label, tone = _status(entry)
    extra.setdefault("status_label", label)
    extra.setdefault("status_tone", tone)
    return TimelineItem(
        kind=kind,
        when=when,
        title=title,
        obj=entry,
        author=getattr(entry, "author", None),
        corrected_at=entry.corrected_at,
        withdrawn_at=entry.withdrawn_at,
        withdrawn_by=entry.withdrawn_by,
        withdrawal_reason=entry.withdrawal_reason,
        previous_versions=previous_versions(entry),
        written_at=entry.created_at,
        **extra,
    )


# --- Previous versions -------------------------------------------------------------------------


def _comparable(value) -> Any:
    """A value as a Revision stores it (JSON, DjangoJSONEncoder), to compare with the stored ones."""
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder))


def _display(model_field: models.Field, value) -> str:
    if value is None or value == "":
        return "—"
    if model_field.choices:
        return str(dict(model_field.flatchoices).get(value, value))
    if isinstance(model_field, models.BooleanField):
        return "oui" if value else "non"
    if isinstance(model_field, models.DateTimeField):
        moment = parse_datetime(value) if isinstance(value, str) else value
        return format_date(timezone.localtime(moment), "d/m/Y H:i") if moment else str(value)
    if isinstance(model_field, models.DateField):
        day = parse_date(value) if isinstance(value, str) else value
        return format_date(day, "d/m/Y") if day else str(value)
    return str(value)


def previous_versions(entry: PathwayEntry) -> list[PreviousVersion]:
    """The corrected versions of an entry, newest first, each with the fields that the next version
    changed (their value in that version). A withdrawal keeps the last version too, but it says what
    the entry still says: it is shown as the withdrawal marker, not here."""
    revisions: list[Revision] = getattr(entry, "revision_list", [])
    names = REVISION_FIELDS.get(type(entry), ())
    if not revisions or not names:
        return []
    fields = [entry._meta.get_field(name) for name in names]
    current = {f.name: _comparable(f.value_from_object(entry)) for f in fields}
    by_version = {revision.version: revision.data for revision in revisions}
    versions = []
    for revision in sorted(revisions, key=lambda r: r.version, reverse=True):
        if revision.action == Revision.Action.WITHDRAWN:
            continue
        newer = [v for v in by_version if v > revision.version]
        following = by_version[min(newer)] if newer else current
        changes = [
            RevisionChange(str(f.verbose_name).capitalize(), _display(f, revision.data.get(f.name)))
            for f in fields
            if revision.data.get(f.name) != following.get(f.name)
        ]
        versions.append(PreviousVersion(revision.version, revision.changed_at, revision.changed_by, changes))
    return versions


# --- The timeline ------------------------------------------------------------------------------


def _steps(file: Beneficiary) -> list[TimelineItem]:
    return [
        _entry_item("step", step, step.date, step.get_kind_display(), author_structure=step.author_structure)
        for step in file.step_list
    ]


def _appointments(file: Beneficiary, now: datetime.datetime) -> list[TimelineItem]:
    return [
        _entry_item(
            "appointment",
            appointment,
            appointment.scheduled_at,
            appointment.purpose or "Rendez-vous",
            is_future=appointment.scheduled_at > now,
        )
        for appointment in file.appointment_list
    ]


def _contracts(file: Beneficiary) -> list[TimelineItem]:
    items = []
    for contract in file.contracts.all():
        title = (
            f"Renouvellement : {contract.get_kind_display()}" if contract.renews_id else contract.get_kind_display()
        )
        items.append(_entry_item("contract", contract, contract.signed_on or contract.start_date, title))
    return items


def _objectives(file: Beneficiary) -> list[TimelineItem]:
    items = []
    for objective in file.objectives.all():
        items.append(_entry_item("objective", objective, objective.created_at, objective.title))
        for action in objective.actions.all():
            items.append(_entry_item("action", action, action.created_at, action.title))
    return items


def _diagnostics(file: Beneficiary) -> list[TimelineItem]:
    return [
        _entry_item("diagnostic", diagnostic, diagnostic.carried_out_on, "Diagnostic socio-professionnel")
        for diagnostic in file.diagnostics.all()
    ]


_NOTE_TITLES = {
    Note.Visibility.PRIVATE: "Note privée",
    Note.Visibility.SHARED: "Note partagée",
    Note.Visibility.FOLLOWERS: "Note pour tous les intervenants",
}


def note_item(note: Note) -> TimelineItem:
    """A note as the timeline shows it (also the note's own page, views/file.py: note_detail); the
    note carries `recipient_labels` and `revision_list` (www.file_page)."""
    return _entry_item(
        "note",
        note,
        note.created_at,
        _NOTE_TITLES.get(note.visibility, "Note"),
        author_structure=note.author_structure,
        flags=[("sensible", "danger")] if note.is_sensitive else [],
    )


def _notes(file: Beneficiary) -> list[TimelineItem]:
    return [note_item(note) for note in file.readable_notes]


def _orientations(file: Beneficiary) -> list[TimelineItem]:
    items = []
    for orientation in file.orientations.all():
        label, tone = _status(orientation)
        items.append(
            TimelineItem(
                kind="orientation",
                when=orientation.decided_on or orientation.created_at,
                title=f"Orientation {orientation.get_track_display().lower()}",
                obj=orientation,
                author=orientation.decided_by,
                status_label=label,
                status_tone=tone,
                written_at=orientation.created_at,
            )
        )
    return items


def _assignments(file: Beneficiary) -> list[TimelineItem]:
    items = []
    previous = None
    for assignment in sorted(file.assignments.all(), key=lambda a: (a.started_at, a.pk)):
        item = TimelineItem(
            kind="assignment",
            when=assignment.started_at,
            title=f"Désignation de {assignment.referent.get_full_name() or assignment.referent.username}",
            obj=assignment,
            event="change" if previous else "first",
            author=assignment.assigned_by,
            previous_assignment=previous,
            written_at=assignment.created_at,
        )
        items.append(item)
        previous = assignment
    return items


def _cover_last_day(cover: Cover) -> datetime.date | None:
    """The last day a cover granted access: its end, or the day it was cancelled; None if it was
    cancelled before its first day (it never covered anything)."""
    if cover.cancelled_at is None:
        return cover.ends_on
    cancelled_on = timezone.localdate(cover.cancelled_at)
    if cancelled_on < cover.starts_on:
        return None
    return min(cover.ends_on, cancelled_on)


def file_covers(file: Beneficiary) -> list[Cover]:
    """The covers that concerned the file's referents, in the file's structure, while the file was
    theirs: from the covers of its referents in their structures (`file.cover_candidates`) and its
    assignments, both loaded by `www.file_page.file_page_data`. Stored in `file.cover_list`; each cover gets
    `last_day` (see `_cover_last_day`)."""
    if hasattr(file, "cover_list"):
        return file.cover_list
    assignments = list(file.assignments.all())
    found: list[Cover] = []
    for cover in file.cover_candidates:
        cover.last_day = _cover_last_day(cover)
        if cover.last_day is None:
            continue
        for assignment in assignments:
            first = timezone.localdate(assignment.started_at)
            last = timezone.localdate(assignment.ended_at) if assignment.ended_at else datetime.date.max
            if (
                assignment.referent_id == cover.absent_referent_id
                and assignment.structure_id == cover.structure_id
                and cover.starts_on <= last
                and cover.last_day >= first
            ):
                found.append(cover)
                break
    file.cover_list = found
    return found


def _covers(file: Beneficiary) -> list[TimelineItem]:
    items = []
    for cover in file_covers(file):
        covering = cover.covering_referent.get_full_name() or cover.covering_referent.username
        absent = cover.absent_referent.get_full_name() or cover.absent_referent.username
        items.append(
            TimelineItem(
                kind="cover",
                when=cover.starts_on,
                title=(
                    f"Suivi par {covering} pendant l'absence de {absent}, "
                    f"du {cover.starts_on:%d/%m/%Y} au {cover.last_day:%d/%m/%Y}"
                ),
                obj=cover,
                author=cover.created_by,
                status_label="annulé" if cover.cancelled_at else "",
                written_at=cover.created_at,
            )
        )
    return items


def _reorientations(file: Beneficiary) -> list[TimelineItem]:
    items = []
    for request in file.reorientation_requests.all():
        label, tone = _status(request)
        track = request.get_proposed_track_display().lower()
        items.append(
            TimelineItem(
                kind="reorientation",
                when=request.created_at,
                title=f"Demande de réorientation : orientation {track}",
                obj=request,
                event="request",
                author=request.requested_by,
                status_label=label,
                status_tone=tone,
                written_at=request.created_at,
            )
        )
        if request.status != ReorientationRequest.Status.PENDING and request.decided_at:
            accepted = request.status == ReorientationRequest.Status.ACCEPTED
            items.append(
                TimelineItem(
                    kind="reorientation",
                    when=request.decided_at,
                    title=f"Réorientation {'acceptée' if accepted else 'refusée'} : orientation {track}",
                    obj=request,
                    event="decision",
                    author=request.decided_by,
                    status_label=label,
                    status_tone=tone,
                    primary=False,
                    written_at=request.decided_at,
                )
            )
    return items


def _shares(file: Beneficiary) -> list[TimelineItem]:
    items = []
    for share in file.shares.all():
        items.append(
            TimelineItem(
                kind="share",
                when=share.starts_at,
                title="Dossier partagé",
                obj=share,
                event="start",
                author=share.author,
                written_at=share.created_at,
            )
        )
        if share.ended_at:
            items.append(
                TimelineItem(
                    kind="share",
                    when=share.ended_at,
                    title="Partage arrêté",
                    obj=share,
                    event="end",
                    author=share.ended_by,
                    primary=False,
                    written_at=share.ended_at,
                )
            )
    return items


def _emergency_accesses(file: Beneficiary) -> list[TimelineItem]:
    return [
        TimelineItem(
            kind="emergency_access",
            when=access.started_at,
            title="Dossier ouvert en accès exceptionnel",
            obj=access,
            author=access.user,
            author_structure=access.user_structure,
            written_at=access.created_at,
        )
        for access in file.emergency_access_list
    ]


def _support_end(file: Beneficiary) -> list[TimelineItem]:
    if not file.support_ended_on:
        return []
    return [TimelineItem(kind="support_end", when=file.support_ended_on, title="Fin d'accompagnement", obj=file)]


@dataclass
class ImportChangeLine:
    label: str
    old: str
    new: str


# ImportChange.field values that are not Beneficiary fields.
_IMPORT_FIELD_LABELS = {"household": "membres du foyer", "support_ended_on": "fin d'accompagnement"}


def _import_value(name: str, value: str) -> str:
    """An ImportChange value (ISO date, "true"/"false", a choice's value, text) as the page shows it."""
    if value == "":
        return "—"
    try:
        model_field = Beneficiary._meta.get_field(name)
    except FieldDoesNotExist:
        model_field = None
    if isinstance(model_field, models.BooleanField):
        return "oui" if value == "true" else "non"
    if isinstance(model_field, models.DateField):
        day = parse_date(value)
        return format_date(day, "d/m/Y") if day else value
    if model_field is not None and model_field.choices:
        return str(dict(model_field.flatchoices).get(value, value))
    return value


def _import_label(name: str) -> str:
    if name in _IMPORT_FIELD_LABELS:
        return _IMPORT_FIELD_LABELS[name]
    try:
        return str(Beneficiary._meta.get_field(name).verbose_name)
    except FieldDoesNotExist:
        return name


def _imports(file: Beneficiary) -> list[TimelineItem]:
    """What imports of CAF/MSA files did to the file: one item per import, with each field's old and new
    value (`file.import_change_list`, loaded by `www.file_page.file_page_data`). Shown inside the file page only, to
    those who may read the file."""
    by_import: dict[int, list[ImportChange]] = {}
    for change in file.import_change_list:
        by_import.setdefault(change.beneficiary_import_id, []).append(change)
    organism = file.get_organism_display()
    items = []
    for changes in by_import.values():
        imported = changes[0].beneficiary_import
        day = f"{timezone.localtime(imported.uploaded_at):%d/%m/%Y}"
        kinds = {change.kind for change in changes}
        updated = [change for change in changes if change.kind != ImportChange.Kind.CREATED]
        labels = [_import_label(change.field) for change in updated]
        if ImportChange.Kind.CREATED in kinds:
            title = f"Dossier créé par l'import {organism} du {day}, en attente d'orientation"
        else:
            title = f"Mise à jour par l'import {organism} du {day} : {', '.join(labels)}"
        items.append(
            TimelineItem(
                kind="import",
                when=changes[0].created_at,
                title=title,
                obj=imported,
                author=imported.uploaded_by,
                status_label="fin d'accompagnement" if ImportChange.Kind.CLOSED in kinds else "",
                status_tone="dark",
                written_at=changes[0].created_at,
                changes=[
                    ImportChangeLine(
                        _import_label(change.field),
                        _import_value(change.field, change.old_value),
                        _import_value(change.field, change.new_value),
                    )
                    for change in updated
                ],
            )
        )
    return items


def _sort_key(item: TimelineItem):
    written = item.when if item.has_time else (item.written_at or _aware_min())
    return (item.day, written, item.obj.pk or 0)


def build_timeline(
    file: Beneficiary, *, include_emergency_accesses: bool, now: datetime.datetime | None = None
) -> list[TimelineItem]:
    """The items of the file's timeline, newest first (an item with only a date comes, within its
    day, at the time it was written down). `file` went through `www.file_page.file_page_data`: when it read only
    the newest steps, appointments and notes (`newest`), these are the items built, and the `newest`
    first items are those of the whole timeline (each of these kinds is read in this order)."""
    moment = now or timezone.now()
    items = [
        *_steps(file),
        *_appointments(file, moment),
        *_contracts(file),
        *_objectives(file),
        *_diagnostics(file),
        *_notes(file),
        *_orientations(file),
        *_assignments(file),
        *_covers(file),
        *_reorientations(file),
        *_shares(file),
        *_support_end(file),
        *_imports(file),
    ]
    if include_emergency_accesses:
        items.extend(_emergency_accesses(file))
    for item in items:
        if not item.is_future:
            item.is_future = item.day > timezone.localdate(moment)
    items.sort(key=_sort_key, reverse=True)
    return items


def selected_filters(values: list[str]) -> list[str]:
    """The known filter codes among those asked for (`?type=step&type=note`), in their usual order."""
    asked = set(values)
    return [choice.code for choice in TIMELINE_FILTERS if choice.code in asked]


def filter_timeline(items: list[TimelineItem], selected: list[str]) -> list[TimelineItem]:
    """The items of the selected filters; all of them when none is selected."""
    if not selected:
        return items
    kinds = set().union(*(choice.kinds for choice in TIMELINE_FILTERS if choice.code in selected))
    return [item for item in items if item.kind in kinds]


def shown_count(counts: Counter[str], selected: list[str]) -> int:
    """How many items the timeline holds for the selected filters (all kinds when none is selected)."""
    if not selected:
        return sum(counts.values())
    kinds = set().union(*(choice.kinds for choice in TIMELINE_FILTERS if choice.code in selected))
    return sum(counts[kind] for kind in kinds)


@dataclass
class FilterChoice:
    code: str
    label: str
    count: int
    checked: bool


def kind_counts(file: Beneficiary, items: list[TimelineItem]) -> Counter[str]:
    """How many items of each kind the whole timeline holds: the items built, except for the kinds of
    which the file page read only the newest (`file.timeline_counts`, www.file_page), counted by
    the database."""
    counts = Counter(item.kind for item in items)
    for kind, count in (getattr(file, "timeline_counts", None) or {}).items():
        counts[kind] = count  # replaces what the loaded items counted
    return counts


def filter_choices(counts: Counter[str], selected: list[str]) -> list[FilterChoice]:
    """The filter's choices with how many items each holds (`counts`: by kind); choices with none are
    left out, unless selected (a bookmarked filter stays visible)."""
    choices = []
    for choice in TIMELINE_FILTERS:
        count = sum(counts[kind] for kind in choice.kinds)
        if count or choice.code in selected:
            choices.append(FilterChoice(choice.code, choice.label, count, choice.code in selected))
    return choices


# --- The summary -------------------------------------------------------------------------------


@dataclass
class ContractState:
    """A contract the summary shows: `state` is running, ending (within CONTRACT_ENDING_SOON_DAYS and
    not renewed), upcoming, expired (no contract in force since) or draft."""

    contract: Contract
    state: str
    days_left: int | None = None


@dataclass
class FileSummary:
    orientation: Orientation | None
    contracts: list[ContractState]
    next_appointment: Appointment | None
    open_objectives: list[Objective]
    latest_diagnostic: Diagnostic | None
    open_barriers: list[Barrier]
    pending_reorientation: ReorientationRequest | None
    ending_soon_days: int = CONTRACT_ENDING_SOON_DAYS


def _contract_states(file: Beneficiary, today: datetime.date) -> list[ContractState]:
    live = [contract for contract in file.contracts.all() if not contract.is_withdrawn]
    signed = [contract for contract in live if contract.status == Contract.Status.SIGNED]
    renewed = {contract.renews_id for contract in signed if contract.renews_id}
    soon = today + datetime.timedelta(days=CONTRACT_ENDING_SOON_DAYS)
    states = []
    for contract in sorted(signed, key=lambda c: (c.end_date, c.pk)):
        if contract.start_date > today:
            states.append(ContractState(contract, "upcoming"))
        elif contract.end_date >= today:
            ending = contract.end_date <= soon and contract.pk not in renewed and file.is_active
            days_left = (contract.end_date - today).days
            states.append(ContractState(contract, "ending" if ending else "running", days_left))
    if not states:
        ended = [contract for contract in signed if contract.end_date < today]
        if ended:
            latest = max(ended, key=lambda c: (c.end_date, c.pk))
            states.append(ContractState(latest, "expired" if file.is_active else "ended"))
    drafts = [contract for contract in live if contract.status == Contract.Status.DRAFT]
    states.extend(ContractState(draft, "draft") for draft in sorted(drafts, key=lambda c: (c.start_date, c.pk)))
    return states


def build_summary(file: Beneficiary, *, now: datetime.datetime | None = None) -> FileSummary:
    """Where the pathway stands: orientation in force, contracts in force (or the last one, expired),
    next appointment, open objectives, barriers of the latest diagnostic still to lift, pending
    reorientation. Withdrawn entries count for nothing."""
    moment = now or timezone.now()
    today = timezone.localdate(moment)
    orientation = next((o for o in file.orientations.all() if o.status == Orientation.Status.DECIDED), None)
    open_objectives = [
        objective
        for objective in file.objectives.all()
        if not objective.is_withdrawn and objective.status in (Objective.Status.OPEN, Objective.Status.IN_PROGRESS)
    ]
    open_objectives.sort(key=lambda o: (o.due_date or datetime.date.max, o.pk))
    diagnostics = [diagnostic for diagnostic in file.diagnostics.all() if not diagnostic.is_withdrawn]
    latest = max(diagnostics, key=lambda d: (d.carried_out_on, d.created_at, d.pk)) if diagnostics else None
    barriers = [barrier for barrier in latest.barriers.all() if barrier.resolved_on is None] if latest else []
    pending = next(
        (r for r in file.reorientation_requests.all() if r.status == ReorientationRequest.Status.PENDING), None
    )
    return FileSummary(
        orientation=orientation,
        contracts=_contract_states(file, today),
        # Read on its own (the page may hold only the newest appointments): planned, not withdrawn, the
        # earliest from `now` on.
        next_appointment=file.upcoming_appointment,
        open_objectives=open_objectives,
        latest_diagnostic=latest,
        open_barriers=barriers,
        pending_reorientation=pending,
    )
