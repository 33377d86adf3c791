"""Who may upload, check and run imports of CAF/MSA files (docs/imports.md)."""

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet

from accounts.models import User
from imports.models import BeneficiaryImport


def manages_imports(user: User) -> bool:
    """Department admins upload, check and run imports; nobody else."""
    return user.is_authenticated and user.is_active and user.is_department_admin


def check_manages_imports(user: User) -> None:
    """403 for a signed-in user who is not a department admin."""
    if not manages_imports(user):
        raise PermissionDenied("Les imports de bénéficiaires sont réservés aux administrateur·rices départementaux.")


def visible_imports(user: User) -> QuerySet[BeneficiaryImport]:
    """The imports this user may see: every import of the instance for a department admin (imports are
    the Département's, and a colleague takes over a run or a dry run another admin started), none for
    anybody else."""
    if not manages_imports(user):
        return BeneficiaryImport.objects.none()
    return BeneficiaryImport.objects.all()
