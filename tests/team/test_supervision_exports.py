"""Exports of the supervisors' dashboard and alerts (issue 6): CSV for French spreadsheets, .xlsx with
openpyxl, safe against formula injection, refused to other roles, recorded in the audit trail."""

import csv
import datetime
import io

import pytest
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from accounts.models import Role
from audit.models import AuditEvent
from team.deadlines import CONTRACT_EXPIRED, CONTRACT_LATE
from tests.accounts.factories import StructureFactory, member
from tests.team.test_supervision import days_ago, make_file

pytestmark = pytest.mark.django_db

DASHBOARD_EXPORT = reverse("team:dashboard_export")
ALERTS_EXPORT = reverse("team:alerts_export")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture
def personas(personas):
    """The shared personas, and files with an alert each: two followed by the referent, one by the MDS Sud's."""
    p = personas
    # Oriented 90 days ago, no contract since: 30 days late. A name a spreadsheet would run as a formula.
    p.late = make_file(p.referent, oriented_days_ago=90, last_name='=HYPERLINK("http://example.com","x")')
    # A contract expired 10 days ago.
    p.expired = make_file(p.referent, oriented_days_ago=380, contract=(-370, -10), last_name="Martin")
    # The Sud's file: never in the Nord's exports.
    make_file(p.other, oriented_days_ago=380, contract=(-370, -10), last_name="Sudiste")
    return p


def read_csv(response) -> list[list[str]]:
    text = response.content.decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:]), delimiter=";"))


def test_dashboard_csv(client, personas):
    client.force_login(personas.supervisor)

    response = client.get(DASHBOARD_EXPORT, {"format": "csv"})

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    today = timezone.localdate()
    assert response["Content-Disposition"] == f'attachment; filename="tableau-de-bord-equipe-{today:%Y-%m-%d}.csv"'
    rows = read_csv(response)
    header = rows[0]
    assert header[:4] == ["Structure", "Référent·e", "Rattaché·e à la structure", "Dossiers en cours"]
    assert "Orientés sans contrat après 60 jours" in header and "Contrat échu" in header
    # The referent follows the personas' file (not oriented) and the two files above.
    referent = dict(zip(header, rows[1], strict=True))
    assert referent["Structure"] == "MDS Nord" and referent["Référent·e"] == "Rita Ferrand"
    assert referent["Dossiers en cours"] == "3"
    assert referent["Orientés sans contrat après 60 jours"] == "1" and referent["Contrat échu"] == "1"
    colleague = dict(zip(header, rows[2], strict=True))
    assert colleague["Référent·e"] == "Colin Lebon" and colleague["Dossiers en cours"] == "0"
    total = dict(zip(header, rows[3], strict=True))
    assert total["Référent·e"] == "Total" and total["Dossiers en cours"] == "3"
    assert len(rows) == 4  # nothing of the Sud


def test_dashboard_xlsx(client, personas):
    client.force_login(personas.supervisor)

    response = client.get(DASHBOARD_EXPORT, {"format": "xlsx"})

    assert response.status_code == 200
    assert response["Content-Type"] == XLSX
    assert response["Content-Disposition"].endswith('.xlsx"')
    workbook = load_workbook(io.BytesIO(response.content))
    assert workbook.sheetnames == ["Équipe", "Orientations", "Entrées et sorties"]
    team = list(workbook["Équipe"].values)
    assert team[1][:4] == ("MDS Nord", "Rita Ferrand", "oui", 3)
    assert team[2][:4] == ("MDS Nord", "Colin Lebon", "oui", 0)
    assert team[3][:4] == ("MDS Nord", "Total", None, 3)
    tracks = dict(list(workbook["Orientations"].values)[1:])
    # The two files above are oriented toward the social track, the personas' file is not oriented.
    assert tracks["Sociale"] == 2 and tracks["Sans orientation en vigueur"] == 1
    flows = list(workbook["Entrées et sorties"].values)
    assert flows[0] == ("Mois", "Entrées", "Sorties") and len(flows) == 13


def test_alerts_csv_with_the_lists_filters(client, personas):
    client.force_login(personas.supervisor)

    response = client.get(ALERTS_EXPORT, {"format": "csv"})

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert "alertes-equipe-" in response["Content-Disposition"]
    rows = read_csv(response)
    assert rows[0] == [
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
    assert [row[0] for row in rows[1:]] == [
        "Non orientés 30 jours après l'entrée au RSA",  # the personas' file, in the RSA for 200 days
        "Orientés sans contrat après 60 jours",
        "Contrat échu",
    ]
    assert rows[1][3] == "Zidane"
    late = rows[2]
    assert late[1] == days_ago(30).strftime("%d/%m/%Y") and late[2] == "30"
    # The name that looked like a formula is written as text.
    assert late[3] == "'" + personas.late.last_name
    assert late[5] == personas.late.allocataire_number and late[7] == "Rita Ferrand" and late[8] == "MDS Nord"
    assert "Sudiste" not in response.content.decode()

    filtered = read_csv(client.get(ALERTS_EXPORT, {"format": "csv", "indicateur": CONTRACT_EXPIRED}))
    assert [row[3] for row in filtered[1:]] == ["Martin"]


def test_alerts_xlsx_keeps_text_as_text(client, personas):
    client.force_login(personas.supervisor)

    response = client.get(ALERTS_EXPORT, {"format": "xlsx", "indicateur": CONTRACT_LATE})

    assert response.status_code == 200
    assert response["Content-Type"] == XLSX
    sheet = load_workbook(io.BytesIO(response.content))["Alertes"]
    rows = list(sheet.iter_rows(min_row=2))
    assert len(rows) == 1
    due, overdue, name = rows[0][1], rows[0][2], rows[0][3]
    # openpyxl reads a date cell back as a datetime at midnight.
    assert due.value == datetime.datetime.combine(days_ago(30), datetime.time()) and due.is_date
    assert overdue.value == 30
    assert name.value == personas.late.last_name and name.data_type == "s"  # never a formula


@pytest.mark.parametrize("url", [DASHBOARD_EXPORT, ALERTS_EXPORT])
@pytest.mark.parametrize("value", ["", "pdf", "CSV"])
def test_a_bad_format_is_refused_in_french(client, personas, url, value):
    client.force_login(personas.supervisor)

    response = client.get(url, {"format": value} if value else {})

    assert response.status_code == 400
    assert "Format d'export inconnu" in response.content.decode()


def test_alerts_export_refuses_bad_filters_in_french(client, personas):
    client.force_login(personas.supervisor)

    response = client.get(ALERTS_EXPORT, {"format": "csv", "indicateur": "tout"})

    assert response.status_code == 400
    assert "choisissez une alerte de la liste" in response.content.decode()


@pytest.mark.parametrize("url", [DASHBOARD_EXPORT, ALERTS_EXPORT])
@pytest.mark.parametrize("export_format", ["csv", "xlsx"])
def test_each_export_is_recorded_in_the_audit_trail(client, personas, url, export_format):
    client.force_login(personas.supervisor)

    client.get(url, {"format": export_format})

    event = AuditEvent.objects.get(action=AuditEvent.Action.EXPORT)
    assert event.actor == personas.supervisor
    assert event.url_name in ("team:dashboard_export", "team:alerts_export")
    # The dashboard counts the files (the referent's three), the alerts their lines (one for each file).
    assert event.details["format"] == export_format and event.details["count"] == 3


@pytest.mark.parametrize("role", [Role.REFERENT, Role.DEPARTMENT_ADMIN, Role.AUDITOR])
@pytest.mark.parametrize("url", [DASHBOARD_EXPORT, ALERTS_EXPORT])
def test_other_roles_cannot_export(client, personas, role, url):
    client.force_login(member(role, structure=personas.nord))

    assert client.get(url, {"format": "csv"}).status_code == 403


def test_another_supervisor_exports_only_their_own_team(client, personas):
    other = member(Role.SUPERVISOR, structure=StructureFactory(name="MDS Est"))
    client.force_login(other)

    rows = read_csv(client.get(ALERTS_EXPORT, {"format": "csv"}))

    assert rows[1:] == []
