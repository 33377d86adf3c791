"""Who may see which file, and which notes: the only module that reads or writes object permissions.

The rules (docs/permissions.md, docs/adr/0003-file-permissions.md):
- a user reads files only while they hold an active membership with a file-reading role
  (referent, supervisor, department admin); auditors read the audit trail, never files;
- named grants are django-guardian rows in direct foreign-key tables, derived from the open referent
  assignment (referent of record), the shares (with a person, a structure's group or a department's
  group) and the emergency accesses, each with its expiry; `sync_grants` keeps them in step;
- a supervisor sees the files whose current structure is one they supervise (a query scope);
- a file an import created waits for orientation in the queue of its intake structure: the referents and
  supervisors of that structure see it while it has no current referent (a query scope);
- during a cover (*intérim*, `Cover`), from its first to its last day inclusive (Europe/Paris days), the
  covering referent reads and acts on the files whose current referent is the absent one, in the
  cover's structure (a query scope too: access starts and stops on the dates with nothing to run);
- group membership is read from today's memberships, never from auth_user_groups.

Every queryset of files or notes that reaches a user goes through `visible_beneficiaries` or
`visible_notes`; a file out of scope is a 404 (`get_beneficiary_or_404`), a visible file on which the
action is not allowed is a 403.
"""

import datetime
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.auth.models import Group, Permission
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import BooleanField, Exists, Expression, F, OuterRef, Q, QuerySet, Subquery
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils import timezone

from accounts.models import Department, Membership, Role, Structure, User
from casework.models import (
    Action,
    Appointment,
    Beneficiary,
    BeneficiaryGroupObjectPermission,
    BeneficiaryQuerySet,
    BeneficiaryUserObjectPermission,
    Contract,
    Cover,
    Diagnostic,
    EmergencyAccess,
    Note,
    Objective,
    PathwayEntry,
    ReferentAssignment,
    Share,
    Step,
)

VIEW_BENEFICIARY = "view_beneficiary"
# Roles whose holders may read files when a rule grants it. Auditors (DPO) read the audit trail only.
FILE_READING_ROLES = (Role.REFERENT, Role.SUPERVISOR, Role.DEPARTMENT_ADMIN)
# Roles whose holders, in the intake structure of a file awaiting orientation, see it (imports).
INTAKE_ROLES = (Role.REFERENT, Role.SUPERVISOR)


def _not_expired(at: datetime.datetime) -> Q:
    return Q(expires_at__isnull=True) | Q(expires_at__gt=at)


def _groups_of(memberships: list[Membership]) -> list[int] | QuerySet:
    """The groups of these memberships' structures and departments: their ids as constants, read from the
    structures and departments the memberships were loaded with (an index scan of the group grants, where
    a subquery of the groups made PostgreSQL read them all: ~1.5 ms per statement at department scale).
    A structure or department with no group yet has no group grant, but one may be created later in the
    request (casework.permissions.structure_group): then the groups are read in SQL, as before."""
    structures = [m.structure for m in memberships]
    departments = [s.department for s in structures if s.department is not None]
    group_ids = [structure.group_id for structure in structures] + [department.group_id for department in departments]
    if all(group_id is not None for group_id in group_ids):
        return sorted({group_id for group_id in group_ids if group_id is not None})
    return Group.objects.filter(
        Q(structure__in=sorted({s.pk for s in structures})) | Q(department__in=sorted({d.pk for d in departments}))
    ).values("pk")


def file_access(user: User) -> Q | None:
    """The one rule of who reads which file, as a condition on files; None when the user reads none.

    It is read from the user's memberships of today (`user.active_memberships`, loaded once per request)
    and written as two sets, never as a test per file: the supervised structures, and the ids of the
    files granted by name (guardian rows, the user's or their structures' and departments' groups'),
    waiting in the intake queue of one of the user's structures, or followed by a referent the user
    covers, which the database computes once per statement (`id = ANY(ARRAY(...))` on PostgreSQL). A file
    is visible when its structure is in the first set or its id in the second: two index scans of the
    file table, however many files the Département holds (docs/permissions.md).
    """
    if not (user.is_authenticated and user.is_active):
        return None
    reading = [m for m in user.active_memberships if m.role in FILE_READING_ROLES]
    if not reading:
        return None
    now = timezone.now()
    intake_structures = sorted({m.structure_id for m in reading if m.role in INTAKE_ROLES})
    supervised = sorted({m.structure_id for m in reading if m.role == Role.SUPERVISOR})
    visible = Q(_granted(user.pk, _groups_of(reading), intake_structures, now, timezone.localdate(now)))
    if supervised:
        visible |= Q(current_structure__in=supervised)
    return visible


def visible_beneficiaries(user: User) -> QuerySet[Beneficiary]:
    """Every file this user may read (`Beneficiary.objects.visible_to(user)`), as one SQL query with no
    per-row check. Compose it with filters, ordering, counts and pagination; never start from
    Beneficiary.objects in a view."""
    return Beneficiary.objects.visible_to(user)


def visible_in_structures(user: User, structures: Iterable[Structure]) -> QuerySet[Beneficiary]:
    """The files the user may read today whose current structure is one of these (support ongoing or
    ended): `visible_beneficiaries(user)` narrowed to the structures, for the supervisors' pages.

    When the user supervises every one of these structures today, the supervisor rule alone already gives
    every file of them, so the scope is written as that rule: `current_structure IN (...)`. The files the
    other rules grant in those structures are among them, and those in other structures are outside the
    narrowing anyway. Written as the whole scope narrowed, the database would evaluate the named grants
    for nothing and expect a tenth of the files (the structure condition twice, estimated as independent),
    which made the dashboard ~15 % and the alerts ~30 % slower at department scale (docs/permissions.md).
    Otherwise (a structure not supervised today), the whole scope narrowed."""
    structure_ids = sorted({structure.pk for structure in structures})
    if user.is_authenticated and user.is_active and set(structure_ids) <= set(supervised_structure_ids(user)):
        return Beneficiary.objects.filter(current_structure__in=structure_ids)
    return visible_beneficiaries(user).filter(current_structure__in=structure_ids)


def _granted(user_id, groups, intake_structures, now, today) -> "InSubquery":
    """The files granted by name, waiting in an intake queue of the user's or followed by a referent the
    user covers: `id IN (...)`, computed once per statement."""
    user_grant = BeneficiaryUserObjectPermission.objects.filter(
        _not_expired(now), user=user_id, permission__codename=VIEW_BENEFICIARY
    ).values("content_object_id")
    group_grant = BeneficiaryGroupObjectPermission.objects.filter(
        _not_expired(now), group__in=groups, permission__codename=VIEW_BENEFICIARY
    ).values("content_object_id")
    # The queue of files awaiting orientation (created by an import): the referents and supervisors of
    # the intake structure see the files of its queue until a referent is designated.
    intake = (
        Beneficiary.objects.filter(current_referent__isnull=True, intake_structure__in=intake_structures)
        .values("pk")
        .order_by()
    )
    covering = (
        Beneficiary.objects.filter(
            Exists(
                active_covers(on=today).filter(
                    covering_referent=user_id,
                    absent_referent=OuterRef("current_referent"),
                    structure=OuterRef("current_structure"),
                )
            )
        )
        .values("pk")
        .order_by()
    )
    parts = [user_grant, group_grant, covering] + ([intake] if intake_structures else [])
    return InSubquery("pk", parts[0].union(*parts[1:], all=True))


class InSubquery(Expression):
    """`field IN (subquery)`, written `field = ANY(ARRAY(subquery))` on PostgreSQL.

    The planner evaluates the array once (an InitPlan) and reads the matching rows through the field's
    index; an `IN (subquery)` or an `EXISTS` combined with OR would instead be tested against every row
    of the table.
    """

    conditional = True

    def __init__(self, field: str, queryset: QuerySet):
        super().__init__(output_field=BooleanField())
        self.target = F(field)
        self.subquery = Subquery(queryset)

    def get_source_expressions(self):
        return [self.target, self.subquery]

    def set_source_expressions(self, expressions):
        self.target, self.subquery = expressions

    def _compile(self, compiler):
        field_sql, field_params = compiler.compile(self.target)
        subquery_sql, subquery_params = compiler.compile(self.subquery)
        return field_sql, subquery_sql, (*field_params, *subquery_params)

    def as_sql(self, compiler, connection):
        field_sql, subquery_sql, params = self._compile(compiler)
        return f"{field_sql} IN {subquery_sql}", params

    def as_postgresql(self, compiler, connection):
        field_sql, subquery_sql, params = self._compile(compiler)
        return f"{field_sql} = ANY(ARRAY{subquery_sql})", params


def active_covers(*, on: datetime.date | None = None) -> QuerySet[Cover]:
    """The covers in force on a day (today, Europe/Paris, by default): not cancelled, from their first
    to their last day inclusive."""
    day = on or timezone.localdate()
    return Cover.objects.filter(cancelled_at__isnull=True, starts_on__lte=day, ends_on__gte=day)


def get_beneficiary_or_404(
    user: User, public_id: uuid.UUID | str, *, files: BeneficiaryQuerySet | None = None
) -> Beneficiary:
    """The file with this public id if the user may read it; 404 otherwise, whether it exists or not. Its
    referent, structure and end-of-support reason come with it (the pages about a file show them), or
    what `files` (a queryset of Beneficiary.objects, such as `.with_file_page_data()`) reads with it:
    `files` only says what to read, the user's scope decides what may be found."""
    try:
        public_id = Beneficiary._meta.get_field("public_id").to_python(public_id)
    except (ValidationError, TypeError):
        raise Http404("Dossier introuvable.") from None
    if public_id is None:
        raise Http404("Dossier introuvable.")
    if files is None:
        files = Beneficiary.objects.select_related("current_referent", "current_structure", "support_end_reason")
    return get_object_or_404(files.visible_to(user), public_id=public_id)


def reads_files(user: User) -> bool:
    """Does this user hold, today, a role that may read files at all? (Auditors and people whose
    memberships have all ended do not.) Pages that only list files answer 403 to the others."""
    return user.is_authenticated and any(m.role in FILE_READING_ROLES for m in user.active_memberships)


def is_current_referent(user: User, beneficiary: Beneficiary) -> bool:
    return beneficiary.current_referent_id == user.pk and reads_files(user)


def responsible_structure_id(beneficiary: Beneficiary) -> int | None:
    """The structure answering for the file: its current structure, or, while no referent is designated,
    the intake structure whose queue it waits in (an imported new entrant)."""
    if beneficiary.current_structure_id is not None:
        return beneficiary.current_structure_id
    return beneficiary.intake_structure_id if beneficiary.current_referent_id is None else None


def supervises(user: User, beneficiary: Beneficiary) -> bool:
    """Does the user supervise the structure answering for the file (so may act on it, decide its
    orientation, designate its referent)?"""
    structure_id = responsible_structure_id(beneficiary)
    return structure_id is not None and any(
        m.role == Role.SUPERVISOR and m.structure_id == structure_id for m in user.active_memberships
    )


def supervised_structure_ids(user: User) -> list[int]:
    """The structures this user supervises today (their files are the supervisor's scope)."""
    if not user.is_authenticated:
        return []
    return sorted({m.structure_id for m in user.active_memberships if m.role == Role.SUPERVISOR})


def _covered_today(user: User) -> frozenset[tuple[int, int]]:
    """(absent referent, structure) of the covers this user holds today; read once per user object
    (the request's user), like `user.active_memberships`."""
    today = timezone.localdate()
    cached = user.__dict__.get("_covered_today")
    if cached is None or cached[0] != today:
        pairs = frozenset(
            active_covers(on=today).filter(covering_referent=user).values_list("absent_referent_id", "structure_id")
        )
        cached = (today, pairs)
        user.__dict__["_covered_today"] = cached
    return cached[1]


def covers_current_referent(user: User, beneficiary: Beneficiary) -> bool:
    """Is this user covering today for the file's current referent (an intérim in the file's structure)?"""
    if beneficiary.current_referent_id is None or beneficiary.current_referent_id == user.pk:
        return False
    if not reads_files(user):
        return False
    return (beneficiary.current_referent_id, beneficiary.current_structure_id) in _covered_today(user)


def can_change(user: User, beneficiary: Beneficiary) -> bool:
    """May this user act on the file (share it, reassign, correct)? Its current referent, the
    supervisors of its structure and, during a cover, the colleague covering for its referent may;
    people it was shared with, or who opened it in emergency, only read it."""
    return (
        is_current_referent(user, beneficiary)
        or supervises(user, beneficiary)
        or covers_current_referent(user, beneficiary)
    )


def can_see_emergency_accesses(user: User, beneficiary: Beneficiary) -> bool:
    """Emergency accesses to a file are shown to its supervisors (and to its current referent)."""
    return can_change(user, beneficiary)


def visible_notes(user: User, beneficiary: Beneficiary) -> QuerySet[Note]:
    """The notes of a file (which the caller has already checked the user may read) this user may read.

    - their own notes, always;
    - a note for all who follow the file, if it is not sensitive;
    - a note shared with named people, structures or departments, if the user is one of them or works
      in one of them today; a sensitive note is never shared any wider (supervisors included).
    """
    structures, departments = note_reading_rules(user)
    return readable_notes(beneficiary.pk, user.pk, structures, departments)


def note_reading_rules(user: User) -> tuple[list[int], list[int]]:
    """The structures and departments the user works in today, from the memberships the request has
    already loaded, as constants (as in visible_beneficiaries): two subqueries of the memberships fewer to
    build, compile and run for each of the five statements of the file page that read the notes
    (docs/performance.md)."""
    reading = [m for m in user.active_memberships if m.role in FILE_READING_ROLES]
    structures = sorted({m.structure_id for m in reading})
    departments = sorted({m.structure.department_id for m in reading if m.structure.department_id is not None})
    return structures, departments


def readable_notes(file_id: int, user_id: int, structures, departments) -> QuerySet[Note]:
    """visible_notes from its rules (`note_reading_rules`): the notes of the file the user may read."""
    named = Q(Exists(Note.shared_with_users.through.objects.filter(note=OuterRef("pk"), user=user_id)))
    if structures:
        named |= Q(
            Exists(Note.shared_with_structures.through.objects.filter(note=OuterRef("pk"), structure__in=structures))
        )
    if departments:
        named |= Q(
            Exists(
                Note.shared_with_departments.through.objects.filter(note=OuterRef("pk"), department__in=departments)
            )
        )
    return Note.objects.filter(beneficiary=file_id).filter(
        Q(author=user_id)
        | Q(visibility=Note.Visibility.FOLLOWERS, is_sensitive=False)
        | (Q(visibility=Note.Visibility.SHARED) & named)
    )


def structure_group(structure: Structure) -> Group:
    """The group that stands for a structure in object permissions, created on first use."""
    group = structure.group
    if group is None:
        group, _ = Group.objects.get_or_create(name=f"structure:{structure.code}")
        structure.group = group
        structure.save(update_fields=["group", "updated_at"])
    return group


def department_group(department: Department) -> Group:
    """The group that stands for a department in object permissions, created on first use."""
    group = department.group
    if group is None:
        group, _ = Group.objects.get_or_create(name=f"department:{department.code}")
        department.group = group
        department.save(update_fields=["group", "updated_at"])
    return group


# --- Keeping the grants in step with their sources ---------------------------------------------

# An expiry of None means "no end"; it outlasts any date.
_NO_END = None


def _later(first: datetime.datetime | None, second: datetime.datetime | None) -> datetime.datetime | None:
    if first is _NO_END or second is _NO_END:
        return _NO_END
    return max(first, second)


@dataclass
class GrantDrift:
    """What sync_grants found different from what the sources say (and fixed, unless dry_run)."""

    created: int = 0
    updated: int = 0
    deleted: int = 0
    files: set[int] = field(default_factory=set)

    @property
    def total(self) -> int:
        return self.created + self.updated + self.deleted

    def __iadd__(self, other: "GrantDrift") -> "GrantDrift":
        self.created += other.created
        self.updated += other.updated
        self.deleted += other.deleted
        self.files |= other.files
        return self


def _desired_grants(beneficiary_ids: list[int], now: datetime.datetime):
    """{(beneficiary_id, user_id): expires_at} and {(beneficiary_id, group_id): expires_at} that the
    sources call for, for these files."""
    users: dict[tuple[int, int], datetime.datetime | None] = {}
    groups: dict[tuple[int, int], datetime.datetime | None] = {}

    def want(grants, key, expires_at):
        grants[key] = _later(grants[key], expires_at) if key in grants else expires_at

    for beneficiary_id, referent_id in ReferentAssignment.objects.filter(
        beneficiary_id__in=beneficiary_ids, ended_at__isnull=True
    ).values_list("beneficiary_id", "referent_id"):
        want(users, (beneficiary_id, referent_id), _NO_END)

    shares = Share.objects.active(at=now).filter(beneficiary_id__in=beneficiary_ids)
    for share in shares.select_related("shared_with_structure", "shared_with_department"):
        expires_at = share.ends_at
        if share.shared_with_user_id:
            want(users, (share.beneficiary_id, share.shared_with_user_id), expires_at)
        elif share.shared_with_structure_id:
            group = structure_group(share.shared_with_structure)
            want(groups, (share.beneficiary_id, group.pk), expires_at)
        else:
            group = department_group(share.shared_with_department)
            want(groups, (share.beneficiary_id, group.pk), expires_at)

    for beneficiary_id, user_id, expires_at in EmergencyAccess.objects.filter(
        beneficiary_id__in=beneficiary_ids, started_at__lte=now, expires_at__gt=now
    ).values_list("beneficiary_id", "user_id", "expires_at"):
        want(users, (beneficiary_id, user_id), expires_at)
    return users, groups


def _apply(model, owner_field: str, existing_rows, desired: dict, permission: Permission, dry_run: bool) -> GrantDrift:
    drift = GrantDrift()
    existing = {(row.content_object_id, getattr(row, f"{owner_field}_id")): row for row in existing_rows}
    to_delete = [row.pk for key, row in existing.items() if key not in desired]
    to_update = []
    for key, expires_at in desired.items():
        row = existing.get(key)
        if row is not None and row.expires_at != expires_at:
            row.expires_at = expires_at
            to_update.append(row)
    to_create = [
        model(
            content_object_id=beneficiary_id,
            permission=permission,
            expires_at=expires_at,
            **{f"{owner_field}_id": owner_id},
        )
        for (beneficiary_id, owner_id), expires_at in desired.items()
        if (beneficiary_id, owner_id) not in existing
    ]
    drift.deleted, drift.updated, drift.created = len(to_delete), len(to_update), len(to_create)
    drift.files = {key[0] for key in existing if key not in desired} | {row.content_object_id for row in to_update}
    drift.files |= {row.content_object_id for row in to_create}
    if not dry_run:
        model.objects.filter(pk__in=to_delete).delete()
        model.objects.bulk_update(to_update, ["expires_at"])
        model.objects.bulk_create(to_create)
    return drift


def sync_grants(beneficiary_ids: Iterable[int], *, dry_run: bool = False, now: datetime.datetime | None = None):
    """Make the object permissions of these files match their sources; return the drift found.

    Called by every service that changes a source, in its transaction, and by check_permissions over
    all files. Expired and orphaned rows (a source that no longer exists) are deleted.
    """
    ids = list(beneficiary_ids)
    if not ids:
        return GrantDrift()
    moment = now or timezone.now()
    permission = Permission.objects.get(content_type__app_label="casework", codename=VIEW_BENEFICIARY)
    desired_users, desired_groups = _desired_grants(ids, moment)
    drift = _apply(
        BeneficiaryUserObjectPermission,
        "user",
        BeneficiaryUserObjectPermission.objects.filter(content_object_id__in=ids),
        desired_users,
        permission,
        dry_run,
    )
    drift += _apply(
        BeneficiaryGroupObjectPermission,
        "group",
        BeneficiaryGroupObjectPermission.objects.filter(content_object_id__in=ids),
        desired_groups,
        permission,
        dry_run,
    )
    return drift


# --- Acting on a file and on its entries (403: the file is visible, the action is not the user's) -------

CANNOT_CHANGE = "Vous pouvez consulter ce dossier mais pas le modifier."
CANNOT_LOG = "Vous pouvez consulter ce dossier mais pas y consigner d'étape ni de rendez-vous."
CANNOT_CHANGE_PATHWAY = (
    "Seul·e le ou la référent·e du dossier ou un·e responsable de sa structure peut modifier son parcours."
)
CANNOT_SHARE = "Seul·e le ou la référent·e du dossier ou son ou sa responsable peut le partager."
CANNOT_END_SHARE = "Vous ne pouvez pas arrêter ce partage."
CANNOT_DECIDE_ORIENTATION = (
    "La décision d'orientation revient au Président du Département : elle est enregistrée par un·e "
    "responsable de la structure du dossier. Vous pouvez proposer une réorientation."
)
CANNOT_DECIDE_REORIENTATION = (
    "Une demande de réorientation est acceptée ou refusée par un·e responsable de la structure du dossier."
)
CANNOT_WRITE_NOTE = "Vous ne pouvez pas écrire de note sur ce dossier."
CANNOT_CORRECT = "Cette saisie ne peut plus être corrigée : retirez-la avec un motif si elle est erronée."
CANNOT_WITHDRAW = "Vous ne pouvez pas retirer cette saisie."
WITHDRAWN = "Cette saisie a été retirée : elle ne peut plus changer."
NOT_OF_FILE = "Cette saisie n'appartient pas à ce dossier."
CANNOT_ASK_EMERGENCY_ACCESS = "L'accès exceptionnel est réservé aux référent·e·s."
READS_NO_FILE = "Votre rôle ne donne accès à aucun dossier."


def check_reads_files(user: User) -> None:
    """403 for a signed-in user whose roles open no file (pages that only list files)."""
    if not reads_files(user):
        raise PermissionDenied(READS_NO_FILE)


def check_can_change(user: User, beneficiary: Beneficiary, message: str = CANNOT_CHANGE) -> None:
    """403 for a visible file on which the user may not act (call after get_beneficiary_or_404)."""
    if not can_change(user, beneficiary):
        raise PermissionDenied(message)


def may_decide_orientation(user: User, beneficiary: Beneficiary) -> bool:
    """Record an orientation decision, accept or refuse a reorientation request: supervisors of the
    file's structure only."""
    return supervises(user, beneficiary)


def check_may_decide_orientation(
    user: User, beneficiary: Beneficiary, message: str = CANNOT_DECIDE_ORIENTATION
) -> None:
    if not may_decide_orientation(user, beneficiary):
        raise PermissionDenied(message)


def check_can_end_share(user: User, share: Share, beneficiary: Beneficiary) -> None:
    """A share of this file is ended by whoever may act on the file, or by its author."""
    if not can_change(user, beneficiary) and share.author_id != user.pk:
        raise PermissionDenied(CANNOT_END_SHARE)


def can_write_note(user: User, beneficiary: Beneficiary) -> bool:
    """Anyone who may read the file may write a note on it."""
    return reads_files(user) and visible_beneficiaries(user).filter(pk=beneficiary.pk).exists()


def check_can_write_note(user: User, beneficiary: Beneficiary) -> None:
    if not can_write_note(user, beneficiary):
        raise PermissionDenied(CANNOT_WRITE_NOTE)


def may_ask_emergency_access(user: User) -> bool:
    """Referents may ask for an emergency access to a file they do not follow."""
    return user.is_authenticated and user.is_referent


def check_may_ask_emergency_access(user: User) -> None:
    if not may_ask_emergency_access(user):
        raise PermissionDenied(CANNOT_ASK_EMERGENCY_ACCESS)


def correction_deadline(entry: PathwayEntry) -> datetime.datetime:
    return entry.created_at + datetime.timedelta(hours=settings.ENTRY_CORRECTION_HOURS)


def can_correct(user: User, entry: PathwayEntry, *, at: datetime.datetime | None = None) -> bool:
    """Its author may correct an entry within ENTRY_CORRECTION_HOURS of writing it; after that, or
    for anyone else, it is immutable (it can still be withdrawn with a reason)."""
    now = at or timezone.now()
    return (
        entry.withdrawn_at is None
        and getattr(entry, "author_id", None) == user.pk
        and now <= correction_deadline(entry)
    )


def check_can_correct(user: User, entry: PathwayEntry) -> None:
    if not can_correct(user, entry):
        raise PermissionDenied(CANNOT_CORRECT)


def can_withdraw(user: User, entry: PathwayEntry, beneficiary: Beneficiary) -> bool:
    """An entry is withdrawn by its author or by whoever may act on the file (its referent, the
    supervisors of its structure), never deleted."""
    return entry.withdrawn_at is None and (
        getattr(entry, "author_id", None) == user.pk or can_change(user, beneficiary)
    )


def check_can_withdraw(
    user: User, entry: PathwayEntry, beneficiary: Beneficiary, message: str = CANNOT_WITHDRAW
) -> None:
    """can_withdraw, and a note one may not read is not withdrawn either: acting on the file does not open
    its notes (the timeline shows only readable notes, so it asks can_withdraw alone)."""
    if not can_withdraw(user, entry, beneficiary):
        raise PermissionDenied(message)
    if isinstance(entry, Note) and not visible_notes(user, beneficiary).filter(pk=entry.pk).exists():
        raise PermissionDenied(message)


def check_not_withdrawn(entry: PathwayEntry, message: str = WITHDRAWN) -> None:
    """A withdrawn entry changes no more (403)."""
    if entry.is_withdrawn:
        raise PermissionDenied(message)


def entry_file_id(entry: PathwayEntry) -> int:
    """The file an entry belongs to (an action hangs off an objective)."""
    if isinstance(entry, Action):
        return entry.objective.beneficiary_id
    if isinstance(entry, Step | Appointment | Note | Contract | Objective | Diagnostic):
        return entry.beneficiary_id
    raise TypeError(f"{type(entry).__name__} is not an entry of a file.")


def check_entry_of_file(entry: PathwayEntry, beneficiary: Beneficiary) -> None:
    """The rules are checked against `beneficiary`: the entry must be one of its entries."""
    if entry_file_id(entry) != beneficiary.pk:
        raise PermissionDenied(NOT_OF_FILE)
