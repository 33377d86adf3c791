"""What the caseload reads beside the file's QuerySet methods (casework.models.BeneficiaryQuerySet): the
columns its rows show, the subqueries of the orientation in force and the latest signed contract, and the
values of its "accompagnement" filter."""

from django.db.models import OuterRef, QuerySet

from casework.models import Contract, Orientation

# What the caseload's rows show (templates/casework/includes/caseload_results.html, views/caseload.py).
CASELOAD_COLUMNS = (
    "public_id",
    "last_name",
    "first_name",
    "birth_date",
    "organism",
    "allocataire_number",
    "commune",
    "is_active",
    "orientation_track",
    "signed_contract_end",
    "last_activity_at",
    "current_referent__first_name",
    "current_referent__last_name",
    "current_referent__username",
    "current_structure__name",
    "current_structure__is_sensitive",
)


# --- Subqueries on the file at OuterRef("pk") (casework.services.common keeps the files' denormalised
# columns with them). The caseload's filters and search are BeneficiaryQuerySet methods (casework.models).


def orientation_in_force() -> QuerySet[Orientation]:
    """The orientation in force of the file at OuterRef("pk"): the decided one (a unique constraint
    allows one at most)."""
    return Orientation.objects.filter(beneficiary=OuterRef("pk"), status=Orientation.Status.DECIDED).order_by(
        "-decided_on", "-created_at"
    )


def latest_signed_contract() -> QuerySet[Contract]:
    """The signed contracts of the file at OuterRef("pk") that were not withdrawn, latest first."""
    return Contract.objects.filter(
        beneficiary=OuterRef("pk"), status=Contract.Status.SIGNED, withdrawn_at__isnull=True
    ).order_by("-start_date", "-end_date", "-pk")


# The caseload's "accompagnement" filter (www.filters), linked to from the team's screens.
SUPPORT_ONGOING, SUPPORT_ENDED = "en_cours", "termine"
