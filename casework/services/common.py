"""What every write on a pathway entry shares: locking the file, keeping `last_activity_at` in step,
optimistic locking with the `version` column, and the correction and withdrawal rules with the
previous version kept in `Revision`."""

import datetime
from typing import TypeVar

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import F, Q, Subquery, Value
from django.db.models.functions import Coalesce
from django.forms.models import model_to_dict
from django.utils import timezone

from accounts.models import User
from casework.models import (
    Beneficiary,
    Contract,
    PathwayEntry,
    Revision,
)
from casework.permissions import check_can_correct, check_can_withdraw, check_entry_of_file
from casework.querysets import latest_signed_contract, orientation_in_force

# A kind of pathway entry: a correction or a withdrawal gives back the entry of the kind it was given.
Entry = TypeVar("Entry", bound=PathwayEntry)


class ConcurrentEdit(Exception):
    """Someone else changed the object since the form was shown; `current` is its state now."""

    def __init__(self, current: models.Model):
        super().__init__("L'objet a été modifié entre-temps.")
        self.current = current


# How far ahead a step, an appointment or a contract's start may be dated (a typo in the year is the usual
# mistake).
MAX_DAYS_AHEAD = 365


def lifetime_errors(beneficiary: Beneficiary, **days: datetime.date | None) -> dict[str, str]:
    """{field: message} for each date of the pathway given that falls before the person's birth (a typo
    such as 01/01/1890, or the birth date typed in the place of the event's)."""
    return {
        field: f"Cette date ({day:%d/%m/%Y}) est antérieure à la naissance de la personne "
        f"({beneficiary.birth_date:%d/%m/%Y}) : vérifiez-la."
        for field, day in days.items()
        if day is not None and day < beneficiary.birth_date
    }


def check_in_lifetime(beneficiary: Beneficiary, day: datetime.date, field: str) -> None:
    """`lifetime_errors` for one date, raised as a ValidationError at its field. The services check it,
    so that forms, imports and any other caller get the same French message."""
    if errors := lifetime_errors(beneficiary, **{field: day}):
        raise ValidationError(errors)


def lock_beneficiary(beneficiary: Beneficiary) -> Beneficiary:
    return Beneficiary.objects.select_for_update(of=("self",)).get(pk=beneficiary.pk)


def beneficiary_touch(*, beneficiary: Beneficiary, at: datetime.datetime | None = None) -> None:
    """Record activity on the file: last_activity_at moves forward, never back (one UPDATE)."""
    when = at or timezone.now()
    Beneficiary.objects.filter(pk=beneficiary.pk).filter(
        Q(last_activity_at__isnull=True) | Q(last_activity_at__lt=when)
    ).update(last_activity_at=when)


def files_refresh_contract_end(files: models.QuerySet[Beneficiary]) -> int:
    """Set `signed_contract_end` and `signed_contracts_until` of these files from their contracts (one
    UPDATE); bulk writers of contracts (the demo) call it once they are written."""
    return files.update(
        signed_contract_end=Subquery(latest_signed_contract().values("end_date")[:1]),
        signed_contracts_until=Subquery(latest_signed_contract().order_by("-end_date").values("end_date")[:1]),
    )


def files_refresh_orientation(files: models.QuerySet[Beneficiary]) -> int:
    """Set `orientation_track` and `orientation_decided_on` of these files from their orientation in force
    (one UPDATE); bulk writers of orientations (the demo) call it once they are written."""
    in_force = orientation_in_force()
    return files.update(
        orientation_track=Coalesce(Subquery(in_force.values("track")[:1]), Value("")),
        orientation_decided_on=Subquery(in_force.values("decided_on")[:1]),
    )


def beneficiary_refresh_orientation(*, beneficiary: Beneficiary) -> None:
    """Keep the file's orientation columns in step with its orientations: every write on an orientation
    calls it, in its transaction, after the orientation is saved."""
    files_refresh_orientation(Beneficiary.objects.filter(pk=beneficiary.pk))


def beneficiary_refresh_contract_end(*, beneficiary: Beneficiary) -> None:
    """Keep `signed_contract_end` and `signed_contracts_until` in step with the file's contracts: every
    write on a contract calls it, in its transaction, after the contract is saved."""
    files_refresh_contract_end(Beneficiary.objects.filter(pk=beneficiary.pk))


def save_versioned(obj: PathwayEntry, *, expected_version: int, fields: list[str]) -> None:
    """Save `fields` of obj only if nobody saved it since `expected_version`; bump its version.

    A conditional UPDATE ... WHERE version = expected: the second of two concurrent edits changes no
    row and gets ConcurrentEdit with the object as the first one left it.
    """
    obj.full_clean()
    values = {field: getattr(obj, field) for field in fields}
    now = timezone.now()
    if "updated_at" in {f.name for f in obj._meta.fields}:
        values["updated_at"] = now
    updated = type(obj).objects.filter(pk=obj.pk, version=expected_version).update(version=F("version") + 1, **values)
    if not updated:
        raise ConcurrentEdit(type(obj).objects.get(pk=obj.pk))
    obj.version = expected_version + 1
    if "updated_at" in values:
        obj.updated_at = now


def _snapshot(entry: models.Model) -> dict:
    data = model_to_dict(entry)
    for name, value in list(data.items()):
        if isinstance(value, list):  # many-to-many: keep the ids
            data[name] = [getattr(item, "pk", item) for item in value]
    return data


def revision_record(*, entry: PathwayEntry, beneficiary: Beneficiary, action: str, actor: User, reason: str = ""):
    return Revision.objects.create(
        content_type=ContentType.objects.get_for_model(type(entry)),
        object_id=entry.pk,
        beneficiary=beneficiary,
        version=entry.version,
        data=_snapshot(entry),
        action=action,
        reason=reason,
        changed_by=actor,
        changed_at=timezone.now(),
    )


@transaction.atomic
def entry_correct(
    *, actor: User, entry: Entry, beneficiary: Beneficiary, changes: dict, expected_version: int
) -> Entry:
    """Correct an entry (its author, within the delay): the previous version is kept, the entry is
    marked corrected. `changes` maps field names to new values (many-to-many fields included)."""
    lock_beneficiary(beneficiary)
    current = type(entry).objects.get(pk=entry.pk)
    check_entry_of_file(current, beneficiary)
    check_can_correct(actor, current)
    if current.version != expected_version:
        raise ConcurrentEdit(current)
    revision_record(entry=current, beneficiary=beneficiary, action=Revision.Action.CORRECTED, actor=actor)
    many_to_many = {name: value for name, value in changes.items() if current._meta.get_field(name).many_to_many}
    for name, value in changes.items():
        if name not in many_to_many:
            setattr(current, name, value)
    current.corrected_at = timezone.now()
    save_versioned(
        current,
        expected_version=expected_version,
        fields=[name for name in changes if name not in many_to_many] + ["corrected_at"],
    )
    for name, value in many_to_many.items():
        getattr(current, name).set(value)
    if isinstance(current, Contract):
        beneficiary_refresh_contract_end(beneficiary=beneficiary)
    beneficiary_touch(beneficiary=beneficiary)
    return current


@transaction.atomic
def entry_withdraw(
    *, actor: User, entry: Entry, beneficiary: Beneficiary, reason: str, expected_version: int
) -> Entry:
    """Withdraw a mistaken entry with a reason: it stays, marked withdrawn, with its last version kept."""
    lock_beneficiary(beneficiary)
    current = type(entry).objects.get(pk=entry.pk)
    check_entry_of_file(current, beneficiary)
    check_can_withdraw(actor, current, beneficiary)
    if not reason.strip():
        raise ValidationError({"withdrawal_reason": "Indiquez pourquoi cette saisie est retirée."})
    if current.version != expected_version:
        raise ConcurrentEdit(current)
    revision_record(
        entry=current, beneficiary=beneficiary, action=Revision.Action.WITHDRAWN, actor=actor, reason=reason.strip()
    )
    current.withdrawn_at = timezone.now()
    current.withdrawn_by = actor
    current.withdrawal_reason = reason.strip()
    save_versioned(
        current, expected_version=expected_version, fields=["withdrawn_at", "withdrawn_by", "withdrawal_reason"]
    )
    if isinstance(current, Contract):
        beneficiary_refresh_contract_end(beneficiary=beneficiary)
    return current
