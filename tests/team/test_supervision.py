"""The supervisors' dashboard and alerts (issue 6): each indicator on a crafted team, the Département's
deadlines changing the figures, the scope, the links to the caseload, the charts, the query counts,
and the demo data seen by superviseur.nord."""

import calendar
import datetime
import io
import re
from types import SimpleNamespace

import pytest
from django.core.management import call_command
from django.core.paginator import Paginator
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role, User
from audit.models import AuditEvent
from casework.models import Appointment, Beneficiary, Contract, ReferentAssignment
from casework.services.common import files_refresh_contract_end
from team.deadlines import (
    AWAITING_ORIENTATION,
    CONTRACT_EXPIRED,
    CONTRACT_EXPIRING,
    CONTRACT_LATE,
    INACTIVE_ALERT,
    INACTIVE_WARNING,
    MISSED_APPOINTMENT,
    NEW,
    ORIENTATION_LATE,
    Deadlines,
)
from team.models import CaseworkSettings
from team.supervision import FILES, WARNINGS, AlertList, TeamRow, team_alert_count, team_alerts, team_table
from team.views.dashboard import _caseload_url, _cells
from tests.accounts.factories import MembershipFactory, StructureFactory, member
from tests.casework.factories import AppointmentFactory, BeneficiaryFactory, ContractFactory, OrientationFactory
from tests.conftest import AUDIT_QUERIES, HEADER_QUERIES, SESSION_QUERIES

pytestmark = pytest.mark.django_db

DASHBOARD = reverse("team:dashboard")
ALERTS = reverse("team:alerts")


def days_ago(days: int) -> datetime.date:
    return timezone.localdate() - datetime.timedelta(days=days)


def make_file(
    referent: User,
    *,
    assigned_days_ago: int = 200,
    entry_days_ago: int = 200,
    oriented_days_ago: int | None = None,
    contract: tuple[int, int] | None = None,  # (start, end) in days from today
    activity_days_ago: int | None = 2,
    missed_days_ago: int | None = None,
    sdd: bool = True,
    closed: bool = False,
    last_name: str = "",
) -> Beneficiary:
    """A file followed by `referent`, its pathway dated relative to today."""
    extra = {"last_name": last_name} if last_name else {}
    file = BeneficiaryFactory(referent=referent, sdd=sdd, rsa_entry_date=days_ago(entry_days_ago), **extra)
    now = timezone.now()
    ReferentAssignment.objects.filter(beneficiary=file).update(
        started_at=now - datetime.timedelta(days=assigned_days_ago)
    )
    if oriented_days_ago is not None:
        OrientationFactory(beneficiary=file, decided_on=days_ago(oriented_days_ago))
    if contract is not None:
        start, end = contract
        ContractFactory(
            beneficiary=file,
            start_date=days_ago(-start),
            end_date=days_ago(-end),
            signed_on=days_ago(-start),
            author=referent,
        )
    if missed_days_ago is not None:
        AppointmentFactory(
            beneficiary=file,
            scheduled_at=now - datetime.timedelta(days=missed_days_ago),
            status=Appointment.Status.MISSED,
            author=referent,
        )
    updates = {
        "last_activity_at": None if activity_days_ago is None else now - datetime.timedelta(days=activity_days_ago)
    }
    if closed:
        updates.update(is_active=False, support_ended_on=days_ago(5), rsa_status=Beneficiary.RsaStatus.CLOSED)
    Beneficiary.objects.filter(pk=file.pk).update(**updates)
    file.refresh_from_db()
    return file


def withdraw(entry, user) -> None:
    entry.withdrawn_at = timezone.now()
    entry.withdrawn_by = user
    entry.withdrawal_reason = "Saisie en double."
    entry.save(update_fields=["withdrawn_at", "withdrawn_by", "withdrawal_reason"])
    if isinstance(entry, Contract):  # as the withdrawal service does
        files_refresh_contract_end(Beneficiary.objects.filter(pk=entry.beneficiary_id))


@pytest.fixture
def team():
    """The MDS Nord: a supervisor, referents Alice and Bob (with files), Eve (none), Dave (left, still
    holds a file); the MDS Sud: another supervisor and Carol, whose files are never the Nord's."""
    nord = StructureFactory(name="MDS Nord", code="mds-nord")
    sud = StructureFactory(name="MDS Sud", code="mds-sud")
    supervisor = member(
        Role.SUPERVISOR, structure=nord, username="sup-nord", first_name="Sophie", last_name="Delattre"
    )
    other_supervisor = member(Role.SUPERVISOR, structure=sud, username="sup-sud")
    alice = member(Role.REFERENT, structure=nord, username="alice", first_name="Alice", last_name="Arnaud")
    bob = member(Role.REFERENT, structure=nord, username="bob", first_name="Bob", last_name="Bernard")
    eve = member(Role.REFERENT, structure=nord, username="eve", first_name="Eve", last_name="Evrard")
    carol = member(Role.REFERENT, structure=sud, username="carol", first_name="Carol", last_name="Caron")
    dave = member(Role.REFERENT, structure=nord, username="dave", first_name="Dave", last_name="Dumont")

    files = SimpleNamespace(
        # New to Alice (taken on 5 days ago), oriented 10 days ago: no contract yet, not late.
        a1=make_file(alice, assigned_days_ago=5, oriented_days_ago=10, activity_days_ago=1, last_name="Alpha"),
        # Oriented 90 days ago, no contract since; quiet for 100 days (over 3 months, under 6).
        a2=make_file(alice, assigned_days_ago=100, oriented_days_ago=90, activity_days_ago=100, last_name="Bravo"),
        # Contract expired 10 days ago; quiet for 200 days (over 6 months).
        a3=make_file(alice, oriented_days_ago=380, contract=(-370, -10), activity_days_ago=200, last_name="Charlie"),
        # Contract ends in 20 days; an appointment missed 20 days ago.
        a4=make_file(
            alice,
            oriented_days_ago=290,
            contract=(-100, 20),
            missed_days_ago=20,
            activity_days_ago=10,
            last_name="Delta",
        ),
        # Not oriented, entered 40 days ago: late (30 days); entered 20 days ago: not yet.
        a5=make_file(alice, entry_days_ago=40, last_name="Echo"),
        a6=make_file(alice, entry_days_ago=20, last_name="Foxtrot"),
        # Not subject to the rights and duties: awaiting orientation, but no deadline applies.
        a8=make_file(alice, entry_days_ago=100, sdd=False, last_name="Hotel"),
        # Support ended: counted nowhere.
        a7=make_file(alice, entry_days_ago=100, contract=(-400, -50), activity_days_ago=300, closed=True),
        # Bob: an up-to-date file, and one whose missed appointments are too old or withdrawn.
        b1=make_file(bob, assigned_days_ago=50, oriented_days_ago=30, contract=(-20, 100), last_name="India"),
        b2=make_file(
            bob,
            assigned_days_ago=50,
            oriented_days_ago=30,
            contract=(-20, 100),
            missed_days_ago=70,
            last_name="Juliet",
        ),
        c1=make_file(carol, assigned_days_ago=1, entry_days_ago=100, contract=(-400, -5), activity_days_ago=400),
        d1=make_file(dave, oriented_days_ago=30, contract=(-20, 100), last_name="Kilo"),
    )
    withdrawn = AppointmentFactory(
        beneficiary=files.b2,
        scheduled_at=timezone.now() - datetime.timedelta(days=10),
        status=Appointment.Status.MISSED,
        author=bob,
    )
    withdraw(withdrawn, bob)
    dave.memberships.update(start_date=days_ago(400), end_date=days_ago(1))
    return SimpleNamespace(
        nord=nord,
        sud=sud,
        supervisor=supervisor,
        other_supervisor=other_supervisor,
        alice=alice,
        bob=bob,
        eve=eve,
        carol=carol,
        dave=dave,
        files=files,
    )


def counts_by_referent(user, structure):
    user = User.objects.get(pk=user.pk)  # fresh active_memberships
    (table,) = team_table(user, [structure], Deadlines.current())
    by_name = {(row.referent.username if row.referent else None): row for row in table.rows}
    return by_name, table.total


ALICE = {
    FILES: 7,
    NEW: 1,
    INACTIVE_WARNING: 2,
    INACTIVE_ALERT: 1,
    AWAITING_ORIENTATION: 3,
    ORIENTATION_LATE: 1,
    CONTRACT_LATE: 1,
    CONTRACT_EXPIRED: 1,
    CONTRACT_EXPIRING: 1,
    MISSED_APPOINTMENT: 1,
}
ZERO = {FILES: 0, **{key: 0 for key in WARNINGS}}


def test_each_indicator_counts_exactly_the_crafted_files(team):
    rows, total = counts_by_referent(team.supervisor, team.nord)

    assert set(rows) == {"alice", "bob", "eve", "dave"}
    assert rows["alice"].counts == ALICE
    assert rows["bob"].counts == {**ZERO, FILES: 2}
    assert rows["eve"].counts == ZERO and rows["eve"].is_member
    assert rows["dave"].counts == {**ZERO, FILES: 1} and not rows["dave"].is_member
    assert total.counts == {**ALICE, FILES: 10}


def test_the_departements_deadlines_change_the_figures(team):
    settings_row = CaseworkSettings.current()
    settings_row.contract_delay_days = 5  # Alpha, oriented 10 days ago, becomes late
    settings_row.orientation_delay_days = 10  # Foxtrot, entered 20 days ago, becomes late
    settings_row.contract_expiring_days = 10  # Delta's contract ends in 20 days: no longer "expiring"
    settings_row.inactivity_warning_months = 1  # Delta, quiet for 10 days, still fine
    settings_row.inactivity_alert_months = 2  # Bravo, quiet for 100 days, now past the second threshold
    settings_row.missed_appointments_days = 90  # Juliet's appointment missed 70 days ago now counts
    settings_row.new_files_days = 60  # Bob's files, taken on 50 days ago, are new
    settings_row.save()

    rows, _ = counts_by_referent(team.supervisor, team.nord)

    assert rows["alice"].counts == {
        **ALICE,
        CONTRACT_LATE: 2,
        ORIENTATION_LATE: 2,
        CONTRACT_EXPIRING: 0,
        INACTIVE_ALERT: 2,
    }
    assert rows["bob"].counts == {**ZERO, FILES: 2, MISSED_APPOINTMENT: 1, NEW: 2}


def test_a_contract_that_ran_after_the_orientation_is_enough_even_if_a_later_one_ended_before(team):
    """ "Contrat en retard": no signed contract has run since the orientation in force was decided. A
    contract that ran until 10 days ago counts, though the contract signed after it (the file's latest)
    ended before the decision; withdrawn, it no longer counts."""
    file = make_file(team.eve, oriented_days_ago=90, contract=(-300, -10))
    ContractFactory(
        beneficiary=file, start_date=days_ago(250), end_date=days_ago(100), signed_on=days_ago(250), author=team.eve
    )
    rows, _ = counts_by_referent(team.supervisor, team.nord)
    assert rows["eve"].counts[CONTRACT_LATE] == 0
    assert CONTRACT_LATE not in alert_kinds(team, file)

    withdraw(Contract.objects.get(beneficiary=file, end_date=days_ago(10)), team.eve)
    rows, _ = counts_by_referent(team.supervisor, team.nord)
    assert rows["eve"].counts[CONTRACT_LATE] == 1
    assert CONTRACT_LATE in alert_kinds(team, file)


def alert_kinds(team, file) -> list[str]:
    alerts = team_alerts(team.supervisor, [team.nord], Deadlines.current())
    return [kind for file_id, kind, *_ in alerts if file_id == file.pk]


def test_other_supervisors_files_are_never_counted(team):
    rows, total = counts_by_referent(team.other_supervisor, team.sud)

    assert set(rows) == {"carol"}
    assert total.counts[FILES] == 1
    assert total.counts[CONTRACT_EXPIRED] == 1
    nord_rows, nord_total = counts_by_referent(team.supervisor, team.nord)
    assert "carol" not in nord_rows and nord_total.counts[FILES] == 10


def test_supervisor_sees_the_dashboard_with_links_to_the_caseload(client, team):
    client.force_login(team.supervisor)

    response = client.get(DASHBOARD)

    assert response.status_code == 200
    html = response.content.decode()
    assert "Mon équipe" in html and "MDS Nord" in html and "Arnaud" in html
    assert "Caron" not in html  # the Sud's referent
    assert "ne travaille plus dans la structure" in html  # Dave
    links = re.findall(r'href="(/dossiers/\?[^"]+)">(\d+)</a>', html)
    assert links, "every non-zero figure links to the caseload"
    # Each link opens the caseload filtered on the same condition: as many files as the figure says.
    for url, figure in links:
        listed = client.get(url.replace("&amp;", "&"))
        assert listed.status_code == 200, url
        count = re.search(r'id="nombre-dossiers"[^>]*>\s*(\d+) dossier', listed.content.decode())
        assert count and count.group(1) == figure, (url, figure)


def test_a_figure_links_with_the_caseload_filters(client, team):
    client.force_login(team.supervisor)

    html = client.get(DASHBOARD).content.decode()

    expected = (
        f"/dossiers/?vue=tous&amp;accompagnement=en_cours&amp;structure={team.nord.pk}"
        f"&amp;referent={team.alice.pk}&amp;alerte={CONTRACT_LATE}"
    )
    assert f'href="{expected}">1</a>' in html


def test_each_cell_links_as_the_caseload_url_of_its_filters():
    """`_cells` gives each figure with the caseload's URL of the row's filters and the column's alert; no
    link for a zero or for files held by nobody."""
    structure, referent = SimpleNamespace(pk=7), SimpleNamespace(pk=42)
    keys = [FILES, *WARNINGS]
    counts = {key: index % 3 for index, key in enumerate(keys)}  # zeros among them
    rows = [
        TeamRow(structure, referent, counts),
        TeamRow(structure, None, counts, is_member=False),
        TeamRow(structure, None, counts, is_total=True),
    ]
    for row in rows:
        expected = []
        for key in keys:
            value = counts[key]
            url = ""
            if value and (row.is_total or row.referent is not None):
                url = _caseload_url(
                    "/dossiers/",
                    structure=7,
                    referent=None if row.is_total else 42,
                    alerte=None if key == FILES else key,
                )
            expected.append((value, url))
        assert _cells(row, keys, "/dossiers/") == expected
    assert not any(url for _, url in _cells(rows[1], keys, "/dossiers/"))
    assert _cells(rows[0], keys, "/dossiers/")[1] == (
        1,
        f"/dossiers/?vue=tous&accompagnement=en_cours&structure=7&referent=42&alerte={keys[1]}",
    )


def test_the_caseload_lists_the_files_of_an_indicator(client, team):
    client.force_login(team.supervisor)

    response = client.get(reverse("casework:caseload"), {"vue": "tous", "alerte": ORIENTATION_LATE})

    html = response.content.decode()
    assert "ECHO" in html and "FOXTROT" not in html and "HOTEL" not in html
    assert "Non orientés 30 jours après l&#x27;entrée au RSA" in html  # the filter says which deadline


def test_an_unknown_indicator_on_the_caseload_is_an_error_at_the_field(client, team):
    client.force_login(team.supervisor)

    response = client.get(reverse("casework:caseload"), {"vue": "tous", "alerte": "n-importe-quoi"})

    assert response.status_code == 200
    assert "Ce choix n&#x27;est pas valide" in response.content.decode()


def test_the_dashboard_is_recorded_as_a_list_without_file_contents(client, team):
    client.force_login(team.supervisor)

    client.get(DASHBOARD)

    event = AuditEvent.objects.get(url_name="team:dashboard")
    assert event.action == AuditEvent.Action.VIEW_LIST
    assert event.details["count"] == 10
    assert event.beneficiary_id is None


@pytest.mark.parametrize("role", [Role.REFERENT, Role.DEPARTMENT_ADMIN, Role.AUDITOR])
@pytest.mark.parametrize("url", [DASHBOARD, ALERTS])
def test_other_roles_get_403(client, team, role, url):
    client.force_login(member(role, structure=team.nord))

    assert client.get(url).status_code == 403


@pytest.mark.parametrize("url", [DASHBOARD, ALERTS])
def test_anonymous_is_sent_to_the_login_page(client, url):
    response = client.get(url)

    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_a_supervisor_whose_membership_ended_gets_403(client, team):
    team.supervisor.memberships.update(start_date=days_ago(400), end_date=days_ago(1))
    client.force_login(team.supervisor)

    assert client.get(DASHBOARD).status_code == 403


def test_charts_render_with_their_figures_as_tables(client, team):
    client.force_login(team.supervisor)

    html = client.get(DASHBOARD).content.decode()

    assert html.count('role="img"') == 3
    for title in (
        "Dossiers en cours par référent·e",
        "Dossiers en cours par orientation",
        "Entrées et sorties par mois (12 derniers mois)",
    ):
        assert "<title id=" in html and title in html
    assert "Tableau des données" in html
    assert "hachure" in html  # the second series is told apart by a pattern, not by colour only
    # Alice's bar carries its figure as text.
    assert re.search(r"Alice Arnaud</text>\s*<rect[^>]*></rect>\s*<text[^>]*>7</text>", html)


def test_entries_and_exits_by_month(team):
    from team.supervision import monthly_flows

    supervisor = User.objects.get(pk=team.supervisor.pk)
    flows = monthly_flows(supervisor, [team.nord], Deadlines.current())

    assert len(flows) == 12
    this_month = flows[-1]
    today = timezone.localdate()
    assert this_month.month == today.replace(day=1)
    # Alpha was taken on 5 days ago, the closed file ended 5 days ago (when still in this month).
    expected_entries = sum(
        1
        for days in (5, 100, 200, 200, 200, 200, 200, 200, 50, 50, 200)
        if (today - datetime.timedelta(days=days)).replace(day=1) == this_month.month
    )
    assert this_month.entries == expected_entries
    assert sum(flow.exits for flow in flows) == 1


def test_dashboard_query_count_does_not_depend_on_referents_or_files(client, django_assert_max_num_queries):
    nord = StructureFactory()
    supervisor = member(Role.SUPERVISOR, structure=nord)
    CaseworkSettings.current()

    def add_referents(count):
        for _ in range(count):
            referent = member(Role.REFERENT, structure=nord)
            make_file(referent, oriented_days_ago=90, contract=(-400, -10), missed_days_ago=3)
            make_file(referent, entry_days_ago=60)

    client.force_login(supervisor)
    add_referents(2)
    # User, savepoint, memberships, settings, the grouped counts (indicators, tracks, exits), the referents,
    # the entries, release; the audit event; the session's save.
    with django_assert_max_num_queries(8 + SESSION_QUERIES + AUDIT_QUERIES + HEADER_QUERIES) as small:
        assert client.get(DASHBOARD).status_code == 200
    add_referents(10)
    with django_assert_max_num_queries(len(small)) as large:
        response = client.get(DASHBOARD)
    assert response.status_code == 200
    assert response.content.decode().count("ne travaille plus") == 0
    assert len(large) == len(small)
    # Issue 8: at most 12 statements in all, savepoints (the test's transaction) left aside.
    assert len([q for q in large if "SAVEPOINT" not in q["sql"]]) <= 12


# --- Alerts ------------------------------------------------------------------------------------------


def alert_rows(team, **kwargs):
    supervisor = User.objects.get(pk=team.supervisor.pk)
    return [(row[0], row[1], row[2]) for row in team_alerts(supervisor, [team.nord], Deadlines.current(), **kwargs)]


def plus_months(day: datetime.date, months: int) -> datetime.date:
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    return day.replace(year=year, month=month + 1, day=min(day.day, calendar.monthrange(year, month + 1)[1]))


def test_alerts_list_one_row_per_file_and_condition_most_overdue_first(team):
    f = team.files

    def seen(file):
        return timezone.localtime(file.last_activity_at).date()

    expected = [
        (f.a3.pk, INACTIVE_ALERT, plus_months(seen(f.a3), 6), "Charlie"),  # not also under the 3 months
        (f.a2.pk, INACTIVE_WARNING, plus_months(seen(f.a2), 3), "Bravo"),
        (f.a2.pk, CONTRACT_LATE, days_ago(30), "Bravo"),  # oriented 90 days ago + 60
        (f.a4.pk, MISSED_APPOINTMENT, days_ago(20), "Delta"),  # the day it was missed
        (f.a3.pk, CONTRACT_EXPIRED, days_ago(10), "Charlie"),
        (f.a5.pk, ORIENTATION_LATE, days_ago(10), "Echo"),  # entered 40 days ago + 30
        (f.a4.pk, CONTRACT_EXPIRING, days_ago(-20), "Delta"),
    ]
    expected.sort(key=lambda row: (row[2], row[1], row[3]))

    assert alert_rows(team) == [row[:3] for row in expected]
    assert alert_rows(team)[0][1] == CONTRACT_LATE  # 30 days late: the most overdue


def test_alerts_filter_by_condition_and_referent(team):
    assert {kind for _, kind, _ in alert_rows(team, kinds=[CONTRACT_EXPIRED])} == {CONTRACT_EXPIRED}
    assert alert_rows(team, referent=team.bob) == []
    assert len(alert_rows(team, referent=team.alice)) == 7


@pytest.mark.parametrize(
    "filters",
    [
        {},
        {"kinds": [CONTRACT_EXPIRED]},
        {"kinds": [INACTIVE_WARNING]},
        {"kinds": [MISSED_APPOINTMENT]},
        {"referent": "alice"},
        {"referent": "bob"},
    ],
)
def test_the_count_of_alerts_is_the_number_of_rows_of_the_union(team, filters):
    """team_alert_count counts in one pass what team_alerts lists: a file without activity for 6 months
    once (not also under 3 months), a file under several alerts once per alert."""
    if "referent" in filters:
        filters = {"referent": getattr(team, filters["referent"])}
    supervisor, deadlines = User.objects.get(pk=team.supervisor.pk), Deadlines.current()
    expected = len(list(team_alerts(supervisor, [team.nord], deadlines, **filters)))
    assert team_alert_count(supervisor, [team.nord], deadlines, **filters) == expected
    assert AlertList(supervisor, [team.nord], deadlines, **filters).count() == expected


def test_alerts_page_shows_deadline_and_days_overdue(client, team):
    client.force_login(team.supervisor)

    response = client.get(ALERTS)

    assert response.status_code == 200
    html = response.content.decode()
    assert "7 alertes" in html
    assert days_ago(30).strftime("%d/%m/%Y") in html and "<strong>30 jours</strong>" in html
    assert "dans 20 jours" in html  # Delta's contract, not late yet
    assert "KILO" not in html and "INDIA" not in html  # nothing late on those files
    event = AuditEvent.objects.get(url_name="team:alerts")
    assert event.action == AuditEvent.Action.VIEW_LIST and event.details["count"] == 7


def test_alerts_page_filters_and_sorts(client, team):
    client.force_login(team.supervisor)

    html = client.get(ALERTS, {"indicateur": ORIENTATION_LATE}).content.decode()
    assert "1 alerte" in html and "ECHO" in html and "BRAVO" not in html

    html = client.get(ALERTS, {"referent": team.bob.pk}).content.decode()
    assert "Aucune alerte" in html

    html = client.get(ALERTS, {"tri": "-echeance"}).content.decode()
    assert html.index("DELTA") < html.index("CHARLIE")


def test_alerts_refuse_an_unknown_filter_at_the_field(client, team):
    client.force_login(team.supervisor)

    response = client.get(ALERTS, {"indicateur": "tout", "referent": team.carol.pk, "tri": "hasard"})

    assert response.status_code == 200
    html = response.content.decode()
    assert "Ce choix n&#x27;est pas valide : choisissez une alerte de la liste." in html
    # Carol works in the Sud: not offered, refused, and her name is not shown.
    assert "choisissez une personne de la liste" in html and "Caron" not in html
    assert "aucune alerte n'est affichée" in html


def test_alerts_are_paginated_with_a_constant_number_of_queries(client, django_assert_max_num_queries):
    nord = StructureFactory()
    supervisor = member(Role.SUPERVISOR, structure=nord)
    CaseworkSettings.current()
    client.force_login(supervisor)

    def add_files(count):
        for _ in range(count):
            referent = member(Role.REFERENT, structure=nord)
            make_file(referent, oriented_days_ago=90, contract=(-400, -10), missed_days_ago=3, activity_days_ago=100)

    add_files(2)
    # User, savepoint, memberships, settings, the count of the alerts (one pass over the team's files), the
    # page of the union, the page's files, the referents offered, release; the audit event; the session's
    # save.
    with django_assert_max_num_queries(9 + SESSION_QUERIES + AUDIT_QUERIES + HEADER_QUERIES) as small:
        assert client.get(ALERTS).status_code == 200
    add_files(20)  # 20 files × 3 alerts: two pages
    with django_assert_max_num_queries(len(small)) as large:
        response = client.get(ALERTS, {"page": 2})
    assert len(large) == len(small)
    html = response.content.decode()
    assert "66 alertes" in html and "page=1" in html
    assert len([q for q in large if 'AS "kind"' in q["sql"]]) == 1  # the union of alerts runs once


ALERTS_PAGE_SIZE_IN_TEST = 4


@pytest.mark.parametrize("sort", ["urgence", "-echeance", "referent"])
def test_each_page_of_alerts_is_that_of_the_whole_sorted_list(client, sort):
    """Django's Paginator over the union of alerts: each page holds the rows the whole union gives at that
    place, in each sort order; a page beyond the last (or below the first) shows the last, a wrong one the
    first."""
    nord = StructureFactory()
    supervisor = member(Role.SUPERVISOR, structure=nord)
    deadlines = Deadlines.current()
    for index in range(9):
        referent = member(Role.REFERENT, structure=nord, last_name=f"Ref{index % 3}")
        make_file(referent, oriented_days_ago=60 + index, contract=(-400, -10 - index), activity_days_ago=100 + index)

    def page(number, **filters):
        alerts = team_alerts(supervisor, [nord], deadlines, sort=sort, **filters)
        return Paginator(alerts, ALERTS_PAGE_SIZE_IN_TEST).get_page(number)

    whole = list(team_alerts(supervisor, [nord], deadlines, sort=sort))
    assert len(whole) > 2 * ALERTS_PAGE_SIZE_IN_TEST
    pages = -(-len(whole) // ALERTS_PAGE_SIZE_IN_TEST)
    for number in range(1, pages + 1):
        start = (number - 1) * ALERTS_PAGE_SIZE_IN_TEST
        assert list(page(number).object_list) == whole[start : start + ALERTS_PAGE_SIZE_IN_TEST]
        assert page(number).paginator.count == len(whole) and page(number).number == number
    last = whole[(pages - 1) * ALERTS_PAGE_SIZE_IN_TEST :]
    for beyond in (pages + 5, "99999999999999999999", "0", "-2"):
        assert page(beyond).number == pages and list(page(beyond).object_list) == last
    for wrong in ("abc", "1.5", None):
        assert page(wrong).number == 1 and list(page(wrong).object_list) == whole[:ALERTS_PAGE_SIZE_IN_TEST]
    empty = page(3, kinds=[MISSED_APPOINTMENT])
    assert (empty.number, empty.paginator.count, list(empty.object_list)) == (1, 0, [])
    # The dates come back as dates (Django's converters), on SQLite as on PostgreSQL.
    assert isinstance(whole[0][2], datetime.date)


def test_the_deadlines_are_edited_by_a_department_admin_in_one_row(client):
    admin_user = member(Role.DEPARTMENT_ADMIN)
    client.force_login(admin_user)

    response = client.get(reverse("admin:team_caseworksettings_changelist"))
    assert response.status_code == 302
    change_url = reverse("admin:team_caseworksettings_change", args=[1])
    assert response.url == change_url
    assert client.get(reverse("admin:team_caseworksettings_add")).status_code == 403
    assert client.post(reverse("admin:team_caseworksettings_delete", args=[1])).status_code == 403

    data = {
        "orientation_delay_days": 45,
        "contract_delay_days": 60,
        "contract_expiring_days": 30,
        "inactivity_warning_months": 3,
        "inactivity_alert_months": 6,
        "missed_appointments_days": 60,
        "new_files_days": 30,
    }
    response = client.post(change_url, data)
    assert response.status_code == 302
    settings_row = CaseworkSettings.objects.get()
    assert settings_row.orientation_delay_days == 45 and settings_row.updated_by == admin_user

    response = client.post(change_url, {**data, "inactivity_warning_months": 6})
    assert response.status_code == 200
    assert "Le premier seuil d&#x27;inactivité doit être plus court que le second." in response.content.decode()


def test_supervisors_cannot_edit_the_deadlines(client):
    client.force_login(member(Role.SUPERVISOR))

    response = client.get(reverse("admin:team_caseworksettings_changelist"))

    assert response.status_code == 302 and reverse("admin:login") in response.url


def test_the_nav_shows_my_team_to_supervisors_only(client, team):
    client.force_login(team.supervisor)
    assert "Mon équipe" in client.get(reverse("casework:caseload")).content.decode()
    client.force_login(team.alice)
    assert "Mon équipe" not in client.get(reverse("casework:caseload")).content.decode()


def test_contracts_withdrawn_do_not_count(team):
    contract = Contract.objects.get(beneficiary=team.files.b1)
    withdraw(contract, team.bob)

    rows, _ = counts_by_referent(team.supervisor, team.nord)

    # India, oriented 30 days ago, has no contract any more: not late yet (60 days).
    assert rows["bob"].counts == {**ZERO, FILES: 2}
    settings_row = CaseworkSettings.current()
    settings_row.contract_delay_days = 20
    settings_row.save()
    rows, _ = counts_by_referent(team.supervisor, team.nord)
    assert rows["bob"].counts[CONTRACT_LATE] == 1


def test_staff_of_other_structures_added_later_do_not_appear(team):
    MembershipFactory(user=team.carol, structure=team.sud, role=Role.SUPERVISOR)

    rows, _ = counts_by_referent(team.supervisor, team.nord)

    assert "carol" not in rows


def test_each_alert_row_says_when_it_was_due_in_words_and_escapes_its_texts(client, team):
    """Late (in bold), due today, one day left, several; names that need escaping; a referent without
    a full name shown by username."""
    nameless = member(Role.REFERENT, structure=team.nord, username="sans-nom", first_name="", last_name="")
    files = {
        end: make_file(nameless, oriented_days_ago=100, contract=(-100, end), last_name=f"Fin{end + 10}")
        for end in (-1, 0, 1, 2)
    }
    tricky = make_file(nameless, oriented_days_ago=100, contract=(-100, -3), last_name='<b>O\'Brien</b> & "fils"')
    client.force_login(team.supervisor)
    html = client.get(ALERTS, {"referent": nameless.pk}).content.decode()
    rows = {
        re.search(r">([^<]*(?:&lt;|FIN)[^<]*)</a>", row).group(1): row
        for row in re.findall(r"<tr>\s*<th scope=\"row\">.*?</tr>", html, re.S)
    }
    assert len(rows) == 5
    said = {name: " ".join(re.sub(r"<[^>]+>", " ", row).split()) for name, row in rows.items()}
    assert "<strong>1 jour</strong>" in rows[f"FIN9 {files[-1].first_name}"]
    assert "aujourd'hui" in said[f"FIN10 {files[0].first_name}"]
    assert (
        "dans 1 jour" in said[f"FIN11 {files[1].first_name}"] and "1 jours" not in said[f"FIN11 {files[1].first_name}"]
    )
    assert "dans 2 jours" in said[f"FIN12 {files[2].first_name}"]
    name = f"&lt;B&gt;O&#x27;BRIEN&lt;/B&gt; &amp; &quot;FILS&quot; {tricky.first_name}"
    assert name in rows and "<b>" not in html
    assert all("sans-nom" in row for row in said.values())
    assert all(reverse("casework:file_detail", args=[file.public_id]) in html for file in [*files.values(), tricky])


@pytest.mark.parametrize("number", ["99999999999999999999", "abc", "-1", "0", "1.5", ""])
def test_a_hostile_page_number_shows_a_page_of_alerts(client, team, number):
    client.force_login(team.supervisor)
    response = client.get(ALERTS, {"page": number})
    assert response.status_code == 200 and "7 alertes" in response.content.decode()


# --- The demo (last: its data stays until the end of the module) -------------------------------------


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock(), transaction.atomic():
        call_command("seed_demo", stdout=io.StringIO())
        yield
        transaction.set_rollback(True)


def test_superviseur_nord_sees_every_indicator_on_the_demo(demo, client):
    supervisor = User.objects.get(username="superviseur.nord")
    client.force_login(supervisor)

    response = client.get(DASHBOARD)

    assert response.status_code == 200
    (table,) = team_table(supervisor, [supervisor.active_memberships[0].structure], Deadlines.current())
    assert all(table.total.counts[key] > 0 for key in (FILES, *WARNINGS)), table.total.counts
    html = response.content.decode()
    assert html.count('role="img"') == 3 and "<svg" in html
    assert client.get(ALERTS).status_code == 200


def test_referente_nord_cannot_open_the_dashboard_on_the_demo(demo, client):
    client.force_login(User.objects.get(username="referente.nord"))

    assert client.get(DASHBOARD).status_code == 403
    assert client.get(ALERTS).status_code == 403
