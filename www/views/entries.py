"""Writing on a file (issue 4): log a step and change its status, plan an appointment and record how it
went, write a note; correct one's own step, appointment or note within the delay; withdraw a mistaken
entry (steps, appointments, notes, and the pathway's contracts, objectives, actions and diagnostics).

Every view looks the file up in the user's scope first (404 out of scope), then the entry among that
file's entries (404 otherwise; a note among those the user may read), then the rule (403). Changing a
step's status and recording an appointment are one-click htmx actions on the file page: they answer
with the entry's actions block (`includes/entries_item.html`), or 409 with the current state when
someone changed the entry meanwhile; without JavaScript they post and redirect like every form.
"""

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.formats import date_format
from django.views.decorators.http import require_http_methods

from casework.forms.entries import (
    AppointmentCorrectForm,
    AppointmentForm,
    AppointmentRecordForm,
    NoteCorrectForm,
    NoteForm,
    StepCorrectForm,
    StepForm,
    StepStatusForm,
    WithdrawForm,
)
from casework.models import Note, PathwayEntry
from casework.permissions import (
    CANNOT_LOG,
    can_change,
    can_correct,
    can_withdraw,
    check_can_change,
    check_can_withdraw,
    check_not_withdrawn,
    correction_deadline,
    get_beneficiary_or_404,
)
from casework.services import common
from casework.services import entries as services
from casework.services.common import ConcurrentEdit
from www.templatetags.casework import person
from www.views.pickers import note_recipients_url

# The kinds of entry as they appear in URLs (French) and in the code.
KIND_SLUGS = {
    "etape": "step",
    "rendez-vous": "appointment",
    "note": "note",
    "contrat": "contract",
    "objectif": "objective",
    "action": "action",
    "diagnostic": "diagnostic",
}
SLUG_OF_KIND = {kind: slug for slug, kind in KIND_SLUGS.items()}

# The quick-write panel's note form: its own ids, apart from the full note form's.
QUICK_NOTE_AUTO_ID = "quick-note-%s"

WITHDRAWN_MESSAGES = {
    "step": "L'étape est retirée.",
    "appointment": "Le rendez-vous est retiré.",
    "note": "La note est retirée.",
    "contract": "Le contrat est retiré.",
    "objective": "L'objectif est retiré.",
    "action": "L'action est retirée.",
    "diagnostic": "Le diagnostic est retiré.",
}
CORRECTED_MESSAGES = {
    "step": "L'étape est corrigée.",
    "appointment": "Le rendez-vous est corrigé.",
    "note": "La note est corrigée.",
}


def _local(moment) -> str:
    return date_format(timezone.localtime(moment), "d/m/Y à H:i")


def _to_file(beneficiary):
    return redirect("casework:file_detail", public_id=beneficiary.public_id)


def _errors_text(form) -> str:
    return " ".join(str(error) for errors in form.errors.values() for error in errors)


def conflict_message(current: PathwayEntry) -> str:
    """What the second of two people editing an entry at once is told."""
    who, when = services.last_change(current)
    by = f" par {person(who)}" if who else ""
    done = "retirée" if current.is_withdrawn else "modifiée"
    return (
        f"Cette saisie a été {done}{by} le {_local(when)} pendant que vous la modifiiez. Rien n'a été "
        "enregistré : voici ses valeurs actuelles. Vérifiez-les, puis refaites votre modification si elle "
        "est toujours utile."
    )


def _render_item(request, beneficiary, kind: str, entry: PathwayEntry, message: str, level: str, status: int = 200):
    """The entry's actions block, for htmx to swap in place of the one that was clicked."""
    context = {
        "file": beneficiary,
        "entry": entry,
        "entry_kind": kind,
        "can_change": can_change(request.user, beneficiary),
        "item_message": message,
        "item_level": level,
    }
    response = render(request, "casework/includes/entries_item.html", context, status=status)
    patch_vary_headers(response, ["HX-Request"])
    return response


def _get_entry(request, beneficiary, kind: str, entry_id) -> PathwayEntry:
    return get_object_or_404(services.file_entries(request.user, beneficiary, kind), public_id=entry_id)


def _kind_from_slug(slug: str, allowed) -> str:
    kind = KIND_SLUGS.get(slug)
    if kind not in allowed:
        raise Http404("Saisie introuvable.")
    return kind


# --- Steps ---------------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def step_create(request, public_id):
    beneficiary = get_beneficiary_or_404(request.user, public_id)
    check_can_change(request.user, beneficiary)
    if request.method == "POST":
        form = StepForm(request.POST)
        if form.is_valid():
            try:
                step = services.step_log(actor=request.user, beneficiary=beneficiary, **form.step_arguments())
            except ValidationError as error:
                form.add_service_errors(error)
            else:
                messages.success(
                    request,
                    f"Étape enregistrée : {step.get_kind_display()} du {step.date:%d/%m/%Y} "
                    f"({step.get_status_display().lower()}).",
                )
                return _to_file(beneficiary)
    else:
        form = StepForm()
    return render(request, "casework/entries/step_form.html", {"file": beneficiary, "form": form})


@require_http_methods(["GET", "POST"])
def step_status(request, public_id, entry_id):
    beneficiary = get_beneficiary_or_404(request.user, public_id)
    step = _get_entry(request, beneficiary, "step", entry_id)
    check_can_change(request.user, beneficiary)
    check_not_withdrawn(step, "Cette étape a été retirée : son statut ne change plus.")
    conflict = ""
    status = 200
    if request.method == "POST":
        form = StepStatusForm(request.POST, step=step)
        if form.is_valid():
            try:
                step = services.step_set_status(actor=request.user, step=step, **form.status_arguments())
            except ConcurrentEdit as error:
                if request.htmx:
                    return _render_item(
                        request, beneficiary, "step", error.current, conflict_message(error.current), "warning", 409
                    )
                step, conflict, status = error.current, conflict_message(error.current), 409
                form = StepStatusForm(initial=StepStatusForm.initial_for(step), step=step)
            except ValidationError as error:
                form.add_service_errors(error)
            else:
                message = f"Étape « {step.get_kind_display()} » : {step.get_status_display().lower()}."
                if request.htmx:
                    return _render_item(request, beneficiary, "step", step, message, "success")
                messages.success(request, message)
                return _to_file(beneficiary)
        if request.htmx and not conflict:
            return _render_item(request, beneficiary, "step", step, _errors_text(form), "danger")
    else:
        form = StepStatusForm(initial=StepStatusForm.initial_for(step), step=step)
    context = {"file": beneficiary, "form": form, "step": step, "conflict": conflict}
    return render(request, "casework/entries/step_status_form.html", context, status=status)


# --- Appointments --------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def appointment_create(request, public_id):
    beneficiary = get_beneficiary_or_404(request.user, public_id)
    check_can_change(request.user, beneficiary)
    if request.method == "POST":
        form = AppointmentForm(request.POST, actor=request.user, beneficiary=beneficiary)
        if form.is_valid():
            try:
                appointment = services.appointment_plan(
                    actor=request.user, beneficiary=beneficiary, **form.appointment_arguments()
                )
            except ValidationError as error:
                form.add_service_errors(error)
            else:
                messages.success(request, f"Rendez-vous planifié le {_local(appointment.scheduled_at)}.")
                return _to_file(beneficiary)
    else:
        form = AppointmentForm(actor=request.user, beneficiary=beneficiary)
    return render(request, "casework/entries/appointment_form.html", {"file": beneficiary, "form": form})


@require_http_methods(["GET", "POST"])
def appointment_record(request, public_id, entry_id):
    beneficiary = get_beneficiary_or_404(request.user, public_id)
    appointment = _get_entry(request, beneficiary, "appointment", entry_id)
    check_can_change(request.user, beneficiary)
    check_not_withdrawn(appointment, "Ce rendez-vous a été retiré : son statut ne change plus.")
    conflict = ""
    status = 200
    if request.method == "POST":
        form = AppointmentRecordForm(request.POST, appointment=appointment)
        if form.is_valid():
            try:
                appointment = services.appointment_record(
                    actor=request.user,
                    appointment=appointment,
                    status=form.cleaned_data["status"],
                    expected_version=form.cleaned_data["version"],
                )
            except ConcurrentEdit as error:
                current = error.current
                if request.htmx:
                    return _render_item(
                        request, beneficiary, "appointment", current, conflict_message(current), "warning", 409
                    )
                appointment, conflict, status = current, conflict_message(current), 409
                form = AppointmentRecordForm(initial=AppointmentRecordForm.initial_for(current), appointment=current)
            except ValidationError as error:
                form.add_service_errors(error)
            else:
                message = (
                    f"Rendez-vous du {_local(appointment.scheduled_at)} : {appointment.get_status_display().lower()}."
                )
                if request.htmx:
                    return _render_item(request, beneficiary, "appointment", appointment, message, "success")
                messages.success(request, message)
                return _to_file(beneficiary)
        if request.htmx and not conflict:
            return _render_item(request, beneficiary, "appointment", appointment, _errors_text(form), "danger")
    else:
        form = AppointmentRecordForm(initial=AppointmentRecordForm.initial_for(appointment), appointment=appointment)
    context = {"file": beneficiary, "form": form, "appointment": appointment, "conflict": conflict}
    return render(request, "casework/entries/appointment_record_form.html", context, status=status)


# --- Notes ---------------------------------------------------------------------------------------


def _note_saved_message(note: Note) -> str:
    readers = {
        Note.Visibility.PRIVATE: "vous seul·e pourrez la lire",
        Note.Visibility.SHARED: "elle sera lue par les services, structures ou personnes nommés",
        Note.Visibility.FOLLOWERS: "elle sera lue par toutes les personnes qui suivent le dossier",
    }[note.visibility]
    sensitive = " Elle est marquée sensible." if note.is_sensitive else ""
    return f"Note enregistrée : {readers}.{sensitive}"


@require_http_methods(["GET", "POST"])
def note_create(request, public_id):
    """Anyone who may read the file may write a note on it (people it is shared with too)."""
    beneficiary = get_beneficiary_or_404(request.user, public_id)
    htmx = request.htmx
    form_options = {"actor": request.user, "search_url": note_recipients_url(beneficiary)}
    if htmx:
        form_options["auto_id"] = QUICK_NOTE_AUTO_ID
    if request.method == "POST":
        form = NoteForm(request.POST, **form_options)
        if form.is_valid():
            try:
                note = services.note_write(actor=request.user, beneficiary=beneficiary, **form.note_arguments())
            except ValidationError as error:
                form.add_service_errors(error)
            else:
                if htmx:
                    # A confirmation and an empty form; the note shows in the timeline when the page reloads.
                    context = {"file": beneficiary, "note_form": NoteForm(**form_options)}
                    context["note_saved"] = _note_saved_message(note)
                    response = render(request, "casework/includes/entries_note_panel.html", context)
                    response["HX-Trigger"] = "parcours:entry-saved"
                    patch_vary_headers(response, ["HX-Request"])
                    return response
                messages.success(request, _note_saved_message(note))
                return _to_file(beneficiary)
        if htmx:
            response = render(
                request, "casework/includes/entries_note_panel.html", {"file": beneficiary, "note_form": form}
            )
            patch_vary_headers(response, ["HX-Request"])
            return response
    else:
        form = NoteForm(**form_options)
    return render(request, "casework/entries/note_form.html", {"file": beneficiary, "form": form})


# --- Correction ----------------------------------------------------------------------------------

CORRECTION_FORMS = {"step": StepCorrectForm, "appointment": AppointmentCorrectForm, "note": NoteCorrectForm}
# The free text of each kind: kept on the page when a concurrent edit refuses the correction.
TYPED_TEXT_FIELDS = {"step": "outcome", "appointment": "purpose", "note": "body"}


def correction_refusal(user, entry: PathwayEntry, beneficiary, kind: str) -> str:
    """Why this user may not correct this entry now ("" when they may)."""
    if entry.is_withdrawn:
        return "Cette saisie a été retirée : elle ne peut plus être corrigée."
    if entry.author_id != user.pk:
        return (
            "Seul·e l'auteur·rice d'une saisie peut la corriger. Si elle est erronée, son auteur·rice ou la "
            "personne qui suit le dossier peut la retirer avec un motif."
        )
    if kind != "note" and not can_change(user, beneficiary):
        return CANNOT_LOG
    if not can_correct(user, entry):
        return (
            f"Le délai de correction est passé : une saisie se corrige dans les {settings.ENTRY_CORRECTION_HOURS} "
            f"heures qui suivent sa création (celle-ci pouvait l'être jusqu'au {_local(correction_deadline(entry))}). "
            "Elle ne peut plus être modifiée ; si elle est erronée, retirez-la avec un motif."
        )
    return ""


def _correction_form(kind: str, user, beneficiary, entry, data=None):
    options = {}
    if kind == "appointment":
        options = {"actor": user, "beneficiary": beneficiary, "appointment": entry}
    elif kind == "note":
        options = {"actor": user, "search_url": note_recipients_url(beneficiary)}
    form_class = CORRECTION_FORMS[kind]
    if data is None:
        return form_class(initial=form_class.initial_for(entry), **options)
    return form_class(data, **options)


def _correct(kind: str, user, entry, form):
    version = form.cleaned_data["version"]
    if kind == "step":
        return services.step_correct(actor=user, step=entry, expected_version=version, **form.step_arguments())
    if kind == "appointment":
        return services.appointment_correct(
            actor=user, appointment=entry, expected_version=version, **form.appointment_arguments()
        )
    return services.note_correct(actor=user, note=entry, expected_version=version, **form.note_arguments())


def _refused(request, beneficiary, kind: str, entry, reason: str):
    context = {
        "file": beneficiary,
        "entry": entry,
        "entry_kind": kind,
        "reason": reason,
        "may_withdraw": can_withdraw(request.user, entry, beneficiary),
        "withdraw_slug": SLUG_OF_KIND[kind],
    }
    return render(request, "casework/entries/correction_refused.html", context, status=403)


@require_http_methods(["GET", "POST"])
def entry_correct(request, public_id, kind, entry_id):
    kind = _kind_from_slug(kind, services.CORRECTABLE_KINDS)
    beneficiary = get_beneficiary_or_404(request.user, public_id)
    entry = _get_entry(request, beneficiary, kind, entry_id)
    refusal = correction_refusal(request.user, entry, beneficiary, kind)
    if refusal:
        return _refused(request, beneficiary, kind, entry, refusal)
    conflict = ""
    typed_text = ""
    status = 200
    if request.method == "POST":
        form = _correction_form(kind, request.user, beneficiary, entry, request.POST)
        if form.is_valid():
            try:
                _correct(kind, request.user, entry, form)
            except ConcurrentEdit as error:
                # Nothing is overwritten: the form shows the entry as it is now, at its new version, and
                # what this user had typed stays on the page.
                entry = error.current
                conflict, status = conflict_message(entry), 409
                typed_text = form.cleaned_data.get(TYPED_TEXT_FIELDS[kind], "")
                form = _correction_form(kind, request.user, beneficiary, entry)
            except PermissionDenied as denied:
                # The delay ran out (or the entry was withdrawn) between the form and its sending.
                current = type(entry).objects.get(pk=entry.pk)
                reason = correction_refusal(request.user, current, beneficiary, kind) or str(denied)
                return _refused(request, beneficiary, kind, current, reason)
            except ValidationError as error:
                form.add_service_errors(error)
            else:
                messages.success(request, f"{CORRECTED_MESSAGES[kind]} La version précédente est conservée.")
                return _to_file(beneficiary)
    else:
        form = _correction_form(kind, request.user, beneficiary, entry)
    context = {
        "file": beneficiary,
        "form": form,
        "entry": entry,
        "entry_kind": kind,
        "conflict": conflict,
        "typed_text": typed_text,
        "deadline": correction_deadline(entry),
    }
    return render(request, f"casework/entries/{kind}_correct.html", context, status=status)


# --- Withdrawal ----------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def entry_withdraw(request, public_id, kind, entry_id):
    kind = _kind_from_slug(kind, services.WITHDRAWABLE_KINDS)
    beneficiary = get_beneficiary_or_404(request.user, public_id)
    entry = _get_entry(request, beneficiary, kind, entry_id)
    if entry.is_withdrawn:
        messages.info(request, "Cette saisie était déjà retirée.")
        return _to_file(beneficiary)
    check_can_withdraw(
        request.user,
        entry,
        beneficiary,
        "Une saisie est retirée par son auteur·rice ou par la personne qui suit le dossier.",
    )
    conflict = ""
    status = 200
    if request.method == "POST":
        form = WithdrawForm(request.POST)
        if form.is_valid():
            try:
                common.entry_withdraw(
                    actor=request.user,
                    entry=entry,
                    beneficiary=beneficiary,
                    reason=form.cleaned_data["withdrawal_reason"],
                    expected_version=form.cleaned_data["version"],
                )
            except ConcurrentEdit as error:
                entry = error.current
                conflict, status = conflict_message(entry), 409
                form = WithdrawForm(
                    initial={"withdrawal_reason": form.cleaned_data["withdrawal_reason"], "version": entry.version}
                )
            except ValidationError as error:
                form.add_service_errors(error)
            else:
                messages.success(
                    request,
                    f"{WITHDRAWN_MESSAGES[kind]} La saisie reste visible sur le dossier, marquée comme "
                    "retirée, avec son motif.",
                )
                return _to_file(beneficiary)
    else:
        form = WithdrawForm(initial={"version": entry.version})
    context = {"file": beneficiary, "form": form, "entry": entry, "entry_kind": kind, "conflict": conflict}
    return render(request, "casework/entries/withdraw_form.html", context, status=status)


urlpatterns = [
    path("dossiers/<uuid:public_id>/etapes/nouvelle/", step_create, name="step_create"),
    path("dossiers/<uuid:public_id>/etapes/<uuid:entry_id>/statut/", step_status, name="step_status"),
    path("dossiers/<uuid:public_id>/rendez-vous/nouveau/", appointment_create, name="appointment_create"),
    path(
        "dossiers/<uuid:public_id>/rendez-vous/<uuid:entry_id>/statut/",
        appointment_record,
        name="appointment_record",
    ),
    path("dossiers/<uuid:public_id>/notes/nouvelle/", note_create, name="note_create"),
    path(
        "dossiers/<uuid:public_id>/saisies/<slug:kind>/<uuid:entry_id>/corriger/", entry_correct, name="entry_correct"
    ),
    path(
        "dossiers/<uuid:public_id>/saisies/<slug:kind>/<uuid:entry_id>/retirer/",
        entry_withdraw,
        name="entry_withdraw",
    ),
]
