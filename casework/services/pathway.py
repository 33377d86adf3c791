"""Writes on the pathway: contracts (create, renew, sign), the orientation decision, reorientation
requests, objectives and actions with their status, the diagnostic and its barriers, the end of support.

Each write locks the file's row (so that two writes on one file run one after the other), checks who
may do it (PermissionDenied: the views turn it into a 403), checks the rules (ValidationError keyed by
the argument it is about, in French), saves after `full_clean()`, and records activity on the file
(`beneficiary_touch`). Objects that a form edits carry a `version`: a stale one raises ConcurrentEdit.

Who may write:
- the file's current referent and the supervisors of its structure (`can_change`): contracts,
  objectives, actions, diagnostics, barriers, reorientation requests, end of support;
- the supervisors of the file's structure only (`may_decide_orientation`): the orientation decision,
  and accepting or refusing a reorientation request. The decision belongs to the President of the
  Département; a supervisor records it, a referent proposes it through a reorientation request.
"""

import calendar
import datetime
from collections.abc import Sequence
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.models import Structure, User
from casework.models import (
    Action,
    Barrier,
    Beneficiary,
    Contract,
    Diagnostic,
    Objective,
    Orientation,
    ReorientationRequest,
    SupportEndReason,
)
from casework.permissions import (
    CANNOT_CHANGE_PATHWAY,
    CANNOT_DECIDE_REORIENTATION,
    check_can_change,
    check_may_decide_orientation,
)
from casework.services.common import (
    MAX_DAYS_AHEAD,
    ConcurrentEdit,
    beneficiary_refresh_contract_end,
    beneficiary_refresh_orientation,
    beneficiary_touch,
    check_in_lifetime,
    lifetime_errors,
    lock_beneficiary,
    save_versioned,
)

# Loi n° 2023-1196 pour le plein emploi: from 1 January 2025 the contrat d'engagement replaces the CER
# and the PPAE. A contract's kind follows its start date.
CONTRAT_ENGAGEMENT_SINCE = datetime.date(2025, 1, 1)
FORMER_KINDS = (Contract.Kind.CER, Contract.Kind.PPAE)
DEFAULT_WEEKLY_HOURS = 15
MIN_WEEKLY_HOURS = 1
MAX_WEEKLY_HOURS = 60
# A renewal starts after the start of the contract it renews, and at the earliest this many days
# before that contract's end.
RENEWAL_WINDOW_DAYS = 30

AGREEMENT_REQUIRED = (
    "Un contrat signé porte l'accord de la personne : cochez cette case, ou enregistrez le contrat sans date de "
    "signature (brouillon)."
)
CLOSED_OBJECTIVE_STATUSES = (Objective.Status.ACHIEVED, Objective.Status.ABANDONED)


def contract_kind_allowed(kind: str, start_date: datetime.date) -> bool:
    if kind == Contract.Kind.CONTRAT_ENGAGEMENT:
        return start_date >= CONTRAT_ENGAGEMENT_SINCE
    return start_date < CONTRAT_ENGAGEMENT_SINCE


def renewal_earliest_start(contract: Contract) -> datetime.date:
    """The first day a renewal of `contract` may start: after its start, and not earlier than
    RENEWAL_WINDOW_DAYS before its end."""
    return max(
        contract.start_date + datetime.timedelta(days=1),
        contract.end_date - datetime.timedelta(days=RENEWAL_WINDOW_DAYS),
    )


def _today() -> datetime.date:
    return timezone.localdate()


def _raise(errors: dict[str, str]) -> None:
    if errors:
        raise ValidationError(errors)


def _refuse_withdrawn(entry, message: str) -> None:
    if entry.is_withdrawn:
        raise ValidationError(message)


# --- Contracts ------------------------------------------------------------------------------------


def _contract_errors(
    *,
    kind: str,
    start_date: datetime.date,
    end_date: datetime.date,
    objectives: str,
    weekly_hours: int | None,
    signed_on: datetime.date | None,
    beneficiary_agreed: bool,
) -> dict[str, str]:
    errors = {}
    if kind in FORMER_KINDS and not contract_kind_allowed(kind, start_date):
        errors["kind"] = (
            "Depuis le 1er janvier 2025 (loi pour le plein emploi), le CER et le PPAE sont remplacés par le "
            "contrat d'engagement : choisissez « Contrat d'engagement »."
        )
    elif kind == Contract.Kind.CONTRAT_ENGAGEMENT and not contract_kind_allowed(kind, start_date):
        errors["kind"] = (
            "Le contrat d'engagement concerne les contrats qui commencent à partir du 1er janvier 2025 : "
            "avant cette date, choisissez un CER ou un PPAE."
        )
    if start_date > _today() + datetime.timedelta(days=MAX_DAYS_AHEAD):
        errors["start_date"] = "Un contrat ne peut pas commencer plus d'un an après aujourd'hui : vérifiez l'année."
    if end_date <= start_date:
        errors["end_date"] = "La fin du contrat doit être postérieure à son début."
    elif end_date > _months_after(start_date, settings.CONTRACT_MAX_MONTHS):
        errors["end_date"] = (
            f"Un contrat dure au plus {settings.CONTRACT_MAX_MONTHS} mois : vérifiez l'année de fin, ou "
            "signez-en un nouveau à son terme (renouvellement)."
        )
    if not objectives.strip():
        errors["objectives"] = "Indiquez les objectifs du contrat."
    if weekly_hours is not None and not MIN_WEEKLY_HOURS <= weekly_hours <= MAX_WEEKLY_HOURS:
        errors["weekly_hours"] = (
            f"Indiquez entre {MIN_WEEKLY_HOURS} et {MAX_WEEKLY_HOURS} heures d'activité par semaine."
        )
    errors.update(_signature_errors(signed_on=signed_on, end_date=end_date, beneficiary_agreed=beneficiary_agreed))
    return errors


def _months_after(day: datetime.date, months: int) -> datetime.date:
    """The same day `months` later (the month's last day when it is shorter)."""
    year, month = divmod(day.month - 1 + months, 12)
    year, month = day.year + year, month + 1
    return datetime.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _overlap_errors(beneficiary: Beneficiary, *, kind: str, start_date: datetime.date, end_date: datetime.date):
    """A new contract does not overlap a signed, non-withdrawn contract of the same kind: the next
    contract is a renewal (contract_renew), which says which one it follows."""
    signed = (
        Contract.objects.filter(
            beneficiary=beneficiary,
            kind=kind,
            status=Contract.Status.SIGNED,
            withdrawn_at__isnull=True,
            start_date__lte=end_date,
            end_date__gte=start_date,
        )
        .order_by("start_date")
        .first()
    )
    if signed is None:
        return {}
    return {
        "start_date": f"Ces dates chevauchent le contrat signé du {signed.start_date:%d/%m/%Y} au "
        f"{signed.end_date:%d/%m/%Y} : pour lui donner une suite, renouvelez-le depuis le dossier."
    }


def _signature_errors(
    *, signed_on: datetime.date | None, end_date: datetime.date, beneficiary_agreed: bool
) -> dict[str, str]:
    errors: dict[str, str] = {}
    if signed_on is None:
        return errors
    if signed_on > _today():
        errors["signed_on"] = "La date de signature ne peut pas être dans le futur."
    elif signed_on > end_date:
        errors["signed_on"] = "Un contrat ne se signe pas après sa date de fin."
    if not beneficiary_agreed:
        errors["beneficiary_agreed"] = AGREEMENT_REQUIRED
    return errors


def _weekly_hours(kind: str, weekly_hours: int | None) -> int | None:
    if weekly_hours is None and kind == Contract.Kind.CONTRAT_ENGAGEMENT:
        return DEFAULT_WEEKLY_HOURS
    return weekly_hours


@transaction.atomic
def contract_create(
    *,
    actor: User,
    beneficiary: Beneficiary,
    kind: str,
    start_date: datetime.date,
    end_date: datetime.date,
    objectives: str,
    weekly_hours: int | None = None,
    signed_on: datetime.date | None = None,
    beneficiary_agreed: bool = False,
) -> Contract:
    """Draft a contract (no signature date) or record a signed one. Contracts of different kinds may
    coexist on a file; one may not overlap a signed contract of its kind (its next one is a renewal,
    `contract_renew`), start before the person's birth or more than a year ahead, nor last more than
    CONTRACT_MAX_MONTHS. A contrat d'engagement counts 15 hours of activity a week unless another number
    (1 to 60) is given."""
    beneficiary = lock_beneficiary(beneficiary)
    check_can_change(actor, beneficiary, CANNOT_CHANGE_PATHWAY)
    errors = _contract_errors(
        kind=kind,
        start_date=start_date,
        end_date=end_date,
        objectives=objectives,
        weekly_hours=weekly_hours,
        signed_on=signed_on,
        beneficiary_agreed=beneficiary_agreed,
    )
    errors = lifetime_errors(beneficiary, start_date=start_date) | errors
    if not errors:
        errors = _overlap_errors(beneficiary, kind=kind, start_date=start_date, end_date=end_date)
    _raise(errors)
    contract = Contract(
        beneficiary=beneficiary,
        kind=kind,
        status=Contract.Status.SIGNED if signed_on else Contract.Status.DRAFT,
        start_date=start_date,
        end_date=end_date,
        signed_on=signed_on,
        objectives=objectives.strip(),
        weekly_hours=_weekly_hours(kind, weekly_hours),
        beneficiary_agreed=beneficiary_agreed,
        author=actor,
    )
    contract.full_clean()
    contract.save()
    beneficiary_refresh_contract_end(beneficiary=beneficiary)
    beneficiary_touch(beneficiary=beneficiary)
    return contract


def contract_renewal_refusal(contract: Contract) -> str:
    """Why this contract cannot be renewed (empty if it can)."""
    if contract.is_withdrawn:
        return "Ce contrat a été retiré du dossier : il ne peut pas être renouvelé."
    if contract.status != Contract.Status.SIGNED:
        return "Seul un contrat signé peut être renouvelé : signez d'abord ce contrat."
    renewal = Contract.objects.filter(renews=contract).first()
    if renewal is not None:
        return (
            f"Ce contrat a déjà été renouvelé (contrat du {renewal.start_date:%d/%m/%Y} au "
            f"{renewal.end_date:%d/%m/%Y}) : c'est ce dernier qu'il faut renouveler."
        )
    return ""


def contract_signing_refusal(contract: Contract) -> str:
    """Why this contract cannot be signed (empty if it can)."""
    if contract.is_withdrawn:
        return "Ce contrat a été retiré du dossier : il ne peut pas être signé."
    if contract.status != Contract.Status.DRAFT:
        return f"Ce contrat n'est pas un brouillon (statut : {contract.get_status_display().lower()})."
    return ""


def renewal_kind(contract: Contract, start_date: datetime.date) -> str:
    """The kind a renewal starting on `start_date` takes by default: the renewed contract's, unless the
    law changed in between (a CER renewed in 2025 becomes a contrat d'engagement)."""
    if contract_kind_allowed(contract.kind, start_date):
        return contract.kind
    return Contract.Kind.CONTRAT_ENGAGEMENT


@transaction.atomic
def contract_renew(
    *,
    actor: User,
    contract: Contract,
    start_date: datetime.date,
    end_date: datetime.date,
    kind: str | None = None,
    objectives: str | None = None,
    weekly_hours: int | None = None,
    signed_on: datetime.date | None = None,
    beneficiary_agreed: bool = False,
) -> Contract:
    """Renew a signed contract: a new contract that `renews` it; the renewed one stays as it was.

    A contract is renewed once (the next renewal renews the renewal). The renewal starts after the
    renewed contract's start and not earlier than 30 days before its end. Kind, objectives and weekly
    hours default to the renewed contract's (the kind follows the law at the renewal's start).
    """
    beneficiary = lock_beneficiary(contract.beneficiary)
    check_can_change(actor, beneficiary, CANNOT_CHANGE_PATHWAY)
    previous = Contract.objects.get(pk=contract.pk)
    if refusal := contract_renewal_refusal(previous):
        raise ValidationError(refusal)
    kind = kind or renewal_kind(previous, start_date)
    objectives = previous.objectives if objectives is None else objectives
    if weekly_hours is None and kind == previous.kind:
        weekly_hours = previous.weekly_hours
    errors = _contract_errors(
        kind=kind,
        start_date=start_date,
        end_date=end_date,
        objectives=objectives,
        weekly_hours=weekly_hours,
        signed_on=signed_on,
        beneficiary_agreed=beneficiary_agreed,
    )
    earliest = renewal_earliest_start(previous)
    if start_date <= previous.start_date:
        errors["start_date"] = (
            f"Un renouvellement commence après le début du contrat qu'il renouvelle "
            f"({previous.start_date:%d/%m/%Y}) : au plus tôt le {earliest:%d/%m/%Y}."
        )
    elif start_date < earliest:
        errors["start_date"] = (
            f"Un renouvellement ne commence pas plus de {RENEWAL_WINDOW_DAYS} jours avant la fin du contrat "
            f"renouvelé ({previous.end_date:%d/%m/%Y}) : au plus tôt le {earliest:%d/%m/%Y}."
        )
    _raise(errors)
    renewed = Contract(
        beneficiary=beneficiary,
        kind=kind,
        status=Contract.Status.SIGNED if signed_on else Contract.Status.DRAFT,
        start_date=start_date,
        end_date=end_date,
        signed_on=signed_on,
        objectives=objectives.strip(),
        weekly_hours=_weekly_hours(kind, weekly_hours),
        beneficiary_agreed=beneficiary_agreed,
        renews=previous,
        author=actor,
    )
    renewed.full_clean()
    renewed.save()
    beneficiary_refresh_contract_end(beneficiary=beneficiary)
    beneficiary_touch(beneficiary=beneficiary)
    return renewed


@transaction.atomic
def contract_sign(
    *, actor: User, contract: Contract, signed_on: datetime.date, beneficiary_agreed: bool, expected_version: int
) -> Contract:
    """Sign a draft contract on `signed_on` (not in the future, not after its end), with the
    beneficiary's agreement."""
    beneficiary = lock_beneficiary(contract.beneficiary)
    check_can_change(actor, beneficiary, CANNOT_CHANGE_PATHWAY)
    current = Contract.objects.get(pk=contract.pk)
    if current.version != expected_version:
        raise ConcurrentEdit(current)
    if refusal := contract_signing_refusal(current):
        raise ValidationError(refusal)
    if signed_on is None:
        raise ValidationError({"signed_on": "Indiquez la date de signature."})
    _raise(_signature_errors(signed_on=signed_on, end_date=current.end_date, beneficiary_agreed=beneficiary_agreed))
    current.status = Contract.Status.SIGNED
    current.signed_on = signed_on
    current.beneficiary_agreed = beneficiary_agreed
    save_versioned(current, expected_version=expected_version, fields=["status", "signed_on", "beneficiary_agreed"])
    beneficiary_refresh_contract_end(beneficiary=beneficiary)
    beneficiary_touch(beneficiary=beneficiary)
    return current


# --- Orientation ----------------------------------------------------------------------------------


def orientation_in_force(beneficiary: Beneficiary) -> Orientation | None:
    return beneficiary.orientations.filter(status=Orientation.Status.DECIDED).first()


@transaction.atomic
def orientation_decide(
    *,
    actor: User,
    beneficiary: Beneficiary,
    track: str,
    organisme_referent: Structure,
    decided_on: datetime.date,
    reason: str,
) -> Orientation:
    """Record the orientation decision: the orientation in force (if any) is superseded and the decided
    one takes its place, in one transaction (the database allows one decided orientation per file)."""
    beneficiary = lock_beneficiary(beneficiary)
    check_may_decide_orientation(actor, beneficiary)
    current = orientation_in_force(beneficiary)
    errors = {}
    if not reason.strip():
        errors["reason"] = "Indiquez le motif de la décision d'orientation."
    if decided_on > _today():
        errors["decided_on"] = "La date de décision ne peut pas être dans le futur."
    elif current is not None and current.decided_on is not None and decided_on < current.decided_on:
        errors["decided_on"] = (
            f"La décision ne peut pas précéder celle de l'orientation en vigueur ({current.decided_on:%d/%m/%Y})."
        )
    else:
        errors |= lifetime_errors(beneficiary, decided_on=decided_on)
    _raise(errors)
    if current is not None and (current.track, current.organisme_referent_id) == (track, organisme_referent.pk):
        raise ValidationError("C'est déjà l'orientation en vigueur : choisissez un autre parcours ou organisme.")
    if current is not None:
        current.status = Orientation.Status.SUPERSEDED
        current.full_clean()
        current.save(update_fields=["status", "updated_at"])
    orientation = Orientation(
        beneficiary=beneficiary,
        track=track,
        organisme_referent=organisme_referent,
        status=Orientation.Status.DECIDED,
        decided_on=decided_on,
        decided_by=actor,
        reason=reason.strip(),
    )
    orientation.full_clean()
    orientation.save()
    beneficiary_refresh_orientation(beneficiary=beneficiary)
    beneficiary_touch(beneficiary=beneficiary)
    return orientation


def reorientation_request_refusal(beneficiary: Beneficiary) -> str:
    """Why no reorientation may be requested on this file now (empty if one may)."""
    if beneficiary.reorientation_requests.filter(status=ReorientationRequest.Status.PENDING).exists():
        return (
            "Une demande de réorientation est déjà en attente pour ce dossier : elle doit être décidée avant "
            "d'en présenter une autre."
        )
    if orientation_in_force(beneficiary) is None:
        return (
            "Ce dossier n'a pas encore d'orientation décidée : la première orientation est enregistrée par un·e "
            "responsable de la structure du dossier."
        )
    return ""


@transaction.atomic
def reorientation_request(
    *, actor: User, beneficiary: Beneficiary, track: str, organisme_referent: Structure, reason: str
) -> ReorientationRequest:
    """The file's referent (or a supervisor of its structure) proposes a new track and organisme
    référent, with a reason. One request waits for a decision at a time."""
    beneficiary = lock_beneficiary(beneficiary)
    check_can_change(actor, beneficiary, CANNOT_CHANGE_PATHWAY)
    if refusal := reorientation_request_refusal(beneficiary):
        raise ValidationError(refusal)
    current = orientation_in_force(beneficiary)
    if not reason.strip():
        raise ValidationError({"reason": "Indiquez pourquoi une réorientation est nécessaire."})
    if current is not None and (current.track, current.organisme_referent_id) == (track, organisme_referent.pk):
        raise ValidationError("C'est l'orientation en vigueur : proposez un autre parcours ou un autre organisme.")
    request = ReorientationRequest(
        beneficiary=beneficiary,
        proposed_track=track,
        proposed_organisme=organisme_referent,
        reason=reason.strip(),
        requested_by=actor,
    )
    request.full_clean()
    request.save()
    beneficiary_touch(beneficiary=beneficiary)
    return request


def reorientation_decision_refusal(request: ReorientationRequest) -> str:
    if request.status == ReorientationRequest.Status.PENDING:
        return ""
    when = f" le {timezone.localtime(request.decided_at):%d/%m/%Y}" if request.decided_at else ""
    return f"Cette demande a déjà été {request.get_status_display().lower()}{when}."


@transaction.atomic
def reorientation_decide(
    *, actor: User, request: ReorientationRequest, accept: bool, reason: str
) -> ReorientationRequest:
    """A supervisor of the file's structure accepts or refuses a pending request, with a reason.
    Acceptance records the orientation decision (dated today) and links it to the request."""
    beneficiary = lock_beneficiary(request.beneficiary)
    check_may_decide_orientation(actor, beneficiary, CANNOT_DECIDE_REORIENTATION)
    current = ReorientationRequest.objects.select_for_update(of=("self",)).get(pk=request.pk)
    if refusal := reorientation_decision_refusal(current):
        raise ValidationError(refusal)
    if not reason.strip():
        raise ValidationError({"reason": "Indiquez le motif de la décision."})
    if accept:
        current.resulting_orientation = orientation_decide(
            actor=actor,
            beneficiary=beneficiary,
            track=current.proposed_track,
            organisme_referent=current.proposed_organisme,
            decided_on=_today(),
            reason=reason,
        )
    current.status = ReorientationRequest.Status.ACCEPTED if accept else ReorientationRequest.Status.REFUSED
    current.decided_by = actor
    current.decided_at = timezone.now()
    current.decision_reason = reason.strip()
    current.full_clean()
    current.save(
        update_fields=["status", "decided_by", "decided_at", "decision_reason", "resulting_orientation", "updated_at"]
    )
    beneficiary_touch(beneficiary=beneficiary)
    return current


# --- Objectives and actions -----------------------------------------------------------------------


@transaction.atomic
def objective_create(
    *,
    actor: User,
    beneficiary: Beneficiary,
    theme: str,
    title: str,
    description: str = "",
    due_date: datetime.date | None = None,
    contract: Contract | None = None,
    beneficiary_agreed: bool = False,
) -> Objective:
    """Set an objective, possibly tied to one of the file's contracts, with the beneficiary's agreement
    recorded (or not)."""
    beneficiary = lock_beneficiary(beneficiary)
    check_can_change(actor, beneficiary, CANNOT_CHANGE_PATHWAY)
    errors = {}
    if not title.strip():
        errors["title"] = "Indiquez l'intitulé de l'objectif."
    if due_date is not None and due_date < _today():
        errors["due_date"] = "L'échéance est passée : choisissez aujourd'hui ou une date à venir."
    if contract is not None:
        if contract.beneficiary_id != beneficiary.pk:
            errors["contract"] = "Ce contrat n'est pas un contrat de ce dossier."
        elif contract.is_withdrawn:
            errors["contract"] = "Ce contrat a été retiré du dossier."
    _raise(errors)
    objective = Objective(
        beneficiary=beneficiary,
        contract=contract,
        theme=theme,
        title=title.strip(),
        description=description.strip(),
        due_date=due_date,
        beneficiary_agreed=beneficiary_agreed,
        author=actor,
    )
    objective.full_clean()
    objective.save()
    beneficiary_touch(beneficiary=beneficiary)
    return objective


@transaction.atomic
def objective_set_status(*, actor: User, objective: Objective, status: str, expected_version: int) -> Objective:
    beneficiary = lock_beneficiary(objective.beneficiary)
    check_can_change(actor, beneficiary, CANNOT_CHANGE_PATHWAY)
    current = Objective.objects.get(pk=objective.pk)
    if current.version != expected_version:
        raise ConcurrentEdit(current)
    _refuse_withdrawn(current, "Cet objectif a été retiré du dossier : son statut ne change plus.")
    if status not in Objective.Status.values:
        raise ValidationError({"status": "Statut d'objectif inconnu."})
    if status == current.status:
        return current
    current.status = status
    save_versioned(current, expected_version=expected_version, fields=["status"])
    beneficiary_touch(beneficiary=beneficiary)
    return current


@transaction.atomic
def action_create(*, actor: User, objective: Objective, title: str, due_date: datetime.date | None = None) -> Action:
    """Add an action under an objective that is still open or in progress."""
    beneficiary = lock_beneficiary(objective.beneficiary)
    check_can_change(actor, beneficiary, CANNOT_CHANGE_PATHWAY)
    objective = Objective.objects.get(pk=objective.pk)
    _refuse_withdrawn(objective, "Cet objectif a été retiré du dossier : on ne lui ajoute plus d'action.")
    if objective.status in CLOSED_OBJECTIVE_STATUSES:
        raise ValidationError(
            f"Cet objectif est {objective.get_status_display().lower()} : remettez-le « en cours » pour lui "
            "ajouter une action."
        )
    errors = {}
    if not title.strip():
        errors["title"] = "Indiquez l'intitulé de l'action."
    if due_date is not None and due_date < _today():
        errors["due_date"] = "L'échéance est passée : choisissez aujourd'hui ou une date à venir."
    _raise(errors)
    action = Action(objective=objective, title=title.strip(), due_date=due_date, author=actor)
    action.full_clean()
    action.save()
    beneficiary_touch(beneficiary=beneficiary)
    return action


@transaction.atomic
def action_set_status(
    *, actor: User, action: Action, status: str, expected_version: int, done_on: datetime.date | None = None
) -> Action:
    """Change an action's status; a done action has the date it was done on (not in the future)."""
    beneficiary = lock_beneficiary(action.objective.beneficiary)
    check_can_change(actor, beneficiary, CANNOT_CHANGE_PATHWAY)
    current = Action.objects.select_related("objective").get(pk=action.pk)
    if current.version != expected_version:
        raise ConcurrentEdit(current)
    _refuse_withdrawn(current, "Cette action a été retirée du dossier : son statut ne change plus.")
    _refuse_withdrawn(current.objective, "L'objectif de cette action a été retiré du dossier.")
    if status not in Action.Status.values:
        raise ValidationError({"status": "Statut d'action inconnu."})
    if status == Action.Status.DONE:
        if done_on is None:
            raise ValidationError({"done_on": "Indiquez la date à laquelle l'action a été réalisée."})
        if done_on > _today():
            raise ValidationError({"done_on": "La date de réalisation ne peut pas être dans le futur."})
    else:
        done_on = None
    if (status, done_on) == (current.status, current.done_on):
        return current
    current.status = status
    current.done_on = done_on
    save_versioned(current, expected_version=expected_version, fields=["status", "done_on"])
    beneficiary_touch(beneficiary=beneficiary)
    return current


# --- Diagnostic and barriers ----------------------------------------------------------------------


@dataclass(frozen=True)
class BarrierInput:
    """A barrier found by a diagnostic (*frein périphérique*), as typed."""

    kind: str
    severity: str = Barrier.Severity.MEDIUM
    comment: str = ""


@transaction.atomic
def diagnostic_create(
    *,
    actor: User,
    beneficiary: Beneficiary,
    carried_out_on: datetime.date,
    situation: str = "",
    education_level: str = "",
    qualifications: str = "",
    work_experience: str = "",
    barriers: Sequence[BarrierInput] = (),
) -> Diagnostic:
    """Record a diagnostic (carried out today or earlier) with the barriers it found."""
    beneficiary = lock_beneficiary(beneficiary)
    check_can_change(actor, beneficiary, CANNOT_CHANGE_PATHWAY)
    if carried_out_on > _today():
        raise ValidationError({"carried_out_on": "La date du diagnostic ne peut pas être dans le futur."})
    check_in_lifetime(beneficiary, carried_out_on, "carried_out_on")
    kinds = [barrier.kind for barrier in barriers]
    if len(set(kinds)) != len(kinds):
        raise ValidationError({"barriers": "Un même frein ne figure qu'une fois dans un diagnostic."})
    diagnostic = Diagnostic(
        beneficiary=beneficiary,
        carried_out_on=carried_out_on,
        situation=situation.strip(),
        education_level=education_level,
        qualifications=qualifications.strip(),
        work_experience=work_experience.strip(),
        author=actor,
    )
    diagnostic.full_clean()
    diagnostic.save()
    for found in barriers:
        barrier = Barrier(
            diagnostic=diagnostic, kind=found.kind, severity=found.severity, comment=found.comment.strip()
        )
        barrier.full_clean()
        barrier.save()
    beneficiary_touch(beneficiary=beneficiary)
    return diagnostic


@transaction.atomic
def barrier_resolve(*, actor: User, barrier: Barrier, resolved_on: datetime.date) -> Barrier:
    """Mark a barrier resolved (*levé*) on a day between its diagnostic and today."""
    diagnostic = Diagnostic.objects.get(pk=barrier.diagnostic_id)
    beneficiary = lock_beneficiary(diagnostic.beneficiary)
    check_can_change(actor, beneficiary, CANNOT_CHANGE_PATHWAY)
    current = Barrier.objects.get(pk=barrier.pk)
    _refuse_withdrawn(diagnostic, "Ce diagnostic a été retiré du dossier : ses freins ne changent plus.")
    if current.resolved_on is not None:
        raise ValidationError(f"Ce frein est déjà levé depuis le {current.resolved_on:%d/%m/%Y}.")
    if resolved_on > _today():
        raise ValidationError({"resolved_on": "La date de levée du frein ne peut pas être dans le futur."})
    if resolved_on < diagnostic.carried_out_on:
        raise ValidationError(
            {
                "resolved_on": (
                    "Un frein ne peut pas être levé avant le diagnostic qui l'a relevé "
                    f"({diagnostic.carried_out_on:%d/%m/%Y})."
                )
            }
        )
    current.resolved_on = resolved_on
    current.full_clean()
    current.save(update_fields=["resolved_on", "updated_at"])
    beneficiary_touch(beneficiary=beneficiary)
    return current


# --- End of support -------------------------------------------------------------------------------


def support_end_refusal(beneficiary: Beneficiary) -> str:
    if beneficiary.is_active:
        return ""
    ended = f" le {beneficiary.support_ended_on:%d/%m/%Y}" if beneficiary.support_ended_on else ""
    return f"L'accompagnement de ce dossier est déjà terminé{ended}."


@transaction.atomic
def support_end(
    *, actor: User, beneficiary: Beneficiary, reason: SupportEndReason, summary: str, ended_on: datetime.date
) -> Beneficiary:
    """End the support (*fin d'accompagnement*): the file moves to the inactive caseload with the
    reason, the date and a closing summary. Nothing is deleted; the referent keeps reading the file."""
    beneficiary = lock_beneficiary(beneficiary)
    check_can_change(actor, beneficiary, CANNOT_CHANGE_PATHWAY)
    if refusal := support_end_refusal(beneficiary):
        raise ValidationError(refusal)
    errors = {}
    if reason is None or not SupportEndReason.objects.filter(pk=reason.pk, is_active=True).exists():
        errors["reason"] = "Choisissez un des motifs de fin d'accompagnement proposés."
    if not summary.strip():
        errors["summary"] = "Rédigez la synthèse de fin d'accompagnement."
    if ended_on > _today():
        errors["ended_on"] = "La date de fin d'accompagnement ne peut pas être dans le futur."
    elif beneficiary.rsa_entry_date and ended_on < beneficiary.rsa_entry_date:
        errors["ended_on"] = (
            f"La fin de l'accompagnement ne peut pas précéder l'entrée dans le RSA "
            f"({beneficiary.rsa_entry_date:%d/%m/%Y})."
        )
    else:
        errors |= lifetime_errors(beneficiary, ended_on=ended_on)
    _raise(errors)
    beneficiary.is_active = False
    beneficiary.support_ended_on = ended_on
    beneficiary.support_end_reason = reason
    beneficiary.support_end_summary = summary.strip()
    beneficiary.version += 1
    beneficiary.full_clean()
    beneficiary.save(
        update_fields=[
            "is_active",
            "support_ended_on",
            "support_end_reason",
            "support_end_summary",
            "version",
            "updated_at",
        ]
    )
    beneficiary_touch(beneficiary=beneficiary)
    return beneficiary
