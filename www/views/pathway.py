"""Writing the pathway of a file: contracts (create, renew, sign), the orientation decision, reorientation
requests and their decision, objectives and actions with their status, the diagnostic and its barriers,
the end of support. The rules are in casework.services.pathway.

Every view first looks the file up in the user's scope (404 out of scope), then checks the rule of the
action (403 for a file the user sees but may not act on), then looks the object up among that file's
objects by its public id (404 otherwise). Forms redirect to the file page once saved (PRG); the small
status changes answer an htmx request with the updated fragment of the page, any other request with a
redirection, so that they work without JavaScript too.
"""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Prefetch
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.views.decorators.http import require_http_methods, require_POST

from casework.forms.pathway import (
    ActionForm,
    ActionStatusForm,
    BarrierResolveForm,
    ContractForm,
    ContractRenewForm,
    ContractSignForm,
    DiagnosticForm,
    ObjectiveForm,
    ObjectiveStatusForm,
    OrientationDecisionForm,
    ReorientationDecisionForm,
    ReorientationRequestForm,
    SupportEndForm,
)
from casework.models import Action, Beneficiary, Objective, ReorientationRequest
from casework.permissions import (
    CANNOT_DECIDE_REORIENTATION,
    check_can_change,
    check_may_decide_orientation,
    get_beneficiary_or_404,
)
from casework.services import pathway as services
from casework.services.common import ConcurrentEdit

GET_POST = require_http_methods(["GET", "POST"])
CONFLICT = (
    "Quelqu'un d'autre a modifié {what} pendant que vous le consultiez : voici son état actuel. "
    "Vérifiez-le avant de recommencer."
)


def _file_to_change(request, public_id) -> Beneficiary:
    beneficiary = get_beneficiary_or_404(request.user, public_id)
    check_can_change(request.user, beneficiary)
    return beneficiary


def _file_to_decide(request, public_id) -> Beneficiary:
    beneficiary = get_beneficiary_or_404(request.user, public_id)
    check_may_decide_orientation(request.user, beneficiary)
    return beneficiary


def _to_file(beneficiary: Beneficiary):
    return redirect("casework:file_detail", public_id=beneficiary.public_id)


def _posted(request) -> dict | None:
    return request.POST if request.method == "POST" else None


def _page(request, template: str, beneficiary: Beneficiary, form, *, title: str, submit_label: str, **context):
    return render(
        request,
        template,
        {"file": beneficiary, "form": form, "title": title, "submit_label": submit_label, **context},
    )


def _period(obj) -> str:
    return f"du {obj.start_date:%d/%m/%Y} au {obj.end_date:%d/%m/%Y}"


# --- Contracts ------------------------------------------------------------------------------------


@GET_POST
def contract_create(request, public_id):
    beneficiary = _file_to_change(request, public_id)
    form = ContractForm(_posted(request))
    if form.is_bound and form.is_valid():
        try:
            contract = services.contract_create(
                actor=request.user, beneficiary=beneficiary, **form.service_arguments()
            )
        except ValidationError as error:
            form.add_service_errors(error)
        else:
            state = f"signé le {contract.signed_on:%d/%m/%Y}" if contract.signed_on else "en brouillon, à signer"
            messages.success(request, f"{contract.get_kind_display()} {_period(contract)} enregistré, {state}.")
            return _to_file(beneficiary)
    return _page(
        request,
        "casework/pathway/contract_form.html",
        beneficiary,
        form,
        title="Nouveau contrat",
        submit_label="Enregistrer le contrat",
    )


@GET_POST
def contract_renew(request, public_id, contract_id):
    beneficiary = _file_to_change(request, public_id)
    contract = get_object_or_404(beneficiary.contracts.all(), public_id=contract_id)
    form = ContractRenewForm(_posted(request), contract=contract)
    refusal = services.contract_renewal_refusal(contract)
    if not refusal and form.is_bound and form.is_valid():
        try:
            renewal = services.contract_renew(actor=request.user, contract=contract, **form.service_arguments())
        except ValidationError as error:
            form.add_service_errors(error)
        else:
            messages.success(
                request,
                f"Contrat renouvelé : {renewal.get_kind_display()} {_period(renewal)}"
                f"{', signé' if renewal.signed_on else ', en brouillon'}. Le contrat précédent reste au dossier.",
            )
            return _to_file(beneficiary)
    return _page(
        request,
        "casework/pathway/contract_renew.html",
        beneficiary,
        form,
        title="Renouveler le contrat",
        submit_label="Enregistrer le renouvellement",
        contract=contract,
        refusal=refusal,
    )


@GET_POST
def contract_sign(request, public_id, contract_id):
    beneficiary = _file_to_change(request, public_id)
    contract = get_object_or_404(beneficiary.contracts.all(), public_id=contract_id)
    form = ContractSignForm(_posted(request), contract=contract)
    conflict = ""
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        try:
            contract = services.contract_sign(
                actor=request.user,
                contract=contract,
                signed_on=data["signed_on"],
                beneficiary_agreed=data["beneficiary_agreed"],
                expected_version=data["version"],
            )
        except ConcurrentEdit as edit:
            contract = edit.current
            conflict = CONFLICT.format(what="ce contrat")
            initial = {"beneficiary_agreed": contract.beneficiary_agreed}
            if contract.signed_on:
                initial["signed_on"] = contract.signed_on
            form = ContractSignForm(contract=contract, initial=initial)
        except ValidationError as error:
            form.add_service_errors(error)
        else:
            messages.success(
                request, f"{contract.get_kind_display()} {_period(contract)} signé le {contract.signed_on:%d/%m/%Y}."
            )
            return _to_file(beneficiary)
    return _page(
        request,
        "casework/pathway/contract_sign.html",
        beneficiary,
        form,
        title="Signer le contrat",
        submit_label="Enregistrer la signature",
        contract=contract,
        refusal=services.contract_signing_refusal(contract),
        conflict=conflict,
    )


# --- Orientation ----------------------------------------------------------------------------------


@GET_POST
def orientation_decide(request, public_id):
    beneficiary = _file_to_decide(request, public_id)
    form = OrientationDecisionForm(_posted(request), actor=request.user, beneficiary=beneficiary)
    if form.is_bound and form.is_valid():
        try:
            orientation = services.orientation_decide(actor=request.user, beneficiary=beneficiary, **form.cleaned_data)
        except ValidationError as error:
            form.add_service_errors(error)
        else:
            messages.success(
                request,
                f"Orientation {orientation.get_track_display().lower()} enregistrée, décidée le "
                f"{orientation.decided_on:%d/%m/%Y} : elle remplace l'orientation précédente.",
            )
            return _to_file(beneficiary)
    return _page(
        request,
        "casework/pathway/orientation_decide.html",
        beneficiary,
        form,
        title="Décision d'orientation",
        submit_label="Enregistrer la décision",
        in_force=services.orientation_in_force(beneficiary),
    )


@GET_POST
def reorientation_request(request, public_id):
    beneficiary = _file_to_change(request, public_id)
    form = ReorientationRequestForm(_posted(request), actor=request.user, beneficiary=beneficiary)
    refusal = services.reorientation_request_refusal(beneficiary)
    if not refusal and form.is_bound and form.is_valid():
        try:
            services.reorientation_request(actor=request.user, beneficiary=beneficiary, **form.cleaned_data)
        except ValidationError as error:
            form.add_service_errors(error)
        else:
            messages.success(
                request,
                "Demande de réorientation enregistrée : un·e responsable de la structure l'acceptera ou la refusera.",
            )
            return _to_file(beneficiary)
    return _page(
        request,
        "casework/pathway/reorientation_request.html",
        beneficiary,
        form,
        title="Demander une réorientation",
        submit_label="Envoyer la demande",
        in_force=services.orientation_in_force(beneficiary),
        refusal=refusal,
    )


@GET_POST
def reorientation_decide(request, public_id, request_id):
    beneficiary = get_beneficiary_or_404(request.user, public_id)
    check_may_decide_orientation(request.user, beneficiary, CANNOT_DECIDE_REORIENTATION)
    reorientation = get_object_or_404(
        beneficiary.reorientation_requests.select_related("proposed_organisme", "requested_by", "decided_by"),
        public_id=request_id,
    )
    form = ReorientationDecisionForm(_posted(request))
    if form.is_bound and form.is_valid():
        try:
            reorientation = services.reorientation_decide(
                actor=request.user, request=reorientation, accept=form.accept, reason=form.cleaned_data["reason"]
            )
        except ValidationError as error:
            form.add_service_errors(error)
        else:
            if reorientation.status == ReorientationRequest.Status.ACCEPTED:
                messages.success(
                    request,
                    f"Demande acceptée : l'orientation {reorientation.get_proposed_track_display().lower()} est "
                    "désormais en vigueur.",
                )
            else:
                messages.success(request, "Demande de réorientation refusée : l'orientation en vigueur est inchangée.")
            return _to_file(beneficiary)
    return _page(
        request,
        "casework/pathway/reorientation_decide.html",
        beneficiary,
        form,
        title="Décider d'une demande de réorientation",
        submit_label="",
        reorientation=reorientation,
        in_force=services.orientation_in_force(beneficiary),
        refusal=services.reorientation_decision_refusal(reorientation),
    )


# --- Objectives and actions -----------------------------------------------------------------------


@GET_POST
def objective_create(request, public_id):
    beneficiary = _file_to_change(request, public_id)
    form = ObjectiveForm(_posted(request), beneficiary=beneficiary)
    if form.is_bound and form.is_valid():
        try:
            objective = services.objective_create(
                actor=request.user, beneficiary=beneficiary, **form.service_arguments()
            )
        except ValidationError as error:
            form.add_service_errors(error)
        else:
            messages.success(request, f"Objectif « {objective.title} » enregistré.")
            return _to_file(beneficiary)
    return _page(
        request,
        "casework/pathway/form.html",
        beneficiary,
        form,
        title="Nouvel objectif",
        submit_label="Enregistrer l'objectif",
    )


def _objective_for_display(pk: int) -> Objective:
    return (
        Objective.objects.select_related("contract")
        .prefetch_related(Prefetch("actions", queryset=Action.objects.order_by("due_date", "pk")))
        .get(pk=pk)
    )


def _status_answer(request, beneficiary, *, template, context, ok, notice, notice_name, title):
    """The answer to a status change: the fragment for htmx (with the error or the notice), otherwise a
    redirection to the file once saved, or a page with the fragment and its error."""
    context = {"file": beneficiary, "can_change": True, **context}
    if request.htmx:
        return render(request, template, {**context, notice_name: notice if ok else ""})
    if ok:
        messages.success(request, notice)
        return _to_file(beneficiary)
    return render(request, "casework/pathway/status.html", {**context, "title": title, "fragment": template})


@require_POST
def objective_status(request, public_id, objective_id):
    beneficiary = _file_to_change(request, public_id)
    objective = get_object_or_404(beneficiary.objectives.all(), public_id=objective_id)
    form = ObjectiveStatusForm(request.POST)
    error, ok = "", False
    if form.is_valid():
        try:
            objective = services.objective_set_status(
                actor=request.user,
                objective=objective,
                status=form.cleaned_data["status"],
                expected_version=form.cleaned_data["version"],
            )
        except ConcurrentEdit:
            error = CONFLICT.format(what="cet objectif")
        except ValidationError as failure:
            error = " ".join(failure.messages)
        else:
            ok = True
    else:
        error = " ".join(message for messages_ in form.errors.values() for message in messages_)
    objective = _objective_for_display(objective.pk)
    return _status_answer(
        request,
        beneficiary,
        template="casework/includes/pathway_objective.html",
        context={"objective": objective, "objective_error": error},
        ok=ok,
        notice=f"Objectif « {objective.title} » : {objective.get_status_display().lower()}.",
        notice_name="objective_notice",
        title="Statut de l'objectif",
    )


@GET_POST
def action_create(request, public_id, objective_id):
    beneficiary = _file_to_change(request, public_id)
    objective = get_object_or_404(beneficiary.objectives.all(), public_id=objective_id)
    form = ActionForm(_posted(request))
    if form.is_bound and form.is_valid():
        try:
            action = services.action_create(actor=request.user, objective=objective, **form.cleaned_data)
        except ValidationError as error:
            form.add_service_errors(error)
        else:
            messages.success(request, f"Action « {action.title} » ajoutée à l'objectif « {objective.title} ».")
            return _to_file(beneficiary)
    return _page(
        request,
        "casework/pathway/action_form.html",
        beneficiary,
        form,
        title="Nouvelle action",
        submit_label="Ajouter l'action",
        objective=objective,
    )


@require_POST
def action_status(request, public_id, action_id):
    beneficiary = _file_to_change(request, public_id)
    action = get_object_or_404(
        Action.objects.filter(objective__beneficiary=beneficiary).select_related("objective"), public_id=action_id
    )
    form = ActionStatusForm(request.POST)
    error, ok = "", False
    if form.is_valid():
        data = form.cleaned_data
        try:
            action = services.action_set_status(
                actor=request.user,
                action=action,
                status=data["status"],
                done_on=data["done_on"],
                expected_version=data["version"],
            )
        except ConcurrentEdit as edit:
            action = edit.current
            error = CONFLICT.format(what="cette action")
        except ValidationError as failure:
            error = " ".join(failure.messages)
        else:
            ok = True
    else:
        error = " ".join(message for messages_ in form.errors.values() for message in messages_)
    action = Action.objects.select_related("objective").get(pk=action.pk)
    status = action.get_status_display().lower()
    if action.done_on:
        status = f"{status} le {action.done_on:%d/%m/%Y}"
    return _status_answer(
        request,
        beneficiary,
        template="casework/includes/pathway_action.html",
        context={"action": action, "action_error": error, "typed_done_on": request.POST.get("done_on", "")},
        ok=ok,
        notice=f"Action « {action.title} » : {status}.",
        notice_name="action_notice",
        title="Statut de l'action",
    )


# --- Diagnostic and barriers ----------------------------------------------------------------------


@GET_POST
def diagnostic_create(request, public_id):
    beneficiary = _file_to_change(request, public_id)
    form = DiagnosticForm(_posted(request))
    if form.is_bound and form.is_valid():
        try:
            diagnostic = services.diagnostic_create(
                actor=request.user, beneficiary=beneficiary, **form.service_arguments()
            )
        except ValidationError as error:
            form.add_service_errors(error)
        else:
            count = diagnostic.barriers.count()
            found = (
                f"{count} frein{'s' if count > 1 else ''} relevé{'s' if count > 1 else ''}" if count else "aucun frein"
            )
            messages.success(request, f"Diagnostic du {diagnostic.carried_out_on:%d/%m/%Y} enregistré ({found}).")
            return _to_file(beneficiary)
    return _page(
        request,
        "casework/pathway/diagnostic_form.html",
        beneficiary,
        form,
        title="Nouveau diagnostic socio-professionnel",
        submit_label="Enregistrer le diagnostic",
    )


@GET_POST
def barrier_resolve(request, public_id, diagnostic_id, kind):
    beneficiary = _file_to_change(request, public_id)
    diagnostic = get_object_or_404(beneficiary.diagnostics.all(), public_id=diagnostic_id)
    barrier = get_object_or_404(diagnostic.barriers.all(), kind=kind)
    form = BarrierResolveForm(_posted(request))
    if form.is_bound and form.is_valid():
        try:
            barrier = services.barrier_resolve(
                actor=request.user, barrier=barrier, resolved_on=form.cleaned_data["resolved_on"]
            )
        except ValidationError as error:
            form.add_service_errors(error)
        else:
            messages.success(
                request, f"Frein « {barrier.get_kind_display()} » levé le {barrier.resolved_on:%d/%m/%Y}."
            )
            return _to_file(beneficiary)
    return _page(
        request,
        "casework/pathway/barrier_resolve.html",
        beneficiary,
        form,
        title="Lever un frein",
        submit_label="Marquer le frein comme levé",
        diagnostic=diagnostic,
        barrier=barrier,
    )


# --- End of support -------------------------------------------------------------------------------


@GET_POST
def support_end(request, public_id):
    beneficiary = _file_to_change(request, public_id)
    form = SupportEndForm(_posted(request))
    refusal = services.support_end_refusal(beneficiary)
    if not refusal and form.is_bound and form.is_valid():
        try:
            beneficiary = services.support_end(actor=request.user, beneficiary=beneficiary, **form.cleaned_data)
        except ValidationError as error:
            form.add_service_errors(error)
        else:
            messages.success(
                request,
                f"Accompagnement terminé le {beneficiary.support_ended_on:%d/%m/%Y} "
                f"({beneficiary.support_end_reason}). Le dossier passe dans les dossiers inactifs ; rien n'est "
                "supprimé.",
            )
            return _to_file(beneficiary)
    return _page(
        request,
        "casework/pathway/support_end.html",
        beneficiary,
        form,
        title="Mettre fin à l'accompagnement",
        submit_label="Mettre fin à l'accompagnement",
        refusal=refusal,
    )


FILE = "dossiers/<uuid:public_id>/"

urlpatterns = [
    path(f"{FILE}contrats/nouveau/", contract_create, name="contract_create"),
    path(f"{FILE}contrats/<uuid:contract_id>/renouveler/", contract_renew, name="contract_renew"),
    path(f"{FILE}contrats/<uuid:contract_id>/signer/", contract_sign, name="contract_sign"),
    path(f"{FILE}orientation/decision/", orientation_decide, name="orientation_decide"),
    path(f"{FILE}reorientation/demande/", reorientation_request, name="reorientation_request"),
    path(f"{FILE}reorientation/<uuid:request_id>/decision/", reorientation_decide, name="reorientation_decide"),
    path(f"{FILE}objectifs/nouveau/", objective_create, name="objective_create"),
    path(f"{FILE}objectifs/<uuid:objective_id>/statut/", objective_status, name="objective_status"),
    path(f"{FILE}objectifs/<uuid:objective_id>/actions/nouvelle/", action_create, name="action_create"),
    path(f"{FILE}actions/<uuid:action_id>/statut/", action_status, name="action_status"),
    path(f"{FILE}diagnostics/nouveau/", diagnostic_create, name="diagnostic_create"),
    path(f"{FILE}diagnostics/<uuid:diagnostic_id>/freins/<slug:kind>/lever/", barrier_resolve, name="barrier_resolve"),
    path(f"{FILE}fin-accompagnement/", support_end, name="support_end"),
]
