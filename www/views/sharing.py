"""Sharing a file with a person, a structure or a department, and ending a share (issue 3).

Only those who may act on the file (its referent, the supervisors of its structure) share it; a
share is ended by them or by its author. The file is looked up in the user's scope first: out of
scope is a 404, whatever the action.
"""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from accounts.models import User
from audit.trail import audit_annotate
from casework import services
from casework.forms.sharing import ShareForm
from casework.models import Share
from casework.permissions import check_can_change, get_beneficiary_or_404
from www.views.pickers import share_targets_url


def _target_label(share: Share, user: User) -> str:
    if share.shared_with_user_id:
        return str(share.shared_with_user)
    if share.shared_with_structure_id:
        return share.shared_with_structure.label_for(user)
    return share.shared_with_department.name


@require_http_methods(["GET", "POST"])
def share_create(request, public_id):
    beneficiary = get_beneficiary_or_404(request.user, public_id)
    check_can_change(request.user, beneficiary)
    if request.method == "POST":
        form = ShareForm(request.POST, actor=request.user, search_url=share_targets_url(beneficiary))
        if form.is_valid():
            try:
                share = services.beneficiary_share(
                    actor=request.user, beneficiary=beneficiary, **form.share_arguments()
                )
            except ValidationError as error:
                form.add_service_errors(error)
            else:
                audit_annotate(request, object_type="share", object_id=str(share.public_id), reason=share.reason)
                until = f" jusqu'au {form.cleaned_data['ends_on']:%d/%m/%Y} inclus" if share.ends_at else ""
                messages.success(
                    request,
                    f"Le dossier est partagé avec {_target_label(share, request.user)}{until}. "
                    "Pensez à en informer la personne suivie.",
                )
                return redirect("casework:file_detail", public_id=beneficiary.public_id)
    else:
        form = ShareForm(actor=request.user, search_url=share_targets_url(beneficiary))
    return render(request, "casework/share_form.html", {"beneficiary": beneficiary, "form": form})


@require_POST
def share_end(request, public_id, share_id):
    beneficiary = get_beneficiary_or_404(request.user, public_id)
    share = get_object_or_404(
        beneficiary.shares.select_related("shared_with_user", "shared_with_structure", "shared_with_department"),
        public_id=share_id,
    )
    was_active = share.is_active()
    # PermissionDenied (403) unless the user may act on the file or wrote the share.
    share = services.share_end(actor=request.user, share=share)
    if was_active:
        messages.success(
            request,
            f"Le partage avec {_target_label(share, request.user)} est arrêté : il ne donne plus accès au dossier.",
        )
    else:
        messages.info(request, "Ce partage était déjà terminé.")
    return redirect("casework:file_detail", public_id=beneficiary.public_id)
