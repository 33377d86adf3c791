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
def world():
    nord = StructureFactory(name="MDS Nord", code="mds-nord")
    sud = StructureFactory(name="MDS Sud", code="mds-sud")
    supervisor = member(Role.SUPERVISOR, structure=nord, username="sup-nord")
    alice = member(Role.REFERENT, structure=nord, username="alice", first_name="Alice", last_name="Arnaud")
    carol = member(Role.REFERENT, structure=sud, username="carol", first_name="Carol", last_name="Caron")
    # Oriented 90 days ago, no contract since: 30 days late. A name a spreadsheet would run as a formula.
    late = make_file(alice, oriented_days_ago=90, last_name='=HYPERLINK("http://example.com","x")')
    # A contract expired 10 days ago.
    expired = make_file(alice, oriented_days_ago=380, contract=(-370, -10), last_name="Martin")
    # The Sud's file: never in the Nord's exports.
    make_file(carol, oriented_days_ago=380, contract=(-370, -10), last_name="Sudiste")
    return nord, supervisor, alice, late, expired


def read_csv(response) -> list[list[str]]:
    text = response.content.decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:]), delimiter=";"))


def test_dashboard_csv(client, world):
    nord, supervisor, *_ = world
    client.force_login(supervisor)

    response = client.get(DASHBOARD_EXPORT, {"format": "csv"})

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    today = timezone.localdate()
    assert response["Content-Disposition"] == f'attachment; filename="tableau-de-bord-equipe-{today:%Y-%m-%d}.csv"'
    rows = read_csv(response)
    header = rows[0]
    assert header[:4] == ["Structure", "Référent·e", "Rattaché·e à la structure", "Dossiers en cours"]
    assert "Orientés sans contrat après 60 jours" in header and "Contrat échu" in header
    alice = dict(zip(header, rows[1], strict=True))
    assert alice["Structure"] == "MDS Nord" and alice["Référent·e"] == "Alice Arnaud"
    assert alice["Dossiers en cours"] == "2"
    assert alice["Orientés sans contrat après 60 jours"] == "1" and alice["Contrat échu"] == "1"
    total = dict(zip(header, rows[2], strict=True))
    assert total["Référent·e"] == "Total" and total["Dossiers en cours"] == "2"
    assert len(rows) == 3  # nothing of the Sud


def test_dashboard_xlsx(client, world):
    nord, supervisor, *_ = world
    client.force_login(supervisor)

    response = client.get(DASHBOARD_EXPORT, {"format": "xlsx"})

    assert response.status_code == 200
    assert response["Content-Type"] == XLSX
    assert response["Content-Disposition"].endswith('.xlsx"')
    workbook = load_workbook(io.BytesIO(response.content))
    assert workbook.sheetnames == ["Équipe", "Orientations", "Entrées et sorties"]
    team = list(workbook["Équipe"].values)
    assert team[1][:4] == ("MDS Nord", "Alice Arnaud", "oui", 2)
    assert team[2][:4] == ("MDS Nord", "Total", None, 2)
    tracks = dict(list(workbook["Orientations"].values)[1:])
    assert tracks["Sociale"] == 2 and tracks["Sans orientation en vigueur"] == 0
    flows = list(workbook["Entrées et sorties"].values)
    assert flows[0] == ("Mois", "Entrées", "Sorties") and len(flows) == 13


def test_alerts_csv_with_the_lists_filters(client, world):
    nord, supervisor, alice, late, expired = world
    client.force_login(supervisor)

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
    assert [row[0] for row in rows[1:]] == ["Orientés sans contrat après 60 jours", "Contrat échu"]
    first = rows[1]
    assert first[1] == days_ago(30).strftime("%d/%m/%Y") and first[2] == "30"
    # The name that looked like a formula is written as text.
    assert first[3] == "'" + late.last_name
    assert first[5] == late.allocataire_number and first[7] == "Alice Arnaud" and first[8] == "MDS Nord"
    assert "Sudiste" not in response.content.decode()

    filtered = read_csv(client.get(ALERTS_EXPORT, {"format": "csv", "indicateur": CONTRACT_EXPIRED}))
    assert [row[3] for row in filtered[1:]] == ["Martin"]


def test_alerts_xlsx_keeps_text_as_text(client, world):
    nord, supervisor, alice, late, expired = world
    client.force_login(supervisor)

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
    assert name.value == late.last_name and name.data_type == "s"  # never a formula


@pytest.mark.parametrize("url", [DASHBOARD_EXPORT, ALERTS_EXPORT])
@pytest.mark.parametrize("value", ["", "pdf", "CSV"])
def test_a_bad_format_is_refused_in_french(client, world, url, value):
    client.force_login(world[1])

    response = client.get(url, {"format": value} if value else {})

    assert response.status_code == 400
    assert "Format d'export inconnu" in response.content.decode()


def test_alerts_export_refuses_bad_filters_in_french(client, world):
    client.force_login(world[1])

    response = client.get(ALERTS_EXPORT, {"format": "csv", "indicateur": "tout"})

    assert response.status_code == 400
    assert "choisissez une alerte de la liste" in response.content.decode()


@pytest.mark.parametrize("url", [DASHBOARD_EXPORT, ALERTS_EXPORT])
@pytest.mark.parametrize("export_format", ["csv", "xlsx"])
def test_each_export_is_recorded_in_the_audit_trail(client, world, url, export_format):
    client.force_login(world[1])

    client.get(url, {"format": export_format})

    event = AuditEvent.objects.get(action=AuditEvent.Action.EXPORT)
    assert event.actor == world[1]
    assert event.url_name in ("team:dashboard_export", "team:alerts_export")
    assert event.details["format"] == export_format and event.details["count"] == 2


@pytest.mark.parametrize("role", [Role.REFERENT, Role.DEPARTMENT_ADMIN, Role.AUDITOR])
@pytest.mark.parametrize("url", [DASHBOARD_EXPORT, ALERTS_EXPORT])
def test_other_roles_cannot_export(client, world, role, url):
    client.force_login(member(role, structure=world[0]))

    assert client.get(url, {"format": "csv"}).status_code == 403


def test_another_supervisor_exports_only_their_own_team(client, world):
    other = member(Role.SUPERVISOR, structure=StructureFactory(name="MDS Est"))
    client.force_login(other)

    rows = read_csv(client.get(ALERTS_EXPORT, {"format": "csv"}))

    assert rows[1:] == []
