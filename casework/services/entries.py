"""Writing on a file: steps, appointments and notes, their correction and their withdrawal (issue 4).

Who may write:
- steps and appointments: whoever may act on the file (`can_change`: its current referent, the
  supervisors of its structure);
- notes: whoever may read the file (people it is shared with contribute notes too).

Corrections go through `common.entry_correct` (the author, within ENTRY_CORRECTION_HOURS; the previous
version is kept in `Revision`), withdrawals through `common.entry_withdraw` (with a reason; never a
delete). A step's or an appointment's status change is the entry's normal life, not a correction: it
is allowed after the correction delay, to whoever may act on the file, and keeps the previous version
too. Every write is optimistic-locked on `version` when it changes an existing entry, and moves the
file's `last_activity_at`.

The rules on dates and visibility are plain functions (`step_check`, `appointment_plan_check`...), so
that the forms show them at the field before anything is written; the services check them again.
"""

import datetime
from collections.abc import Iterable

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.formats import date_format

from accounts.models import Department, Membership, Structure, User
from casework.models import (
    Action,
    Appointment,
    Beneficiary,
    Contract,
    Diagnostic,
    Note,
    Objective,
    PathwayEntry,
    Revision,
    Step,
)
from casework.permissions import (
    CANNOT_LOG,
    FILE_READING_ROLES,
    check_can_change,
    check_can_correct,
    check_can_write_note,
    check_not_withdrawn,
    visible_notes,
)
from casework.services.common import (
    MAX_DAYS_AHEAD,
    ConcurrentEdit,
    beneficiary_touch,
    check_in_lifetime,
    entry_correct,
    lock_beneficiary,
    revision_record,
    save_versioned,
)

# A status change keeps the previous version as a correction does, as its own kind of revision;
# the reason says what changed ("Statut : Prévue → Réalisée").
STATUS_CHANGE = Revision.Action.STATUS_CHANGED


# --- The registry of entries that can be corrected or withdrawn -----------------------------------

# kind (as the file page names it) -> model. Every kind here can be withdrawn (common.entry_withdraw);
# those in CORRECTABLE_KINDS can also be corrected by their author, through the forms of this issue.
# The kinds of entries written on the file itself, and those that can be withdrawn (an action hangs
# off an objective).
FILE_KINDS: dict[str, type[Step | Appointment | Note | Contract | Objective | Diagnostic]] = {
    "step": Step,
    "appointment": Appointment,
    "note": Note,
    "contract": Contract,
    "objective": Objective,
    "diagnostic": Diagnostic,
}
WITHDRAWABLE_KINDS: dict[str, type[PathwayEntry]] = {**FILE_KINDS, "action": Action}
CORRECTABLE_KINDS = ("step", "appointment", "note")

# How the UI names each kind ("l'étape est retirée").
KIND_NAMES = {
    "step": "l'étape",
    "appointment": "le rendez-vous",
    "note": "la note",
    "contract": "le contrat",
    "objective": "l'objectif",
    "action": "l'action",
    "diagnostic": "le diagnostic",
}


def file_entries(user: User, beneficiary: Beneficiary, kind: str) -> QuerySet:
    """The entries of this kind that belong to this file, among those the user may read (for notes:
    `visible_notes`; a note one may not read is out of reach, supervisors included)."""
    if kind == "note":
        return visible_notes(user, beneficiary)
    if kind == "action":
        return Action.objects.filter(objective__beneficiary=beneficiary)
    return FILE_KINDS[kind].objects.filter(beneficiary=beneficiary)


def last_change(entry: PathwayEntry) -> tuple[User | None, datetime.datetime]:
    """Who made the entry what it is now, and when: the revision that kept the version before it (every
    write of this module records one); when there is none, nobody is named."""
    revision = (
        Revision.objects.filter(
            content_type=ContentType.objects.get_for_model(type(entry)), object_id=entry.pk, version=entry.version - 1
        )
        .select_related("changed_by")
        .first()
    )
    if revision is None:
        return None, entry.updated_at
    return revision.changed_by, revision.changed_at


# --- Helpers -------------------------------------------------------------------------------------


def structure_for(user: User, beneficiary: Beneficiary) -> Structure | None:
    """The structure a professional acts for on this file: the file's current structure if they work
    there, else their first structure of today (no query: memberships are cached on the user)."""
    memberships = user.active_memberships
    for membership in memberships:
        if beneficiary.current_structure_id and membership.structure_id == beneficiary.current_structure_id:
            return membership.structure
    return memberships[0].structure if memberships else None


def _local(moment: datetime.datetime) -> str:
    return date_format(timezone.localtime(moment), "d/m/Y à H:i")


# --- Rules shared by the forms and the services -------------------------------------------------


def step_check(*, date: datetime.date, status: str, field: str = "date") -> None:
    """A step is dated at most a year ahead; one done or missed is not in the future."""
    today = timezone.localdate()
    if date > today + datetime.timedelta(days=MAX_DAYS_AHEAD):
        raise ValidationError({field: "Une étape ne peut pas être datée de plus d'un an après aujourd'hui."})
    if status in (Step.Status.DONE, Step.Status.MISSED) and date > today:
        label = Step.Status(status).label.lower()
        if field == "date":
            message = f"Une étape « {label} » ne peut pas être datée dans le futur."
        else:
            message = f"Cette étape est datée du {date:%d/%m/%Y} : elle ne peut pas encore être « {label} »."
        raise ValidationError({field: message})


def appointment_plan_check(*, scheduled_at: datetime.datetime) -> None:
    """A planned appointment is in the future, at most a year ahead."""
    now = timezone.now()
    if scheduled_at <= now:
        raise ValidationError(
            {"scheduled_at": "Un rendez-vous planifié est dans le futur : choisissez une date et une heure à venir."}
        )
    if scheduled_at > now + datetime.timedelta(days=MAX_DAYS_AHEAD):
        raise ValidationError({"scheduled_at": "Un rendez-vous ne peut pas être planifié à plus d'un an."})


def appointment_record_check(*, scheduled_at: datetime.datetime, status: str) -> None:
    """An appointment is honoured or missed only once its time has passed."""
    if status not in (Appointment.Status.HONOURED, Appointment.Status.MISSED, Appointment.Status.CANCELLED):
        raise ValidationError({"status": "Choisissez : honoré, non honoré (absence) ou annulé."})
    if status != Appointment.Status.CANCELLED and scheduled_at > timezone.now():
        raise ValidationError(
            {
                "status": f"Ce rendez-vous est prévu le {_local(scheduled_at)} : il ne peut être déclaré "
                "honoré ou non honoré qu'une fois passé."
            }
        )


def appointment_reschedule_check(*, appointment: Appointment, scheduled_at: datetime.datetime) -> None:
    """A corrected time follows the appointment's status: in the future while it is planned, past once
    it was honoured or missed."""
    if scheduled_at == appointment.scheduled_at:
        return
    if appointment.status == Appointment.Status.PLANNED:
        appointment_plan_check(scheduled_at=scheduled_at)
    elif appointment.status != Appointment.Status.CANCELLED and scheduled_at > timezone.now():
        raise ValidationError(
            {"scheduled_at": "Ce rendez-vous a eu lieu ou a été manqué : il ne peut pas être daté dans le futur."}
        )


def note_check(
    *,
    body: str,
    visibility: str,
    is_sensitive: bool,
    departments: Iterable = (),
    structures: Iterable = (),
    users: Iterable = (),
) -> None:
    """A note is not blank, at most Note.MAX_LENGTH characters; a shared note names its readers, and
    only a shared note does; a sensitive note is not for all who follow the file."""
    errors: dict[str, str] = {}
    text = body.strip()
    if not text:
        errors["body"] = "Écrivez le texte de la note."
    elif len(text) > Note.MAX_LENGTH:
        errors["body"] = f"Une note ne peut pas dépasser {Note.MAX_LENGTH} caractères (celle-ci en a {len(text)})."
    named = bool(list(departments) or list(structures) or list(users))
    if visibility not in Note.Visibility.values:
        errors["visibility"] = "Choisissez qui pourra lire la note."
    elif is_sensitive and visibility == Note.Visibility.FOLLOWERS:
        errors["visibility"] = (
            "Une note sensible n'est lue que par les personnes, structures ou services nommés : choisissez "
            "« Privée » ou « Partagée »."
        )
    elif visibility == Note.Visibility.SHARED and not named:
        errors["visibility"] = "Une note partagée nomme au moins un service, une structure ou une personne."
    elif visibility != Note.Visibility.SHARED and named:
        errors["visibility"] = "Seule une note partagée nomme des services, des structures ou des personnes."
    if errors:
        raise ValidationError(errors)


def _check_note_readers(users: list[User]) -> None:
    if not users:
        return
    readers = set(
        Membership.objects.active()
        .filter(user__in=users, role__in=FILE_READING_ROLES, user__is_active=True)
        .values_list("user_id", flat=True)
    )
    if any(user.pk not in readers for user in users):
        raise ValidationError(
            {"shared_with_users": "Une note ne se partage qu'avec des personnes qui suivent des dossiers aujourd'hui."}
        )


def _with_user_structure(with_user: User | None, beneficiary: Beneficiary) -> Structure | None:
    if with_user is None:
        return None
    if not any(m.role in FILE_READING_ROLES for m in with_user.active_memberships):
        raise ValidationError({"with_user": "Cette personne ne suit pas de dossiers aujourd'hui."})
    return structure_for(with_user, beneficiary)


# --- Steps ---------------------------------------------------------------------------------------


@transaction.atomic
def step_log(
    *, actor: User, beneficiary: Beneficiary, kind: str, date: datetime.date, status: str, outcome: str = ""
) -> Step:
    """Log a step of the pathway (what happened, or what is planned) on the file."""
    beneficiary = lock_beneficiary(beneficiary)
    check_can_change(actor, beneficiary, CANNOT_LOG)
    step_check(date=date, status=status)
    check_in_lifetime(beneficiary, date, "date")
    step = Step(
        beneficiary=beneficiary,
        kind=kind,
        date=date,
        status=status,
        outcome=outcome.strip(),
        author=actor,
        author_structure=structure_for(actor, beneficiary),
    )
    step.full_clean()
    step.save()
    beneficiary_touch(beneficiary=beneficiary)
    return step


@transaction.atomic
def step_set_status(
    *, actor: User, step: Step, status: str, outcome: str | None = None, expected_version: int
) -> Step:
    """Change a step's status (and its outcome, unless None): planned, then done, missed or cancelled.

    Raises ConcurrentEdit when someone changed the step since `expected_version`."""
    beneficiary = lock_beneficiary(step.beneficiary)
    check_can_change(actor, beneficiary, CANNOT_LOG)
    current = Step.objects.get(pk=step.pk)
    check_not_withdrawn(current)
    if current.version != expected_version:
        raise ConcurrentEdit(current)
    if status not in Step.Status.values:
        raise ValidationError({"status": "Choisissez un statut d'étape."})
    step_check(date=current.date, status=status, field="status")
    new_outcome = current.outcome if outcome is None else outcome.strip()
    if status == current.status and new_outcome == current.outcome:
        return current
    before, after = current.get_status_display(), Step.Status(status).label
    reason = f"Statut : {before} → {after}" if status != current.status else "Résultat modifié"
    revision_record(entry=current, beneficiary=beneficiary, action=STATUS_CHANGE, actor=actor, reason=reason)
    current.status = status
    current.outcome = new_outcome
    save_versioned(current, expected_version=expected_version, fields=["status", "outcome"])
    beneficiary_touch(beneficiary=beneficiary)
    return current


def step_correct(
    *,
    actor: User,
    step: Step,
    kind: str,
    date: datetime.date,
    status: str,
    outcome: str,
    expected_version: int,
) -> Step:
    """Correct a step (its author, within the delay): the previous version is kept."""
    beneficiary = step.beneficiary
    check_can_change(actor, beneficiary, CANNOT_LOG)
    check_can_correct(actor, step)
    step_check(date=date, status=status)
    check_in_lifetime(beneficiary, date, "date")
    changes = {"kind": kind, "date": date, "status": status, "outcome": outcome.strip()}
    return entry_correct(
        actor=actor, entry=step, beneficiary=beneficiary, changes=changes, expected_version=expected_version
    )


# --- Appointments --------------------------------------------------------------------------------


@transaction.atomic
def appointment_plan(
    *,
    actor: User,
    beneficiary: Beneficiary,
    scheduled_at: datetime.datetime,
    location: str,
    purpose: str,
    with_user: User | None = None,
) -> Appointment:
    """Plan an appointment with the person, in the future, with a professional (`with_user`)."""
    beneficiary = lock_beneficiary(beneficiary)
    check_can_change(actor, beneficiary, CANNOT_LOG)
    appointment_plan_check(scheduled_at=scheduled_at)
    appointment = Appointment(
        beneficiary=beneficiary,
        scheduled_at=scheduled_at,
        location=location.strip(),
        purpose=purpose.strip(),
        with_user=with_user,
        with_structure=_with_user_structure(with_user, beneficiary),
        author=actor,
    )
    appointment.full_clean()
    appointment.save()
    beneficiary_touch(beneficiary=beneficiary)
    return appointment


@transaction.atomic
def appointment_record(*, actor: User, appointment: Appointment, status: str, expected_version: int) -> Appointment:
    """Record how an appointment went: honoured or missed (once its time has passed), or cancelled."""
    beneficiary = lock_beneficiary(appointment.beneficiary)
    check_can_change(actor, beneficiary, CANNOT_LOG)
    current = Appointment.objects.get(pk=appointment.pk)
    check_not_withdrawn(current)
    if current.version != expected_version:
        raise ConcurrentEdit(current)
    appointment_record_check(scheduled_at=current.scheduled_at, status=status)
    if status == current.status:
        return current
    reason = f"Statut : {current.get_status_display()} → {Appointment.Status(status).label}"
    revision_record(entry=current, beneficiary=beneficiary, action=STATUS_CHANGE, actor=actor, reason=reason)
    current.status = status
    save_versioned(current, expected_version=expected_version, fields=["status"])
    beneficiary_touch(beneficiary=beneficiary)
    return current


def appointment_correct(
    *,
    actor: User,
    appointment: Appointment,
    scheduled_at: datetime.datetime,
    location: str,
    purpose: str,
    with_user: User | None,
    expected_version: int,
) -> Appointment:
    """Correct an appointment (its author, within the delay): the previous version is kept. A new time
    follows the appointment's status: in the future while planned, past once honoured or missed."""
    beneficiary = appointment.beneficiary
    check_can_change(actor, beneficiary, CANNOT_LOG)
    check_can_correct(actor, appointment)
    appointment_reschedule_check(appointment=appointment, scheduled_at=scheduled_at)
    check_in_lifetime(beneficiary, timezone.localdate(scheduled_at), "scheduled_at")
    changes = {
        "scheduled_at": scheduled_at,
        "location": location.strip(),
        "purpose": purpose.strip(),
        "with_user": with_user,
        "with_structure": _with_user_structure(with_user, beneficiary),
    }
    return entry_correct(
        actor=actor, entry=appointment, beneficiary=beneficiary, changes=changes, expected_version=expected_version
    )


# --- Notes ---------------------------------------------------------------------------------------


@transaction.atomic
def note_write(
    *,
    actor: User,
    beneficiary: Beneficiary,
    body: str,
    visibility: str,
    is_sensitive: bool,
    departments: Iterable[Department] = (),
    structures: Iterable[Structure] = (),
    users: Iterable[User] = (),
) -> Note:
    """Write a note on the file, read by whom its visibility says (private by default in the forms)."""
    departments, structures, users = list(departments), list(structures), list(users)
    beneficiary = lock_beneficiary(beneficiary)
    check_can_write_note(actor, beneficiary)
    note_check(
        body=body,
        visibility=visibility,
        is_sensitive=is_sensitive,
        departments=departments,
        structures=structures,
        users=users,
    )
    _check_note_readers(users)
    note = Note(
        beneficiary=beneficiary,
        author=actor,
        author_structure=structure_for(actor, beneficiary),
        body=body.strip(),
        visibility=visibility,
        is_sensitive=is_sensitive,
    )
    note.full_clean()
    note.save()
    note.shared_with_departments.set(departments)
    note.shared_with_structures.set(structures)
    note.shared_with_users.set(users)
    beneficiary_touch(beneficiary=beneficiary)
    return note


def note_correct(
    *,
    actor: User,
    note: Note,
    body: str,
    visibility: str,
    is_sensitive: bool,
    departments: Iterable[Department] = (),
    structures: Iterable[Structure] = (),
    users: Iterable[User] = (),
    expected_version: int,
) -> Note:
    """Correct a note (its author, within the delay): text, readers, sensitivity; the previous version
    is kept (with the ids of its readers)."""
    departments, structures, users = list(departments), list(structures), list(users)
    beneficiary = note.beneficiary
    check_can_write_note(actor, beneficiary)
    check_can_correct(actor, note)
    note_check(
        body=body,
        visibility=visibility,
        is_sensitive=is_sensitive,
        departments=departments,
        structures=structures,
        users=users,
    )
    _check_note_readers(users)
    changes = {
        "body": body.strip(),
        "visibility": visibility,
        "is_sensitive": is_sensitive,
        "shared_with_departments": departments,
        "shared_with_structures": structures,
        "shared_with_users": users,
    }
    return entry_correct(
        actor=actor, entry=note, beneficiary=beneficiary, changes=changes, expected_version=expected_version
    )
