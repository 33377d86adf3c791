"""Writes on a beneficiary's file. Views, forms, commands and tasks call these; nothing else saves
casework objects (see docs/architecture.md). A service that changes who may see a file also brings
the object permissions in step (casework.permissions.sync_grants), in the same transaction."""

import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.models import Department, Role, Structure, User
from casework.models import (
    Beneficiary,
    BeneficiaryGroupObjectPermission,
    BeneficiaryUserObjectPermission,
    EmergencyAccess,
    ReferentAssignment,
    Share,
)
from casework.permissions import (
    CANNOT_SHARE,
    check_can_change,
    check_can_end_share,
    sync_grants,
    visible_beneficiaries,
)


def _lock(beneficiary: Beneficiary) -> Beneficiary:
    return Beneficiary.objects.select_for_update(of=("self",)).get(pk=beneficiary.pk)


@transaction.atomic
def beneficiary_assign_referent(
    *,
    actor: User | None,
    beneficiary: Beneficiary,
    referent: User,
    structure: Structure,
    reason: str = "",
    at: datetime.datetime | None = None,
) -> ReferentAssignment:
    """Make `referent` (working in `structure`) the file's referent from `at` (now by default).

    Ends the current assignment at the same instant (its history stays), opens a new one, updates the
    file's denormalised current referent and structure, and moves the object permissions: the former
    referent loses access at once (unless another rule still grants it), the new one gains it. The
    file's row is locked so that two concurrent reassignments cannot both leave an open assignment.
    """
    when = at or timezone.now()
    beneficiary = _lock(beneficiary)
    current = ReferentAssignment.objects.filter(beneficiary=beneficiary, ended_at__isnull=True).first()
    if current is not None:
        if current.referent_id == referent.pk and current.structure_id == structure.pk:
            return current
        current.ended_at = when
        current.full_clean()
        current.save(update_fields=["ended_at", "updated_at"])
    assignment = ReferentAssignment(
        beneficiary=beneficiary,
        referent=referent,
        structure=structure,
        started_at=when,
        reason=reason,
        assigned_by=actor,
    )
    assignment.full_clean()
    assignment.save()
    beneficiary.current_referent = referent
    beneficiary.current_structure = structure
    beneficiary.full_clean()
    beneficiary.save(update_fields=["current_referent", "current_structure", "updated_at"])
    sync_grants([beneficiary.pk])
    return assignment


@transaction.atomic
def beneficiary_share(
    *,
    actor: User,
    beneficiary: Beneficiary,
    reason: str,
    user: User | None = None,
    structure: Structure | None = None,
    department: Department | None = None,
    ends_at: datetime.datetime | None = None,
) -> Share:
    """Share the file with one person, one structure or one department, for a reason, until `ends_at`
    (or until someone ends the share). Only those who may act on the file may share it."""
    beneficiary = _lock(beneficiary)
    check_can_change(actor, beneficiary, CANNOT_SHARE)
    if user is not None and not user.active_memberships:
        raise ValidationError({"shared_with_user": "Cette personne n'est rattachée à aucune structure aujourd'hui."})
    if user is not None and all(m.role == Role.AUDITOR for m in user.active_memberships):
        raise ValidationError({"shared_with_user": "Un dossier ne se partage pas avec un·e auditeur·rice."})
    already = Share.objects.active().filter(
        beneficiary=beneficiary,
        shared_with_user=user,
        shared_with_structure=structure,
        shared_with_department=department,
    )
    if already.exists():
        field = "shared_with_user" if user else "shared_with_structure" if structure else "shared_with_department"
        raise ValidationError({field: "Ce dossier est déjà partagé avec ce destinataire."})
    share = Share(
        beneficiary=beneficiary,
        shared_with_user=user,
        shared_with_structure=structure,
        shared_with_department=department,
        reason=reason.strip(),
        author=actor,
        starts_at=timezone.now(),
        ends_at=ends_at,
    )
    share.full_clean()
    share.save()
    sync_grants([beneficiary.pk])
    return share


@transaction.atomic
def share_end(*, actor: User, share: Share) -> Share:
    """End a share now: whoever received it loses access at once (unless another rule grants it)."""
    beneficiary = _lock(share.beneficiary)
    check_can_end_share(actor, share, beneficiary)
    share = Share.objects.select_for_update(of=("self",)).get(pk=share.pk)
    if share.is_active():
        share.ended_at = timezone.now()
        share.ended_by = actor
        share.full_clean()
        share.save(update_fields=["ended_at", "ended_by", "updated_at"])
        sync_grants([beneficiary.pk])
    return share


class NoMatchingFile(Exception):
    """No file matches the identifiers given (or the user may not ask for emergency access)."""


@transaction.atomic
def emergency_reason_check(reason: str) -> None:
    """The reason of an emergency access says why in words: at least EMERGENCY_REASON_MIN_LENGTH
    characters (a letter or "urgent" says nothing to the file's supervisors, who read it)."""
    if len(reason.strip()) < settings.EMERGENCY_REASON_MIN_LENGTH:
        raise ValidationError(
            {
                "reason": f"Expliquez le motif en une phrase (au moins {settings.EMERGENCY_REASON_MIN_LENGTH} "
                "caractères) : il est lu par les responsables du dossier."
            }
        )


def emergency_access_open(
    *, actor: User, allocataire_number: str, birth_date: datetime.date, reason: str
) -> tuple[Beneficiary, EmergencyAccess | None]:
    """Open a file the actor does not follow, from the person's exact identifiers and a reason.

    Only referents may; the access lasts EMERGENCY_ACCESS_HOURS. A file the actor may already read is
    simply returned (no emergency access is recorded). NoMatchingFile is raised alike whether no file
    matches or the actor may not ask, so that the answer tells nothing about which files exist.
    """
    memberships = [m for m in actor.active_memberships if m.role == Role.REFERENT]
    if not memberships:
        raise NoMatchingFile
    emergency_reason_check(reason)  # before any lookup: it tells nothing about which files exist
    matches = list(
        Beneficiary.objects.filter(
            allocataire_number=allocataire_number.strip().lstrip("0") or "0", birth_date=birth_date
        )[:2]
    )
    if len(matches) != 1:
        # None, or the same number at the CAF and the MSA for two people born the same day: refuse
        # rather than open the wrong file.
        raise NoMatchingFile
    beneficiary = _lock(matches[0])
    if visible_beneficiaries(actor).filter(pk=beneficiary.pk).exists():
        return beneficiary, None
    now = timezone.now()
    access = EmergencyAccess(
        beneficiary=beneficiary,
        user=actor,
        user_structure=memberships[0].structure,
        reason=reason.strip(),
        started_at=now,
        expires_at=now + datetime.timedelta(hours=settings.EMERGENCY_ACCESS_HOURS),
    )
    access.full_clean()
    access.save()
    sync_grants([beneficiary.pk])
    return beneficiary, access


def grants_purge_expired(*, chunk_size: int = 2000) -> int:
    """Bring in step the grants of files holding expired rows; return how many files were touched.

    Idempotent: a second run finds nothing to do."""
    now = timezone.now()
    ids: set[int] = set()
    for model in (BeneficiaryUserObjectPermission, BeneficiaryGroupObjectPermission):
        ids |= set(model.objects.filter(expires_at__lte=now).values_list("content_object_id", flat=True))
    ordered = sorted(ids)
    for start in range(0, len(ordered), chunk_size):
        with transaction.atomic():
            sync_grants(ordered[start : start + chunk_size], now=now)
    return len(ordered)
