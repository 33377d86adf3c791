"""Writes on a beneficiary's file. Views, forms, commands and tasks call these; nothing else saves
casework objects (see docs/architecture.md)."""

import datetime

from django.db import transaction
from django.utils import timezone

from accounts.models import Structure, User
from casework.models import Beneficiary, ReferentAssignment


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

    Ends the current assignment at the same instant (its history stays), opens a new one, and
    updates the file's denormalised current referent and structure, in one transaction. The row of
    the file is locked so that two concurrent reassignments cannot both leave an open assignment.
    """
    when = at or timezone.now()
    beneficiary = Beneficiary.objects.select_for_update(of=("self",)).get(pk=beneficiary.pk)
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
    return assignment
