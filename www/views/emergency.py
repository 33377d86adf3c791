"""Emergency access (accès exceptionnel, issue 3): a referent opens a file they do not follow, with
the person in front of them, from the person's exact identifiers and a written reason.

A failed request gets one answer, the same whether no file matches, the birth date is wrong or
several files match: the page tells nothing about which files exist.
"""

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from audit.trail import audit_annotate
from casework.forms.sharing import EmergencyAccessForm
from casework.permissions import check_may_ask_emergency_access
from casework.services import NoMatchingFile, emergency_access_open

NO_MATCHING_FILE = (
    "Aucun dossier ne peut être ouvert avec ces informations. Vérifiez le numéro allocataire et la date de naissance."
)


@require_http_methods(["GET", "POST"])
def emergency_access(request):
    check_may_ask_emergency_access(request.user)
    if request.method == "POST":
        form = EmergencyAccessForm(request.POST)
        if form.is_valid():
            try:
                beneficiary, access = emergency_access_open(actor=request.user, **form.cleaned_data)
            except ValidationError as error:
                form.add_error(None, error)
            except NoMatchingFile:
                form.add_error(None, NO_MATCHING_FILE)
                audit_annotate(request, reason=form.cleaned_data["reason"], details={"opened": False})
            else:
                audit_annotate(
                    request,
                    beneficiary=beneficiary,
                    reason=form.cleaned_data["reason"],
                    object_type="emergency_access" if access is not None else "",
                    object_id=str(access.pk) if access is not None else "",
                    details={"opened": access is not None},
                )
                if access is not None:
                    until = timezone.localtime(access.expires_at)
                    messages.success(
                        request,
                        f"Accès exceptionnel ouvert jusqu'au {until:%d/%m/%Y à %H:%M}. Il est enregistré "
                        "et visible des responsables du dossier.",
                    )
                return redirect("casework:file_detail", public_id=beneficiary.public_id)
    else:
        form = EmergencyAccessForm()
    context = {"form": form, "emergency_access_hours": settings.EMERGENCY_ACCESS_HOURS}
    return render(request, "casework/emergency_access_form.html", context)
