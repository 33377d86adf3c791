"""Exports of the audit trail, asked for by an auditor and written in the background (docs/audit.md).

Auditors only (403 for anybody else); an export is reached through `visible_audit_exports(user)` only,
so that another auditor's export is a 404 on every URL. The audit middleware records the request of an
export (EXPORT) and each download (DOWNLOAD); the views name the export they were about.
"""

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_safe

from accounts.models import Structure
from audit.exports import MEDIA_TYPES, audit_export_request, download_name, export_file_path, is_downloadable
from audit.filters import AuditEventFilterSet
from audit.models import AuditEvent, AuditExport
from audit.permissions import check_reads_audit_trail, visible_audit_exports
from audit.trail import audit_annotate

PAGE_SIZE = 20
# The status page asks for its progress this often while the export is queued or running.
POLL_SECONDS = 2
FINISHED = {AuditExport.Status.DONE, AuditExport.Status.FAILED, AuditExport.Status.EXPIRED}


class AuditExportFormatForm(forms.Form):
    format = forms.ChoiceField(
        label="Format du fichier",
        choices=AuditExport.Format.choices,
        initial=AuditExport.Format.CSV,
        widget=forms.RadioSelect(attrs={"class": "form-check-input"}),
        error_messages={
            "required": "Choisissez le format du fichier.",
            "invalid_choice": "Choisissez le format CSV ou JSON Lines.",
        },
    )


def _filterset(data) -> AuditEventFilterSet:
    filterset = AuditEventFilterSet(data, queryset=AuditEvent.objects.none())
    for field in filterset.form.fields.values():
        if isinstance(field.widget, forms.CheckboxSelectMultiple):
            field.widget.attrs["class"] = "form-check-input"
        elif isinstance(field.widget, forms.Select):
            field.widget.attrs["class"] = "form-select form-select-sm"
        else:
            field.widget.attrs["class"] = "form-control form-control-sm"
    return filterset


def _with_progress(export: AuditExport) -> AuditExport:
    """What the templates show of an export's progress (no query)."""
    export.finished = export.status in FINISHED
    export.downloadable = is_downloadable(export)
    if export.status == AuditExport.Status.DONE:
        export.percent = 100
    elif export.total_rows:
        export.percent = min(100, export.rows_written * 100 // export.total_rows)
    else:
        export.percent = 0
    return export


def _filters_display(filters: dict) -> list[tuple[str, str]]:
    """The export's filters as (label, value) pairs, in the search form's order."""
    actions = dict(AuditEvent.Action.choices)
    structures = {}
    if filters.get("structure"):
        ids = [value for value in filters["structure"] if str(value).isdigit()]
        structures = {str(pk): name for pk, name in Structure.objects.filter(pk__in=ids).values_list("pk", "name")}
    shown = []
    for name, declared in AuditEventFilterSet.base_filters.items():
        values = filters.get(name)
        if not values:
            continue
        if name == "action":
            values = [actions.get(value, value) for value in values]
        elif name == "structure":
            values = [structures.get(str(value), "structure supprimée") for value in values]
        shown.append((declared.label, ", ".join(str(value) for value in values)))
    return shown


def _get_export_or_404(user, export_id) -> AuditExport:
    return get_object_or_404(visible_audit_exports(user), public_id=export_id)


@require_http_methods(["GET", "POST"])
def audit_exports(request):
    """The auditor's exports (GET), and the request of a new one (POST, from this page or the search)."""
    check_reads_audit_trail(request.user)
    status = 200
    if request.method == "POST":
        filterset = _filterset(request.POST)
        format_form = AuditExportFormatForm(request.POST)
        filters_valid, format_valid = filterset.is_valid(), format_form.is_valid()
        filters = filterset.filters_used()
        audit_annotate(
            request, object_type="audit_export", details={"filters": filters, "format": request.POST.get("format", "")}
        )
        if filters_valid and format_valid:
            try:
                export = audit_export_request(
                    actor=request.user, filters=filters, format=format_form.cleaned_data["format"]
                )
            except ValidationError as error:
                for name, messages in error.message_dict.items():
                    form = format_form if name == "format" else filterset.form
                    form.add_error(name if name in form.fields else None, messages)
            else:
                audit_annotate(request, object_id=str(export.public_id))
                # 303: the browser follows with a GET (a reload does not post the request again).
                response = HttpResponseRedirect(reverse("audit:export_status", args=[export.public_id]))
                response.status_code = 303
                return response
        status = 400
    else:
        filterset = _filterset(request.GET or None)
        format_form = AuditExportFormatForm()
    exports = visible_audit_exports(request.user).order_by("-requested_at", "-pk")
    page = Paginator(exports, PAGE_SIZE).get_page(request.GET.get("page"))
    for export in page:
        _with_progress(export)
    context = {
        "page_obj": page,
        "filterset": filterset,
        "format_form": format_form,
        "expiry_days": settings.AUDIT_EXPORT_EXPIRY_DAYS,
    }
    return render(request, "audit/exports.html", context, status=status)


@require_safe
@never_cache
def audit_export_status(request, export_id):
    """One export's progress; htmx polls the partial while it is queued or running."""
    check_reads_audit_trail(request.user)
    export = _with_progress(_get_export_or_404(request.user, export_id))
    context = {
        "export": export,
        "status_url": reverse("audit:export_status", args=[export.public_id]),
        "poll_seconds": POLL_SECONDS,
    }
    # A history restore (the back button, htmx keeping no copy of the page) wants the whole page.
    if request.htmx and not request.htmx.history_restore_request:
        response = render(request, "audit/includes/export_progress.html", context)
    else:
        context["filters"] = _filters_display(export.filters)
        context["expiry_days"] = settings.AUDIT_EXPORT_EXPIRY_DAYS
        response = render(request, "audit/export_status.html", context)
    patch_vary_headers(response, ["HX-Request"])
    return response


@require_safe
@never_cache
def audit_export_download(request, export_id):
    """The export's file, for the auditor who asked for it only, while it has not expired.

    An expired export answers 410 Gone with a French page (the row stays as a trace, the file is gone);
    an export not ready yet, 404."""
    check_reads_audit_trail(request.user)
    # Named before the lookup: an attempt on someone else's export is a trace too (with its 404).
    audit_annotate(request, object_type="audit_export", object_id=str(export_id))
    export = _get_export_or_404(request.user, export_id)
    expired = export.status == AuditExport.Status.EXPIRED or (
        export.status == AuditExport.Status.DONE
        and export.expires_at is not None
        and export.expires_at <= timezone.now()
    )
    if not expired and not is_downloadable(export):
        raise Http404("Cet export n'est pas encore prêt.")
    try:
        handle = None if expired else export_file_path(export).open("rb")
    except FileNotFoundError:
        handle = None
    if handle is None:
        context = {"export": export, "expiry_days": settings.AUDIT_EXPORT_EXPIRY_DAYS}
        return render(request, "audit/export_gone.html", context, status=410)
    return FileResponse(
        handle, as_attachment=True, filename=download_name(export), content_type=MEDIA_TYPES[export.format]
    )
