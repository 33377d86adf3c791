"""Who may read the audit trail, its exports, and a file's access report (docs/permissions.md)."""

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404

from accounts.models import User
from audit.models import AuditEvent, AuditExport
from casework.models import Beneficiary
from casework.permissions import get_beneficiary_or_404, supervises

# --- The audit trail (docs/audit.md) ---------------------------------------------------------------


def reads_audit_trail(user: User) -> bool:
    """Auditors (DPO) read the whole audit trail of the instance; nobody else reads any of it."""
    return user.is_authenticated and user.is_active and user.is_auditor


def check_reads_audit_trail(user: User) -> None:
    """403 for a signed-in user who is not an auditor (the audit screens name no file of theirs)."""
    if not reads_audit_trail(user):
        raise PermissionDenied("Le journal d'audit est réservé aux auditeurs et au DPO.")


def visible_audit_events(user: User) -> QuerySet[AuditEvent]:
    """Every audit event this user may read: all of them for an auditor, none for anybody else."""
    if not reads_audit_trail(user):
        return AuditEvent.objects.none()
    return AuditEvent.objects.all()


def visible_audit_exports(user: User) -> QuerySet[AuditExport]:
    """The exports this user may see and download: their own, while they are still an auditor."""
    if not reads_audit_trail(user):
        return AuditExport.objects.none()
    return AuditExport.objects.filter(requested_by=user)


def get_access_report_beneficiary_or_404(user: User, public_id) -> Beneficiary:
    """The file whose access report this user may read ("who accessed this file, when, why").

    Auditors may read the report of any file (they answer the beneficiary's GDPR request) without
    reading the file itself; supervisors, of the files of the structures they supervise. A file the
    user may not read is a 404; a file they may read but whose report is not theirs to see, a 403.
    """
    if reads_audit_trail(user):
        beneficiary = Beneficiary.objects.filter(public_id=public_id).first()
        if beneficiary is None:
            raise Http404("Aucun dossier ne correspond.")
        return beneficiary
    beneficiary = get_beneficiary_or_404(user, public_id)
    if not supervises(user, beneficiary):
        raise PermissionDenied("Le rapport des accès est réservé aux responsables de la structure et au DPO.")
    return beneficiary


def access_report_events(user: User, beneficiary: Beneficiary) -> QuerySet[AuditEvent]:
    """The audit events about this file that its access report lists (call after
    get_access_report_beneficiary_or_404): every one for an auditor or a supervisor of the file's
    structure, none for anybody else. Trail data only: who, when, what, why — never the file's content."""
    if not (reads_audit_trail(user) or supervises(user, beneficiary)):
        return AuditEvent.objects.none()
    return AuditEvent.objects.filter(beneficiary=beneficiary)
