"""Named read bundles for the screens: what each page fetches, in a constant number of queries.

These take a queryset (or a file) that the permission layer has already scoped
(`casework.permissions.visible_beneficiaries` / `get_beneficiary_or_404`); they never widen it.
"""

from django.db.models import OuterRef, Prefetch, QuerySet, Subquery, prefetch_related_objects

from accounts.models import User
from casework.models import (
    Action,
    Appointment,
    Barrier,
    Beneficiary,
    Contract,
    Diagnostic,
    EmergencyAccess,
    Objective,
    Orientation,
    ReferentAssignment,
    Share,
    Step,
)
from casework.permissions import can_see_emergency_accesses, visible_notes


def with_caseload_data(queryset: QuerySet[Beneficiary]) -> QuerySet[Beneficiary]:
    """The caseload's columns: the track of the orientation in force, the end of the latest signed
    contract (both as subqueries: no query per row) and the current referent and structure."""
    orientation_in_force = Orientation.objects.filter(
        beneficiary=OuterRef("pk"), status=Orientation.Status.DECIDED
    ).order_by("-decided_on", "-created_at")
    latest_signed_contract = Contract.objects.filter(
        beneficiary=OuterRef("pk"), status=Contract.Status.SIGNED
    ).order_by("-start_date", "-end_date", "-pk")
    return queryset.select_related("current_referent", "current_structure").annotate(
        orientation_track=Subquery(orientation_in_force.values("track")[:1]),
        contract_end=Subquery(latest_signed_contract.values("end_date")[:1]),
    )


def file_page_prefetches(user: User, beneficiary: Beneficiary) -> list[Prefetch]:
    """Everything the file page shows beside the file's own columns, one query per kind of object.

    Notes are only those `visible_notes` lets this user read, stored in `beneficiary.readable_notes`
    (never `beneficiary.notes`, which would be every note); emergency accesses are fetched, into
    `beneficiary.emergency_access_list`, only for the users allowed to see them.
    """
    notes = (
        visible_notes(user, beneficiary)
        .select_related("author", "author_structure")
        .prefetch_related("shared_with_departments", "shared_with_structures", "shared_with_users")
        .order_by("-created_at", "-pk")
    )
    prefetches = [
        Prefetch("household_members"),
        Prefetch(
            "assignments",
            queryset=ReferentAssignment.objects.select_related("referent", "structure", "assigned_by").order_by(
                "-started_at", "-pk"
            ),
        ),
        Prefetch(
            "orientations",
            queryset=Orientation.objects.select_related("organisme_referent", "decided_by").order_by(
                "-decided_on", "-created_at"
            ),
        ),
        Prefetch(
            "contracts",
            queryset=Contract.objects.select_related("author", "renews").order_by("-start_date", "-pk"),
        ),
        Prefetch(
            "steps",
            queryset=Step.objects.select_related("author", "author_structure").order_by("-date", "-created_at"),
        ),
        Prefetch(
            "objectives",
            queryset=Objective.objects.select_related("contract").prefetch_related(
                Prefetch("actions", queryset=Action.objects.order_by("due_date", "pk"))
            ),
        ),
        Prefetch(
            "appointments",
            queryset=Appointment.objects.select_related("with_user", "with_structure").order_by(
                "-scheduled_at", "-pk"
            ),
        ),
        Prefetch(
            "diagnostics",
            queryset=Diagnostic.objects.select_related("author").prefetch_related(
                Prefetch("barriers", queryset=Barrier.objects.order_by("kind"))
            ),
        ),
        Prefetch("notes", queryset=notes, to_attr="readable_notes"),
        Prefetch(
            "shares",
            queryset=Share.objects.select_related(
                "shared_with_user", "shared_with_structure", "shared_with_department", "author", "ended_by"
            ).order_by("-starts_at", "-pk"),
        ),
    ]
    if can_see_emergency_accesses(user, beneficiary):
        prefetches.append(
            Prefetch(
                "emergency_accesses",
                queryset=EmergencyAccess.objects.select_related("user", "user_structure").order_by("-started_at"),
                to_attr="emergency_access_list",
            )
        )
    return prefetches


def with_file_page_data(user: User, beneficiary: Beneficiary) -> Beneficiary:
    """Load the file page's data onto a file the user may read (see file_page_prefetches)."""
    prefetch_related_objects([beneficiary], *file_page_prefetches(user, beneficiary))
    return beneficiary
