"""The supervisor's dashboard of the team, its alerts and their exports (issue 6).

- `team_dashboard` (GET equipe/): per supervised structure, a row per referent with the files whose
  support is ongoing and each indicator (team.supervision), a total; every figure links to the
  caseload filtered on the same condition (its "alerte" filter); the charts, each with its table.
- `team_alerts` (GET equipe/alertes/): the files to act on, one row per (file, alert), with the deadline
  and the days overdue; sorted by urgency (default), by referent or by deadline; filtered by alert and
  referent; paginated.
- `team_dashboard_export`, `team_alerts_export` (GET ?format=csv|xlsx): the same figures and rows.

Supervisors only (403 otherwise); the scope is the structures they supervise today, and within them the
files the permission layer lets them read. The audit middleware records the lists (VIEW_LIST) and the
exports (EXPORT); the views only add how many files or rows answered.
"""

import csv
import io
from urllib.parse import urlencode

from django import forms
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import HttpResponse, HttpResponseBadRequest, QueryDict
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_safe
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

from accounts.models import Membership, Role, User
from audit.trail import audit_annotate
from casework.querysets import SUPPORT_ONGOING
from core.csv import csv_cell
from team.charts import Series, column_chart, horizontal_bar_chart, month_label
from team.deadlines import Deadlines
from team.permissions import SUPERVISORS_DASHBOARD, check_supervises
from team.supervision import (
    ALERT_SORTS,
    ALERTS,
    DEFAULT_ALERT_SORT,
    FILES,
    WARNINGS,
    AlertList,
    Dashboard,
    TeamRow,
    alert_page,
    team_alerts,
    team_files,
)
from team.supervision import (
    team_dashboard as build_dashboard,
)

ALERTS_PAGE_SIZE = 50
EXPORT_CHUNK_SIZE = 2000
FORMATS = ("csv", "xlsx")
BAD_FORMAT = "Format d'export inconnu : demandez « csv » ou « xlsx » (paramètre format)."
CSV_TYPE = "text/csv; charset=utf-8"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _referent_name(user: User | None) -> str:
    if user is None:
        return "Sans référent·e"
    return user.get_full_name() or user.username


def _caseload_url(base: str, **params) -> str:
    """The caseload at `base` (its path, reversed once per page) with these filters, on the files of all
    the supervisor's structures whose support is ongoing."""
    query = {"vue": "tous", "accompagnement": SUPPORT_ONGOING}
    query.update({key: value for key, value in params.items() if value is not None})
    return f"{base}?{urlencode(query)}"


def _cells(row: TeamRow, keys: list[str], base: str) -> list[tuple[int, str]]:
    """(figure, link to the caseload with the matching filters) for each column of a row; no link for a
    zero (an empty list), nor for files held by nobody (the caseload cannot select them)."""
    cells = []
    for key in keys:
        value = row.counts[key]
        url = ""
        if value and (row.is_total or row.referent is not None):
            url = _caseload_url(
                base,
                structure=row.structure.pk,
                referent=None if row.is_total else row.referent.pk,
                alerte=None if key == FILES else key,
            )
        cells.append((value, url))
    return cells


def _charts(dashboard: Dashboard, user: User) -> dict:
    several = len(dashboard.structures) > 1
    caseload = [
        (
            _referent_name(row.referent) + (f" ({row.structure.label_for(user)})" if several else ""),
            row.files,
        )
        for table in dashboard.tables
        for row in table.rows
    ]
    flows = dashboard.flows
    return {
        "caseload": horizontal_bar_chart(
            "graphique-portefeuilles",
            "Dossiers en cours par référent·e",
            "Nombre de dossiers dont l'accompagnement est en cours, pour chaque référent·e de l'équipe.",
            caseload,
        ),
        "tracks": horizontal_bar_chart(
            "graphique-orientations",
            "Dossiers en cours par orientation",
            "Nombre de dossiers en cours selon le parcours de l'orientation en vigueur.",
            dashboard.tracks,
        ),
        "flows": column_chart(
            "graphique-entrees-sorties",
            "Entrées et sorties par mois (12 derniers mois)",
            "Pour chaque mois, deux colonnes : les entrées (dossiers confiés à l'équipe, colonne pleine) et les "
            "sorties (fins d'accompagnement, colonne hachurée), chacune avec son nombre au-dessus.",
            [Series("Entrées", "plein"), Series("Sorties", "hachure")],
            [(month_label(flow.month), [flow.entries, flow.exits]) for flow in flows],
        ),
        "caseload_rows": caseload,
    }


@require_safe
def team_dashboard(request):
    user = request.user
    structures = check_supervises(user, SUPERVISORS_DASHBOARD)
    deadlines = Deadlines.current()
    dashboard = build_dashboard(user, structures, deadlines)
    keys = [FILES, *WARNINGS]
    base = reverse("casework:caseload")
    tables = [
        {
            "structure": table.structure,
            "structure_label": table.structure.label_for(user),
            "rows": [(row, _referent_name(row.referent), _cells(row, keys, base)) for row in table.rows],
            "total": _cells(table.total, keys, base),
        }
        for table in dashboard.tables
    ]
    labels = dashboard.labels
    audit_annotate(request, details={"count": dashboard.file_count})
    context = {
        "dashboard": dashboard,
        "settings_row": deadlines.settings,
        "columns": [("Dossiers en cours", FILES)] + [(labels[key], key) for key in WARNINGS],
        "tables": tables,
        "charts": _charts(dashboard, user),
        "flows": [(month_label(flow.month), flow.entries, flow.exits) for flow in dashboard.flows],
    }
    return render(request, "team/dashboard.html", context)


# --- Alerts -----------------------------------------------------------------------------------------


class ReferentChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return _referent_name(obj)


class AlertFilterForm(forms.Form):
    """The alerts list's filters and sort order (GET). Invalid input: the error at the field, no rows."""

    indicateur = forms.ChoiceField(
        label="Alerte",
        required=False,
        widget=forms.Select,
        error_messages={"invalid_choice": "Ce choix n'est pas valide : choisissez une alerte de la liste."},
    )
    referent = ReferentChoiceField(
        label="Référent·e",
        required=False,
        queryset=User.objects.none(),
        empty_label="Tous",
        widget=forms.Select,
        error_messages={"invalid_choice": "Ce choix n'est pas valide : choisissez une personne de la liste."},
    )
    tri = forms.ChoiceField(
        label="Trier par",
        required=False,
        widget=forms.Select,
        choices=[(key, label) for key, (label, _) in ALERT_SORTS.items()],
        error_messages={"invalid_choice": "Ce choix n'est pas valide : choisissez un ordre de la liste."},
    )

    def __init__(self, data, *, user, structures, deadlines):
        super().__init__(data)
        settings = deadlines.settings
        self.fields["indicateur"].choices = [("", "Toutes")] + [(a.key, a.label(settings)) for a in ALERTS]
        # The referents of the team, and whoever else holds one of its files: no other name is offered.
        team = Membership.objects.active(on=deadlines.today).filter(structure__in=structures, role=Role.REFERENT)
        self.fields["referent"].queryset = User.objects.filter(
            Q(pk__in=team.values("user")) | Q(pk__in=team_files(user, structures).values("current_referent"))
        ).order_by("last_name", "first_name", "username")
        for name, field in self.fields.items():
            field.widget.attrs["class"] = "form-select form-select-sm"
            if self.is_bound and name in self.errors:
                field.widget.attrs["class"] += " is-invalid"
                field.widget.attrs["aria-describedby"] = f"id_{name}-erreur"


def _alert_selection(request, user, structures, deadlines) -> tuple[AlertFilterForm, dict | None]:
    """The filter form and what it selects, as team_alerts's keyword arguments (None when the form is
    invalid)."""
    form = AlertFilterForm(request.GET, user=user, structures=structures, deadlines=deadlines)
    if not form.is_valid():
        return form, None
    data = form.cleaned_data
    return form, {
        "kinds": [data["indicateur"]] if data["indicateur"] else None,
        "referent": data["referent"],
        "sort": data["tri"] or DEFAULT_ALERT_SORT,
    }


@require_safe
def team_alerts_list(request):
    user = request.user
    structures = check_supervises(user, SUPERVISORS_DASHBOARD)
    deadlines = Deadlines.current()
    form, selection = _alert_selection(request, user, structures, deadlines)
    rows = [] if selection is None else AlertList(user, structures, deadlines, **selection)
    page = Paginator(rows, ALERTS_PAGE_SIZE).get_page(request.GET.get("page"))
    alerts = alert_page(page, deadlines)
    audit_annotate(request, details={"count": page.paginator.count, "page": page.number})
    params = QueryDict(mutable=True)
    for key in ("indicateur", "referent", "tri"):
        if request.GET.get(key):
            params[key] = request.GET[key]
    context = {
        "form": form,
        "filters_valid": selection is not None,
        "page_obj": page,
        "page_range": page.paginator.get_elided_page_range(page.number, on_each_side=2, on_ends=1),
        "alerts": alerts,
        "params": params,
        "structures": [structure.label_for(user) for structure in structures],
        "export_query": params.urlencode(),
    }
    return render(request, "team/alerts.html", context)


# --- Exports ----------------------------------------------------------------------------------------


def _format(request) -> str | None:
    value = request.GET.get("format", "")
    return value if value in FORMATS else None


def _file_name(stem: str, extension: str) -> str:
    return f"{stem}-{timezone.localdate():%Y-%m-%d}.{extension}"


def _csv_response(rows, file_name: str) -> HttpResponse:
    """UTF-8 with a byte order mark and ";" between cells (what French spreadsheets open as they are);
    a cell that starts like a formula is written as text (audit.views.screens.csv_cell)."""
    buffer = io.StringIO()
    buffer.write("\ufeff")
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    for row in rows:
        writer.writerow([csv_cell(cell) for cell in row])
    response = HttpResponse(buffer.getvalue(), content_type=CSV_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{file_name}"'
    return response


def _xlsx_response(workbook: Workbook, file_name: str) -> HttpResponse:
    buffer = io.BytesIO()
    workbook.save(buffer)
    response = HttpResponse(buffer.getvalue(), content_type=XLSX_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{file_name}"'
    return response


def _text_safe(cell):
    """openpyxl stores a string starting with "=" as a formula: keep such text as text."""
    if isinstance(cell.value, str) and cell.value.startswith("="):
        cell.data_type = "s"
    return cell


def _dashboard_rows(dashboard: Dashboard, user: User):
    labels = dashboard.labels
    yield ["Structure", "Référent·e", "Rattaché·e à la structure", "Dossiers en cours", *labels.values()]
    for table in dashboard.tables:
        structure = table.structure.label_for(user)
        for row in table.rows:
            yield [
                structure,
                _referent_name(row.referent),
                "oui" if row.is_member else "non",
                row.files,
                *(row.counts[key] for key in labels),
            ]
        yield [structure, "Total", "", table.total.files, *(table.total.counts[key] for key in labels)]


@require_safe
def team_dashboard_export(request):
    user = request.user
    structures = check_supervises(user, SUPERVISORS_DASHBOARD)
    export_format = _format(request)
    if export_format is None:
        return HttpResponseBadRequest(BAD_FORMAT, content_type="text/plain; charset=utf-8")
    dashboard = build_dashboard(user, structures, Deadlines.current())
    audit_annotate(request, details={"count": dashboard.file_count, "format": export_format})
    if export_format == "csv":
        return _csv_response(_dashboard_rows(dashboard, user), _file_name("tableau-de-bord-equipe", "csv"))

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Équipe"
    for row in _dashboard_rows(dashboard, user):
        sheet.append(row)
    tracks = workbook.create_sheet("Orientations")
    tracks.append(["Orientation en vigueur", "Dossiers en cours"])
    for label, count in dashboard.tracks:
        tracks.append([label, count])
    flows = workbook.create_sheet("Entrées et sorties")
    flows.append(["Mois", "Entrées", "Sorties"])
    for flow in dashboard.flows:
        flows.append([flow.month, flow.entries, flow.exits])
        flows.cell(row=flows.max_row, column=1).number_format = "mmmm yyyy"
    for worksheet in workbook.worksheets:
        for cell in worksheet[1]:
            cell.font = Font(bold=True)
        for row in worksheet.iter_rows():
            for cell in row:
                _text_safe(cell)
        worksheet.column_dimensions["A"].width = 28
        worksheet.column_dimensions["B"].width = 28
    return _xlsx_response(workbook, _file_name("tableau-de-bord-equipe", "xlsx"))


ALERTS_HEADER = [
    "Alerte",
    "Échéance",
    "Retard (jours)",
    "Nom",
    "Prénom",
    "Numéro allocataire",
    "Organisme",
    "Référent·e",
    "Structure",
]


def _alerts_export_rows(rows, deadlines, user):
    """The header, then every row of the alerts (files fetched EXPORT_CHUNK_SIZE at a time)."""
    yield ALERTS_HEADER
    rows = list(rows)
    for start in range(0, len(rows), EXPORT_CHUNK_SIZE):
        for alert in alert_page(rows[start : start + EXPORT_CHUNK_SIZE], deadlines):
            file = alert.beneficiary
            yield [
                alert.label,
                alert.due,
                alert.days_overdue,
                file.last_name,
                file.first_name,
                file.allocataire_number,
                file.get_organism_display(),
                _referent_name(file.current_referent),
                file.current_structure.label_for(user) if file.current_structure else "",
            ]


@require_safe
def team_alerts_export(request):
    user = request.user
    structures = check_supervises(user, SUPERVISORS_DASHBOARD)
    export_format = _format(request)
    if export_format is None:
        return HttpResponseBadRequest(BAD_FORMAT, content_type="text/plain; charset=utf-8")
    deadlines = Deadlines.current()
    form, selection = _alert_selection(request, user, structures, deadlines)
    if selection is None:
        errors = " ".join(str(error) for errors in form.errors.values() for error in errors)
        return HttpResponseBadRequest(f"Filtres invalides : {errors}", content_type="text/plain; charset=utf-8")
    rows = team_alerts(user, structures, deadlines, **selection)
    lines = list(_alerts_export_rows(rows, deadlines, user))
    audit_annotate(request, details={"count": len(lines) - 1, "format": export_format})
    if export_format == "csv":
        formatted = (
            [cell.strftime("%d/%m/%Y") if hasattr(cell, "strftime") else cell for cell in line] for line in lines
        )
        return _csv_response(formatted, _file_name("alertes-equipe", "csv"))

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Alertes")
    sheet.column_dimensions["A"].width = 45
    bold = Font(bold=True)
    header = []
    for title in lines[0]:
        cell = WriteOnlyCell(sheet, value=title)
        cell.font = bold
        header.append(cell)
    sheet.append(header)
    for line in lines[1:]:
        cells = [_text_safe(WriteOnlyCell(sheet, value=value)) for value in line]
        cells[1].number_format = "dd/mm/yyyy"
        sheet.append(cells)
    return _xlsx_response(workbook, _file_name("alertes-equipe", "xlsx"))
