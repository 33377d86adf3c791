"""Imports of the CAF/MSA files: upload (a dry run by default), progress, result, refused rows, launch of
the real import after a dry run (imports/services.py, docs/imports.md). The row report lists the refused rows and
the warnings on rows imported (an invalid phone dropped...).

Department admins only (403 for anybody else). Every import is reached through `visible_imports(user)`:
all the Département's imports for a department admin, so that a colleague can follow or launch an
import another admin uploaded; an unknown id is a 404. The views name the import they were about for
the audit trail (the upload and the launch are IMPORT events, the refused rows' CSV an EXPORT).
"""

import csv
import io

from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpResponseRedirect, StreamingHttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from audit.trail import audit_annotate
from core.csv import FORMULA_PREFIXES
from imports.forms import ImportUploadForm
from imports.models import BeneficiaryImport, ImportRowError
from imports.permissions import check_manages_imports, visible_imports
from imports.services import (
    FINISHED,
    beneficiary_import_run,
    beneficiary_import_upload,
    field_counts_display,
    previous_imports_of,
)

PAGE_SIZE = 20
ERRORS_PAGE_SIZE = 50
# The import's page asks for its progress this often while it is queued or at work.
POLL_SECONDS = 2
ERRORS_HEADER = ["ligne", "effet", "colonne", "motif", "valeur"]


def _see_other(url: str) -> HttpResponseRedirect:
    # 303: the browser follows with a GET (a reload does not post again).
    response = HttpResponseRedirect(url)
    response.status_code = 303
    return response


def _with_progress(beneficiary_import: BeneficiaryImport) -> BeneficiaryImport:
    """What the templates show of an import's progress (no query)."""
    beneficiary_import.finished = beneficiary_import.status in FINISHED
    if beneficiary_import.finished and beneficiary_import.status != BeneficiaryImport.Status.FAILED:
        beneficiary_import.percent = 100
    elif beneficiary_import.total_rows:
        beneficiary_import.percent = min(100, beneficiary_import.rows_processed * 100 // beneficiary_import.total_rows)
    else:
        beneficiary_import.percent = 0
    return beneficiary_import


def _get_import_or_404(user, import_id) -> BeneficiaryImport:
    return get_object_or_404(visible_imports(user).select_related("uploaded_by", "dry_run_of"), public_id=import_id)


@require_http_methods(["GET", "POST"])
def imports(request):
    """The Département's imports (GET), and the upload of a file (POST)."""
    check_manages_imports(request.user)
    status = 200
    if request.method == "POST":
        form = ImportUploadForm(request.POST, request.FILES)
        audit_annotate(request, object_type="beneficiary_import")
        if form.is_valid():
            try:
                beneficiary_import = beneficiary_import_upload(
                    actor=request.user,
                    uploaded_file=form.cleaned_data["file"],
                    default_organism=form.cleaned_data["default_organism"],
                    mapping=form.cleaned_data["mapping"],
                    dry_run=form.cleaned_data["dry_run"],
                )
            except ValidationError as error:
                for name, messages in error.message_dict.items():
                    form.add_error(name if name in form.fields else None, messages)
            else:
                audit_annotate(
                    request,
                    object_id=str(beneficiary_import.public_id),
                    details={"dry_run": beneficiary_import.dry_run, "sha256": beneficiary_import.sha256},
                )
                return _see_other(reverse("imports:detail", args=[beneficiary_import.public_id]))
        status = 400
    else:
        form = ImportUploadForm()
    listed = visible_imports(request.user).select_related("uploaded_by").order_by("-uploaded_at", "-pk")
    page = Paginator(listed, PAGE_SIZE).get_page(request.GET.get("page"))
    for beneficiary_import in page:
        _with_progress(beneficiary_import)
    context = {"form": form, "page_obj": page, "page_range": _page_range(page)}
    return render(request, "imports/list.html", context, status=status)


def _page_range(page):
    return page.paginator.get_elided_page_range(page.number, on_each_side=2, on_ends=1)


def _errors_context(request, beneficiary_import: BeneficiaryImport, page_number) -> dict:
    errors = ImportRowError.objects.filter(beneficiary_import=beneficiary_import).order_by("line", "pk")
    page = Paginator(errors, ERRORS_PAGE_SIZE).get_page(page_number)
    return {
        "errors_page": page,
        "errors_range": _page_range(page),
        "field_counts": field_counts_display(beneficiary_import),
    }


def _detail_context(request, beneficiary_import: BeneficiaryImport) -> dict:
    return {
        "beneficiary_import": _with_progress(beneficiary_import),
        "status_url": reverse("imports:detail", args=[beneficiary_import.public_id]),
        "poll_seconds": POLL_SECONDS,
        "run_error": "",
    }


@require_safe
@never_cache
def import_detail(request, import_id):
    """One import: its progress (htmx polls the partial while it is queued or at work), then its counts,
    the fields it changed and its row report (refused rows, warnings on rows imported), a page at a time."""
    check_manages_imports(request.user)
    beneficiary_import = _get_import_or_404(request.user, import_id)
    context = _detail_context(request, beneficiary_import)
    # A history restore (the back button, htmx keeping no copy of the page) wants the whole page.
    if request.htmx and not request.htmx.history_restore_request:
        response = render(request, "imports/includes/progress.html", context)
        # Once finished, the whole page shows the result (the counts and the refused rows).
        if beneficiary_import.finished:
            response["HX-Refresh"] = "true"
    else:
        context |= _errors_context(request, beneficiary_import, request.GET.get("page"))
        context |= {
            "already_imported": previous_imports_of(beneficiary_import).order_by("-finished_at").first(),
            "launched": BeneficiaryImport.objects.filter(dry_run_of=beneficiary_import)
            .exclude(status=BeneficiaryImport.Status.FAILED)
            .order_by("-pk")
            .first(),
        }
        response = render(request, "imports/detail.html", context)
    patch_vary_headers(response, ["HX-Request"])
    return response


@require_POST
def import_run(request, import_id):
    """Launch the real import of the file a finished dry run checked."""
    check_manages_imports(request.user)
    audit_annotate(request, object_type="beneficiary_import", object_id=str(import_id))
    dry_run = _get_import_or_404(request.user, import_id)
    try:
        real = beneficiary_import_run(actor=request.user, dry_run_import=dry_run)
    except ValidationError as error:
        context = _detail_context(request, dry_run)
        context |= _errors_context(request, dry_run, 1)
        context |= {
            "already_imported": None,
            "launched": None,
            "run_error": " ".join(error.messages),
        }
        return render(request, "imports/detail.html", context, status=409)
    audit_annotate(request, details={"import": str(real.public_id), "dry_run_of": str(dry_run.public_id)})
    return _see_other(reverse("imports:detail", args=[real.public_id]))


def _formula_safe(value) -> str:
    text = "" if value is None else str(value)
    return f"'{text}" if text.startswith(FORMULA_PREFIXES) else text


def _error_lines(beneficiary_import: BeneficiaryImport):
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    buffer.write("\ufeff")
    writer.writerow(ERRORS_HEADER)
    rows = (
        ImportRowError.objects.filter(beneficiary_import=beneficiary_import)
        .order_by("line", "pk")
        .values_list("line", "level", "column", "message", "value")
    )
    levels = dict(ImportRowError.Level.choices)
    for index, (line, level, column, message, value) in enumerate(rows.iterator(chunk_size=2000), start=1):
        writer.writerow(
            [line, levels.get(level, level), _formula_safe(column), _formula_safe(message), _formula_safe(value)]
        )
        if index % 2000 == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


@require_safe
@never_cache
def import_errors_export(request, import_id):
    """The row report of an import (refused rows and warnings) as CSV (UTF-8 with a byte-order mark, ";",
    formula-safe cells)."""
    check_manages_imports(request.user)
    audit_annotate(request, object_type="beneficiary_import", object_id=str(import_id))
    beneficiary_import = _get_import_or_404(request.user, import_id)
    day = timezone.localtime(beneficiary_import.uploaded_at)
    response = StreamingHttpResponse(_error_lines(beneficiary_import), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="rapport-lignes-import-{day:%Y-%m-%d-%H%M}.csv"'
    return response
