"""Template helpers for writing on a file: what a user may do with an entry, and the quick-write forms.

None of them queries the database: the rules read the entry's columns and the user's memberships
(cached on the user for the request), so they may be used in every item of the timeline.
"""

import datetime
from dataclasses import dataclass, field
from functools import cached_property

from django import template
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format

from casework.forms.entries import AppointmentForm, NoteForm, StepForm
from casework.models import Action, Appointment, PathwayEntry, Step
from casework.permissions import can_correct, can_withdraw, correction_deadline
from casework.services.entries import CORRECTABLE_KINDS, WITHDRAWABLE_KINDS

register = template.Library()

# The kinds of entry as URLs name them (www.views.entries.KIND_SLUGS, the other way round).
ENTRY_SLUGS = {
    "step": "etape",
    "appointment": "rendez-vous",
    "note": "note",
    "contract": "contrat",
    "objective": "objectif",
    "action": "action",
    "diagnostic": "diagnostic",
}

# The one-click status buttons: (status, button label, Bootstrap button style).
STEP_QUICK_STATUSES = (
    (Step.Status.DONE, "Réalisée", "btn-outline-success"),
    (Step.Status.MISSED, "Non honorée", "btn-outline-warning"),
    (Step.Status.CANCELLED, "Annulée", "btn-outline-secondary"),
)
APPOINTMENT_QUICK_STATUSES = (
    (Appointment.Status.HONOURED, "Honoré", "btn-outline-success"),
    (Appointment.Status.MISSED, "Absence", "btn-outline-warning"),
    (Appointment.Status.CANCELLED, "Annulé", "btn-outline-secondary"),
)


@dataclass
class EntryRights:
    """What the user may do with one entry of the file page, and where."""

    kind: str
    dom_id: str
    label: str
    correct_url: str = ""
    withdraw_url: str = ""
    status_url: str = ""
    status_link_label: str = ""
    quick_statuses: list[tuple[str, str, str]] = field(default_factory=list)
    correction_deadline: datetime.datetime | None = None

    @property
    def any(self) -> bool:
        return bool(self.correct_url or self.withdraw_url or self.status_url)


def _label(kind: str, entry: PathwayEntry) -> str:
    """Words that tell the entry apart from the others of the page, for screen readers (no query)."""
    if kind == "step":
        return f"{entry.get_kind_display()} du {entry.date:%d/%m/%Y}"
    if kind == "appointment":
        return f"rendez-vous du {date_format(timezone.localtime(entry.scheduled_at), 'd/m/Y à H:i')}"
    if kind == "note":
        return f"note du {date_format(timezone.localtime(entry.created_at), 'd/m/Y à H:i')}"
    if kind in ("objective", "action"):
        return entry.title
    if kind == "contract":
        return f"contrat du {entry.start_date:%d/%m/%Y}"
    return f"diagnostic du {entry.carried_out_on:%d/%m/%Y}"


def entry_rights_for(user, entry: PathwayEntry, kind: str, beneficiary, may_change: bool) -> EntryRights | None:
    """The actions `user` may take on `entry` (None for the kinds this module does not handle)."""
    if kind not in WITHDRAWABLE_KINDS or entry is None:
        return None
    args = [beneficiary.public_id, ENTRY_SLUGS[kind], entry.public_id]
    rights = EntryRights(kind=kind, dom_id=f"actions-{kind}-{entry.public_id}", label=_label(kind, entry))
    if entry.is_withdrawn:
        return rights
    if kind in CORRECTABLE_KINDS and can_correct(user, entry) and (kind == "note" or may_change):
        rights.correct_url = reverse("casework:entry_correct", args=args)
        rights.correction_deadline = correction_deadline(entry)
    if can_withdraw(user, entry, beneficiary):
        rights.withdraw_url = reverse("casework:entry_withdraw", args=args)
    if may_change and kind in ("step", "appointment"):
        name = "casework:step_status" if kind == "step" else "casework:appointment_record"
        rights.status_url = reverse(name, args=[beneficiary.public_id, entry.public_id])
        rights.status_link_label = "Changer le statut"
        if entry.status == "planned":
            rights.quick_statuses = _quick_statuses(kind, entry)
    return rights


def _quick_statuses(kind: str, entry: PathwayEntry) -> list[tuple[str, str, str]]:
    """A planned step is done or missed once its day has come; a planned appointment is honoured or
    missed once its time has passed; either may be cancelled at any time."""
    if kind == "step":
        has_come = entry.date <= timezone.localdate()
        choices = STEP_QUICK_STATUSES
    else:
        has_come = entry.scheduled_at <= timezone.now()
        choices = APPOINTMENT_QUICK_STATUSES
    return [(str(value), label, style) for value, label, style in choices if has_come or value == "cancelled"]


@register.simple_tag(takes_context=True)
def entry_rights(context, entry: PathwayEntry | None, kind: str) -> EntryRights | None:
    """`{% entry_rights entry kind as rights %}`: what the user may do with one entry of the file page
    (EntryRights; None for the kinds this module does not handle), for
    templates/casework/includes/entry_actions.html. Reads `file`, `user` and `can_change` from the context."""
    return entry_rights_for(context.get("user"), entry, kind, context.get("file"), bool(context.get("can_change")))


@register.filter
def correctable_by(entry: PathwayEntry, user) -> bool:
    """`{% if entry|correctable_by:user %}`: its author, within ENTRY_CORRECTION_HOURS, not withdrawn."""
    return can_correct(user, entry)


@register.filter
def withdrawable_by(entry: PathwayEntry, user) -> bool:
    """`{% if entry|withdrawable_by:user %}`: its author, or whoever may act on the file. The file is the
    entry's own (`entry.beneficiary`, or its objective's for an action), which the file page's
    prefetches have already cached: no query there."""
    beneficiary = entry.objective.beneficiary if isinstance(entry, Action) else entry.beneficiary
    return can_withdraw(user, entry, beneficiary)


@register.filter
def entry_slug(kind: str) -> str:
    """`{% url 'casework:entry_withdraw' file.public_id entry_kind|entry_slug entry.public_id %}`."""
    return ENTRY_SLUGS.get(kind, "")


class QuickForms:
    """The quick-write panel's empty forms (ids of their own, apart from the full forms'), each built when
    the panel first reads it. Building them queries nothing; the panel renders none of their lists of
    people or structures.

    Their fields are the same HTML for every user and file on the same day (a step's date) and in the
    same minute (the earliest time an appointment may take): the panel keeps that HTML in the cache for
    each `day` and `minute` (`{% cache %}` in write_entries.html and entries_note_panel.html), so that a
    file page usually builds none of the three forms (~5 ms of a file page, docs/performance.md). The note
    panel answering a note typed (htmx) renders its bound form, never the cache."""

    def __init__(self, user, beneficiary) -> None:
        self.user, self.beneficiary = user, beneficiary
        now = timezone.localtime()
        # What the cached fields depend on: StepForm's date (today, and its latest allowed day) and
        # AppointmentForm's `min` (this minute).
        self.day, self.minute = now.date().isoformat(), now.strftime("%Y-%m-%dT%H:%M")

    @cached_property
    def step(self) -> StepForm:
        return StepForm(auto_id="quick-step-%s")

    @cached_property
    def appointment(self) -> AppointmentForm:
        return AppointmentForm(actor=self.user, beneficiary=self.beneficiary, auto_id="quick-appointment-%s")

    @cached_property
    def note(self) -> NoteForm:
        return NoteForm(actor=self.user, auto_id="quick-note-%s")


@register.simple_tag(takes_context=True)
def quick_write_forms(context) -> QuickForms:
    """`{% quick_write_forms as quick %}`: the quick-write panel's forms (QuickForms)."""
    return QuickForms(context.get("user"), context.get("file"))
