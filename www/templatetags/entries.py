"""Template helpers for writing on a file: what a user may do with an entry, and the quick-write forms.

None of them queries the database: the rules read the entry's columns and the user's memberships
(cached on the user for the request), so they may be used in every item of the timeline.
"""

import datetime
from dataclasses import dataclass, field
from functools import cached_property

from django import template
from django.template.defaultfilters import linebreaksbr
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import conditional_escape as escape
from django.utils.safestring import mark_safe

from casework.forms.entries import AppointmentForm, NoteForm, StepForm
from casework.models import Action, Appointment, PathwayEntry, Step
from casework.permissions import can_correct, can_withdraw, correction_deadline
from casework.services.entries import CORRECTABLE_KINDS, WITHDRAWABLE_KINDS
from core.paths import path_to
from www.templatetags.casework import csrf_input

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
    slug = ENTRY_SLUGS[kind]
    args = [beneficiary.public_id, slug, entry.public_id]
    rights = EntryRights(kind=kind, dom_id=f"actions-{kind}-{entry.public_id}", label=_label(kind, entry))
    if entry.is_withdrawn:
        return rights
    if kind in CORRECTABLE_KINDS and can_correct(user, entry) and (kind == "note" or may_change):
        rights.correct_url = path_to("casework:entry_correct", *args)
        rights.correction_deadline = correction_deadline(entry)
    if can_withdraw(user, entry, beneficiary):
        rights.withdraw_url = path_to("casework:entry_withdraw", *args)
    if may_change and kind in ("step", "appointment"):
        name = "casework:step_status" if kind == "step" else "casework:appointment_record"
        rights.status_url = path_to(name, beneficiary.public_id, entry.public_id)
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


# htmx swaps the block on a 409 too (someone changed the entry meanwhile: it then shows the entry as it is).
_SWAP_ON_CONFLICT = (
    'hx-on:htmx:before-swap="if (event.detail.xhr.status === 409) '
    '{ event.detail.shouldSwap = true; event.detail.isError = false; }"'
)


@register.simple_tag(takes_context=True)
def entry_actions(context, entry: PathwayEntry | None, kind: str) -> str:
    """`{% entry_actions entry kind %}`: what the user may do with one entry of the file page
    (casework/views/entries.py), as HTML: change a step's or an appointment's status in one click (htmx,
    or a plain POST without JavaScript), correct it (its author, within the delay), withdraw it with a
    reason; nothing for the kinds it does not handle. Reads `file`, `user`, `can_change`, `csrf_token`
    and, in the htmx answer of a status change (`includes/entries_item.html`), `item_message` and
    `item_level` from the context.

    Written in Python, not as a template: each timeline item shows it, and the template cost ~0.25 ms an
    item (docs/performance.md); tests/casework/test_entry_actions.py compares it with that template."""
    rights = entry_rights_for(context.get("user"), entry, kind, context.get("file"), bool(context.get("can_change")))
    if rights is None:
        return ""
    dom_id = escape(rights.dom_id)
    html = [f'<div class="entry-actions mt-2" id="{dom_id}"\n     {_SWAP_ON_CONFLICT}>']
    if message := context.get("item_message"):
        level = context.get("item_level")
        role = "status" if level == "success" else "alert"
        html.append(
            f'<p class="alert alert-{escape(level or "info")} small py-1 px-2 mb-2" role="{role}">'
            f"{escape(message)}</p>"
        )
    if rights.any:
        label = f'<span class="visually-hidden"> : {escape(rights.label)}</span>'
        html.append('<div class="d-flex flex-wrap align-items-center gap-2 small">')
        if rights.quick_statuses:
            url = escape(rights.status_url)
            html.append(
                f'<form method="post" action="{url}" class="d-flex flex-wrap align-items-center gap-1 mb-0"\n'
                f'      hx-post="{url}" hx-target="#{dom_id}" hx-swap="outerHTML">'
            )
            html.append(csrf_input(context))
            html.append(f'<input type="hidden" name="version" value="{escape(entry.version)}">')
            html.append('<span class="text-body-secondary" aria-hidden="true">Marquer :</span>')
            for value, text, style in rights.quick_statuses:
                html.append(
                    f'<button type="submit" name="status" value="{escape(value)}" class="btn btn-sm '
                    f'{escape(style)}">{escape(text)}{label}</button>'
                )
            html.append("</form>")
        if rights.status_url:
            html.append(
                f'<a class="btn btn-sm btn-link px-1" href="{escape(rights.status_url)}">'
                f"{escape(rights.status_link_label)}{label}</a>"
            )
        if rights.correct_url:
            deadline = timezone.localtime(rights.correction_deadline)
            html.append(
                f'<a class="btn btn-sm btn-outline-secondary" href="{escape(rights.correct_url)}" '
                f'title="Corrigeable jusqu\'au {deadline:%d/%m/%Y à %H:%M}">Corriger{label}</a>'
            )
        if rights.withdraw_url:
            html.append(
                f'<a class="btn btn-sm btn-outline-danger" href="{escape(rights.withdraw_url)}">Retirer{label}</a>'
            )
        html.append("</div>")
    html.append("</div>")
    return mark_safe("\n".join(html))  # noqa: S308 (every value above is escaped)


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


# --- A timeline item's frame (templates/casework/includes/timeline/item.html) -----------------------


def _local(value) -> str:
    """`{{ value|date:"d/m/Y à H:i" }}`: a datetime in the current time zone as templates show it ("" for
    anything else, as Django's filter gives for a date with a time format, or for None)."""
    value = timezone.template_localtime(value)
    if not isinstance(value, datetime.datetime):
        return ""
    return f"{value.day:02d}/{value.month:02d}/{value.year:04d} à {value.hour:02d}:{value.minute:02d}"


def _person(user) -> str:
    return "" if user is None else escape(user.get_full_name() or user.username)


@register.simple_tag(takes_context=True)
def timeline_item_head(context, item) -> str:
    """`{% timeline_item_head item %}`: the opening of a timeline item's `<article>`, its date, badges and
    title; `timeline_item_tail` closes it, the kind's own template goes between. Written in Python, not as
    template nodes: a file page shows 30 items, whose frame cost ~0.2 ms each as a template
    (docs/performance.md); tests/casework/test_timeline.py compares it with the template it replaced."""
    anchor = escape(item.anchor)
    withdrawn = item.is_withdrawn
    tone = escape(item.kind_tone)
    background = "bg-body-tertiary text-body-secondary" if withdrawn else "bg-body"
    when = timezone.template_localtime(item.when)
    if item.has_time:
        stamp = escape(when.isoformat()) if isinstance(when, datetime.datetime) else ""
        shown = f"{when.day:02d}/{when.month:02d}/{when.year:04d} {when.hour:02d}:{when.minute:02d}"
    else:
        stamp = f"{when.year:04d}-{when.month:02d}-{when.day:02d}"
        shown = f"{when.day:02d}/{when.month:02d}/{when.year:04d}"
    html = [
        f'<article class="border-start border-4 border-{tone} rounded-end ps-3 pe-2 py-2 small {background} shadow-sm"'
        f' aria-labelledby="{anchor}-titre">',
        '<div class="d-flex flex-wrap align-items-center gap-2 mb-1">',
        f'<time class="fw-semibold text-nowrap" datetime="{stamp}">{shown}</time>',
        f'<span class="badge text-bg-light border">{escape(item.kind_label)}</span>',
    ]
    if item.status_label:
        status_tone = escape(item.status_tone)
        border = " border" if item.status_tone == "light" else ""
        dom_id = f' id="{escape(item.status_dom_id)}"' if item.status_dom_id else ""
        html.append(f'<span class="badge text-bg-{status_tone}{border}"{dom_id}>{escape(item.status_label)}</span>')
    html.extend(f'<span class="badge text-bg-{escape(tone)}">{escape(label)}</span>' for label, tone in item.flags)
    if item.is_future:
        html.append('<span class="badge text-bg-info">à venir</span>')
    if withdrawn:
        html.append('<span class="badge text-bg-secondary">retiré</span>')
    if item.corrected_at:
        html.append('<span class="badge text-bg-light border">modifié</span>')
    title = escape(item.title)
    html.append("</div>")
    html.append(f'<h3 class="h6 mb-1" id="{anchor}-titre">{f"<del>{title}</del>" if withdrawn else title}</h3>')
    return mark_safe("\n".join(html))  # noqa: S308 (every text above is escaped)


@register.simple_tag(takes_context=True)
def timeline_item_tail(context, item) -> str:
    """`{% timeline_item_tail item %}`: the end of a timeline item (who wrote it, its corrections and
    previous versions, its withdrawal, the entry's actions) and the closing `</article>`."""
    html = []
    if item.author:
        structure = ""
        if item.author_structure:
            structure = f" – {escape(item.author_structure.label_for(context.get('user')))}"
        html.append(f'<p class="mb-0 text-body-secondary">Par {_person(item.author)}{structure}</p>')
    if item.corrected_at:
        html.append(f'<p class="mb-0 text-body-secondary">Modifié le {_local(item.corrected_at)}</p>')
        if item.previous_versions:
            html.append('<details class="mt-1">')
            html.append(f"<summary>Versions précédentes ({len(item.previous_versions)})</summary>")
            html.append('<ol class="list-unstyled mb-0 mt-1 ps-2 border-start">')
            for version in item.previous_versions:
                html.append(
                    f'<li class="mb-1">\n<span class="fw-semibold">Version {escape(version.version)}</span>, '
                    f"remplacée le {_local(version.changed_at)} par {_person(version.changed_by)}"
                )
                if version.changes:
                    html.append('<dl class="mb-0">')
                    html.extend(
                        f'<dt class="fw-normal text-body-secondary">{escape(change.label)}</dt>'
                        f'<dd class="mb-1">{linebreaksbr(change.value, autoescape=True)}</dd>'
                        for change in version.changes
                    )
                    html.append("</dl>")
                html.append("</li>")
            html.append("</ol>\n</details>")
    if item.is_withdrawn:
        html.append(
            f'<p class="mb-0 mt-1 text-danger-emphasis">Retiré le {_local(item.withdrawn_at)} par '
            f"{_person(item.withdrawn_by)} : {escape(item.withdrawal_reason)}</p>"
        )
    if item.primary:
        html.append(entry_actions(context, item.obj, item.kind))
    html.append("</article>")
    return mark_safe("\n".join(html))  # noqa: S308 (every text above is escaped)
