"""The supervisors' figures: the team's dashboard, its charts and its alerts (issue 6).

Everything here reads pathway data (assignments, orientations, contracts, appointments, the files'
last activity), never the audit trail: the CNIL forbids using access traces to judge staff.

Scope: the structures the user supervises today (`team.permissions.supervised_structures`), and within them only the
files the permission layer lets the user read (`team_files`: `visible_beneficiaries` ∩ those structures,
written by casework.permissions.visible_in_structures).
The conditions themselves live in casework.querysets (`warning_conditions`), shared with the caseload's
"alerte" filter, so that a figure and the list its link opens always agree. The deadlines are the
Département's (`CaseworkSettings`, edited by a department admin), read once per request (`Deadlines`).

Each function below runs a fixed number of aggregate queries, whatever the number of referents and files:
- `team_table`: the referents of the structures (1), the counts per structure and referent (1), and the
  referents who still hold files but no longer work there (1, only if there are such files);
- `files_by_track` (1), `monthly_flows` (2: entries, exits);
- `team_alerts`: one UNION ALL of a SELECT per condition, sliced by the paginator (1), counted by
  `team_alert_count` (1), then the files of the page (1, `alert_page`).
"""

import datetime
from collections.abc import Callable
from dataclasses import dataclass, field

from django.db.models import (
    CharField,
    Count,
    DateField,
    Exists,
    F,
    Func,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Coalesce, TruncDate, TruncMonth
from django.utils import timezone

from accounts.models import Membership, Role, Structure, User
from casework.models import Beneficiary, Orientation, ReferentAssignment
from casework.permissions import visible_in_structures
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
    missed_appointments,
    warning_aliases,
    warning_conditions,
)
from team.models import CaseworkSettings

FILES = "dossiers"  # the column of files with support ongoing, beside the indicators
MONTHS_SHOWN = 12


@dataclass(frozen=True)
class Warning:
    """An indicator of the dashboard: its key (casework.querysets), its label with the Département's
    deadline in it, and whether it is something late to act on (listed on the alerts page)."""

    key: str
    label: Callable[[CaseworkSettings], str]
    is_alert: bool


WARNINGS = {
    warning.key: warning
    for warning in (
        Warning(NEW, lambda s: f"Nouveaux dossiers (moins de {s.new_files_days} jours)", False),
        Warning(INACTIVE_WARNING, lambda s: f"Sans activité depuis {s.inactivity_warning_months} mois", True),
        Warning(INACTIVE_ALERT, lambda s: f"Sans activité depuis {s.inactivity_alert_months} mois", True),
        Warning(AWAITING_ORIENTATION, lambda s: "En attente d'orientation", False),
        Warning(
            ORIENTATION_LATE,
            lambda s: f"Non orientés {s.orientation_delay_days} jours après l'entrée au RSA",
            True,
        ),
        Warning(CONTRACT_LATE, lambda s: f"Orientés sans contrat après {s.contract_delay_days} jours", True),
        Warning(CONTRACT_EXPIRED, lambda s: "Contrat échu", True),
        Warning(CONTRACT_EXPIRING, lambda s: f"Contrat à échéance dans les {s.contract_expiring_days} jours", True),
        Warning(
            MISSED_APPOINTMENT,
            lambda s: f"Rendez-vous manqué dans les {s.missed_appointments_days} derniers jours",
            True,
        ),
    )
}
ALERTS = tuple(warning for warning in WARNINGS.values() if warning.is_alert)


# --- Scope -------------------------------------------------------------------------------------------


def team_files(user: User, structures: list[Structure]) -> QuerySet[Beneficiary]:
    """The files of these structures that the user may read (support ongoing or ended)."""
    return visible_in_structures(user, structures)


# --- The dashboard's table -----------------------------------------------------------------------------


@dataclass
class TeamRow:
    """One referent of a structure (or the structure's total): files with support ongoing and the
    count of each indicator. `is_member`: the referent works in the structure today (a referent who
    left still holds files until a supervisor reassigns them)."""

    structure: Structure
    referent: User | None
    counts: dict[str, int]
    is_member: bool = True
    is_total: bool = False

    @property
    def files(self) -> int:
        return self.counts[FILES]


@dataclass
class StructureTable:
    structure: Structure
    rows: list[TeamRow]
    total: TeamRow


def _empty_counts() -> dict[str, int]:
    return {FILES: 0, **{key: 0 for key in WARNINGS}}


NO_TRACK = "sans_orientation"  # the key of the files with no orientation in force, beside the tracks


@dataclass
class TeamCounts:
    """What the one grouped query over the team's files returns (`team_counts`).

    - `by_referent`: (structure id, referent id) → files with support ongoing and each indicator;
    - `holders`: the people holding those files (names from the same query: no query for a former referent);
    - `tracks`: files with support ongoing by the track of their orientation in force (NO_TRACK: none);
    - `exits`: supports ended in each of the months of `month_starts`, oldest first.
    """

    by_referent: dict[tuple[int, int | None], dict[str, int]]
    holders: dict[int, User]
    tracks: dict[str, int]
    exits: list[int]


def _with_team_aliases(files: QuerySet[Beneficiary]) -> QuerySet[Beneficiary]:
    """`warning_aliases`, and the track of the orientation in force (the file's `orientation_track`, ""
    when there is none), which the dashboard counts files by."""
    return files.alias(**warning_aliases(), track=F("orientation_track"))


def team_counts(
    user: User, structures: list[Structure], deadlines: Deadlines, files: QuerySet[Beneficiary] | None = None
) -> TeamCounts:
    """Every figure of the dashboard but the entries, in ONE grouped query with conditional aggregates
    (`COUNT(*) FILTER (WHERE ...)` on PostgreSQL): per structure and referent, the files with support
    ongoing, each indicator (`warning_conditions`, as the alerts and the caseload's "alerte" filter), the
    tracks of the orientations in force and the supports ended in each of the last 12 months. `files`:
    `team_files(user, structures)`, when the caller has built it already."""
    conditions = warning_conditions(deadlines)
    months = month_starts(deadlines.today)
    ongoing = Q(is_active=True)
    ends = [*months[1:], deadlines.today + datetime.timedelta(days=1)]  # exits up to today included
    figures = {
        FILES: Count("pk", filter=ongoing),
        **{key: Count("pk", filter=ongoing & conditions[key]) for key in WARNINGS},
        **{f"track_{track}": Count("pk", filter=ongoing & Q(track=track)) for track in Orientation.Track.values},
        f"track_{NO_TRACK}": Count("pk", filter=ongoing & Q(track="")),
        **{
            f"exits_{index}": Count(
                "pk", filter=Q(is_active=False, support_ended_on__gte=start, support_ended_on__lt=end)
            )
            for index, (start, end) in enumerate(zip(months, ends, strict=True))
        },
    }
    if files is None:
        files = team_files(user, structures)
    files = files.filter(ongoing | Q(is_active=False, support_ended_on__gte=months[0], support_ended_on__lt=ends[-1]))
    rows = (
        _with_team_aliases(files)
        .values(
            "current_structure",
            "current_referent",
            "current_referent__username",
            "current_referent__first_name",
            "current_referent__last_name",
        )
        .annotate(**figures)
        .order_by()
    )
    counts = TeamCounts(
        by_referent={},
        holders={},
        tracks=dict.fromkeys([*Orientation.Track.values, NO_TRACK], 0),
        exits=[0] * len(months),
    )
    for row in rows:
        referent_id = row["current_referent"]
        counts.by_referent[(row["current_structure"], referent_id)] = {key: row[key] for key in (FILES, *WARNINGS)}
        if referent_id is not None:
            counts.holders[referent_id] = User(
                pk=referent_id,
                username=row["current_referent__username"],
                first_name=row["current_referent__first_name"],
                last_name=row["current_referent__last_name"],
            )
        for track in counts.tracks:
            counts.tracks[track] += row[f"track_{track}"]
        for index in range(len(months)):
            counts.exits[index] += row[f"exits_{index}"]
    return counts


def team_table(
    user: User, structures: list[Structure], deadlines: Deadlines, counts: TeamCounts | None = None
) -> list[StructureTable]:
    """One table per supervised structure: a row per referent working there today (files or not), a row
    per former referent still holding files there (support ongoing), and the total. One query for the
    referents, beside `team_counts` (run here when not given)."""
    if counts is None:
        counts = team_counts(user, structures, deadlines)
    members = (
        Membership.objects.active(on=deadlines.today)
        .filter(structure__in=structures, role=Role.REFERENT, user__is_active=True)
        .select_related("user")
    )
    referents = {(m.structure_id, m.user_id): m.user for m in members}

    tables = []
    for structure in structures:
        rows = []
        for (structure_id, referent_id), referent in referents.items():
            if structure_id == structure.pk:
                rows.append(
                    TeamRow(structure, referent, counts.by_referent.get((structure_id, referent_id), _empty_counts()))
                )
        # Files may still be held by someone who no longer works in the structure (left, or only a supervisor).
        for (structure_id, referent_id), row_counts in counts.by_referent.items():
            if structure_id == structure.pk and (structure_id, referent_id) not in referents and row_counts[FILES]:
                rows.append(TeamRow(structure, counts.holders.get(referent_id), row_counts, is_member=False))
        rows.sort(key=_referent_order)
        total = _empty_counts()
        for row in rows:
            for key, value in row.counts.items():
                total[key] += value
        tables.append(StructureTable(structure, rows, TeamRow(structure, None, total, is_total=True)))
    return tables


def _referent_order(row: TeamRow):
    referent = row.referent
    if referent is None:
        return (1, "", "", 0)
    return (0, referent.last_name.lower(), referent.first_name.lower(), referent.pk)


# --- The charts' figures ---------------------------------------------------------------------------------


def files_by_track(counts: TeamCounts) -> list[tuple[str, int]]:
    """Files with support ongoing by the track of their orientation in force (then the files not oriented)."""
    figures = [(label, counts.tracks[track]) for track, label in Orientation.Track.choices]
    figures.append(("Sans orientation en vigueur", counts.tracks[NO_TRACK]))
    return figures


@dataclass
class MonthFlow:
    month: datetime.date  # the first day of the month
    entries: int = 0
    exits: int = 0


def month_starts(today: datetime.date, count: int = MONTHS_SHOWN) -> list[datetime.date]:
    """The first days of the last `count` months, this one included, oldest first."""
    index = today.year * 12 + today.month - 1
    return [datetime.date((index - back) // 12, (index - back) % 12 + 1, 1) for back in range(count - 1, -1, -1)]


def monthly_flows(
    user: User,
    structures: list[Structure],
    deadlines: Deadlines,
    counts: TeamCounts | None = None,
    files: QuerySet[Beneficiary] | None = None,
) -> list[MonthFlow]:
    """Entries into and exits from the team, month by month over the last 12 months.

    - entry: a file is assigned to a referent of one of the structures for the first time (its first
      assignment in that structure: a handover between colleagues is not an entry);
    - exit: the support of a file of the structures ended (`support_ended_on`, from `team_counts`).
    Counted among the files the user may read today. One query (the entries), beside `team_counts`.
    `files`: `team_files(user, structures)`, when the caller has built it already.
    """
    if files is None:
        files = team_files(user, structures)
    if counts is None:
        counts = team_counts(user, structures, deadlines, files)
    months = month_starts(deadlines.today)
    flows = {month: MonthFlow(month, exits=exits) for month, exits in zip(months, counts.exits, strict=True)}
    earlier_in_structure = ReferentAssignment.objects.filter(
        beneficiary=OuterRef("beneficiary"), structure=OuterRef("structure"), started_at__lt=OuterRef("started_at")
    )
    # From midnight (local time) on the first day shown: a range on the column, which an index serves.
    since = timezone.make_aware(datetime.datetime.combine(months[0], datetime.time.min))
    entries = (
        ReferentAssignment.objects.filter(
            beneficiary__in=files.values("pk"), structure__in=structures, started_at__gte=since
        )
        .filter(~Exists(earlier_in_structure))
        .annotate(month=TruncMonth("started_at"))
        .values("month")
        .annotate(count=Count("pk"))
        .order_by()
    )
    for row in entries:
        month = _as_date(row["month"])
        if month in flows:
            flows[month].entries = row["count"]
    return list(flows.values())


def _as_date(value) -> datetime.date:
    return value.date() if isinstance(value, datetime.datetime) else value


# --- Alerts ----------------------------------------------------------------------------------------------


class _PlusDays(Func):
    """date + n days: a date, on PostgreSQL."""

    output_field = DateField()

    def as_sql(self, compiler, connection, **extra_context):
        (day_sql, day_params), (days_sql, days_params) = (compiler.compile(e) for e in self.source_expressions)
        return f"({day_sql} + CAST({days_sql} AS integer))", (*day_params, *days_params)

    def as_sqlite(self, compiler, connection, **extra_context):
        # SQLite (`make run` on a laptop): its date() modifiers.
        (day_sql, day_params), (days_sql, days_params) = (compiler.compile(e) for e in self.source_expressions)
        return f"date({day_sql}, '+' || CAST({days_sql} AS integer) || ' days')", (*day_params, *days_params)


class _PlusMonths(Func):
    """date + n months: the month's last day when the day does not exist (PostgreSQL's interval rules)."""

    output_field = DateField()

    def as_sql(self, compiler, connection, **extra_context):
        (day_sql, day_params), (months_sql, months_params) = (compiler.compile(e) for e in self.source_expressions)
        sql = f"CAST({day_sql} + make_interval(months => CAST({months_sql} AS integer)) AS date)"
        return sql, (*day_params, *months_params)

    def as_sqlite(self, compiler, connection, **extra_context):
        # SQLite (`make run` on a laptop): a day the month lacks rolls over (31 Jan + 1 month = 3 Mar)
        # where PostgreSQL keeps the month's last day; a laptop's demo can live with it.
        (day_sql, day_params), (months_sql, months_params) = (compiler.compile(e) for e in self.source_expressions)
        return f"date({day_sql}, '+' || CAST({months_sql} AS integer) || ' months')", (*day_params, *months_params)


def _last_activity_day():
    return TruncDate("last_seen_at")


def alert_deadlines(deadlines: Deadlines) -> dict[str, object]:
    """For each alert, the day the file was due (the deadline, as an SQL expression on warning_aliases)."""
    settings = deadlines.settings
    return {
        ORIENTATION_LATE: _PlusDays(F("entered_on"), Value(settings.orientation_delay_days)),
        CONTRACT_LATE: _PlusDays(F("oriented_on"), Value(settings.contract_delay_days)),
        CONTRACT_EXPIRED: F("latest_contract_end"),
        CONTRACT_EXPIRING: F("latest_contract_end"),
        INACTIVE_WARNING: _PlusMonths(_last_activity_day(), Value(settings.inactivity_warning_months)),
        INACTIVE_ALERT: _PlusMonths(_last_activity_day(), Value(settings.inactivity_alert_months)),
        MISSED_APPOINTMENT: TruncDate(
            Subquery(missed_appointments(deadlines).order_by("-scheduled_at").values("scheduled_at")[:1])
        ),
    }


_TIE_BREAK = ("kind", "file_last_name", "file_first_name", "file_id")
# Sort orders of the alerts list: label and ORDER BY on the union's columns.
ALERT_SORTS = {
    "urgence": ("Les plus en retard d'abord", ("due", *_TIE_BREAK)),
    "-echeance": ("Échéance la plus récente d'abord", ("-due", *_TIE_BREAK)),
    "referent": (
        "Par référent·e, puis les plus en retard",
        ("referent_last_name", "referent_first_name", "referent_id", "due", "kind", "file_id"),
    ),
}
DEFAULT_ALERT_SORT = "urgence"


def _alert_files(
    user: User, structures: list[Structure], deadlines: Deadlines, *, kinds: list[str] | None, referent: User | None
) -> tuple[QuerySet[Beneficiary], list[tuple[str, Q]]]:
    """The team's files the alerts look at, and the condition of each alert asked for. A file without
    activity for the longer threshold is under that alert, not also under the shorter one."""
    conditions = warning_conditions(deadlines)
    files = team_files(user, structures).filter(is_active=True).alias(**warning_aliases())
    if referent is not None:
        files = files.filter(current_referent=referent)
    selected = []
    for warning in ALERTS:
        if kinds and warning.key not in kinds:
            continue
        condition = conditions[warning.key]
        if warning.key == INACTIVE_WARNING:
            condition &= ~conditions[INACTIVE_ALERT]
        selected.append((warning.key, condition))
    return files, selected


def team_alerts(
    user: User,
    structures: list[Structure],
    deadlines: Deadlines,
    *,
    kinds: list[str] | None = None,
    referent: User | None = None,
    sort: str = DEFAULT_ALERT_SORT,
) -> QuerySet:
    """One row per (file, alert): (file_id, kind, due, referent names, file names), as one UNION ALL query."""
    due = alert_deadlines(deadlines)
    files, selected = _alert_files(user, structures, deadlines, kinds=kinds, referent=referent)
    parts = [
        # Annotations only, in the same order in every part, so that the UNION's columns line up.
        files.filter(condition)
        .annotate(
            file_id=F("pk"),
            kind=Value(key, output_field=CharField()),
            due=due[key],
            referent_id=F("current_referent"),
            referent_last_name=Coalesce(F("current_referent__last_name"), Value("")),
            referent_first_name=Coalesce(F("current_referent__first_name"), Value("")),
            file_last_name=F("last_name"),
            file_first_name=F("first_name"),
        )
        .values_list(
            "file_id",
            "kind",
            "due",
            "referent_id",
            "referent_last_name",
            "referent_first_name",
            "file_last_name",
            "file_first_name",
        )
        .order_by()
        for key, condition in selected
    ]
    if not parts:
        return Beneficiary.objects.none().values_list("pk")
    union = parts[0].union(*parts[1:], all=True) if len(parts) > 1 else parts[0]
    return union.order_by(*ALERT_SORTS.get(sort, ALERT_SORTS[DEFAULT_ALERT_SORT])[1])


def team_alert_count(
    user: User,
    structures: list[Structure],
    deadlines: Deadlines,
    *,
    kinds: list[str] | None = None,
    referent: User | None = None,
) -> int:
    """How many rows `team_alerts` gives, from one pass over the team's files (a filtered COUNT per
    alert), where counting the union would run the query of every alert once more."""
    files, selected = _alert_files(user, structures, deadlines, kinds=kinds, referent=referent)
    if not selected:
        return 0
    # Grouped by structure as team_counts is (an aggregate() cannot read the conditions' aliases).
    rows = files.values("current_structure").annotate(**{key: Count("pk", filter=c) for key, c in selected})
    return sum(row[key] for row in rows.order_by() for key, _ in selected)


class AlertList:
    """`team_alerts` as Django's Paginator reads it (a sliceable object with `count()`): the page's rows
    sliced from the union, their number from `team_alert_count`, one scan of the team's files where
    counting the union would run it a second time (40 ms at department scale, docs/performance.md)."""

    def __init__(
        self,
        user: User,
        structures: list[Structure],
        deadlines: Deadlines,
        *,
        kinds: list[str] | None = None,
        referent: User | None = None,
        sort: str = DEFAULT_ALERT_SORT,
    ) -> None:
        self.team = (user, structures, deadlines)
        self.filters = {"kinds": kinds, "referent": referent}
        self.rows = team_alerts(*self.team, **self.filters, sort=sort)

    def count(self) -> int:
        return team_alert_count(*self.team, **self.filters)

    def __getitem__(self, index: slice) -> list:
        return self.rows[index]


@dataclass
class AlertRow:
    beneficiary: Beneficiary
    kind: str
    label: str
    due: datetime.date
    days_overdue: int  # negative: days left (a contract about to expire)

    @property
    def days_left(self) -> int:
        return -self.days_overdue


# What the alerts' page and export show of a file (team.views.dashboard): its other columns, and its
# referent's and structure's, would be ~300 values a page to convert for nothing.
ALERT_FILE_COLUMNS = (
    "public_id",
    "last_name",
    "first_name",
    "organism",
    "allocataire_number",
    "current_referent__first_name",
    "current_referent__last_name",
    "current_referent__username",
    "current_structure__name",
    "current_structure__is_sensitive",
)


def alert_page(rows, deadlines: Deadlines) -> list[AlertRow]:
    """The rows of a page of `team_alerts` with their files (one query, whatever the page's length)."""
    rows = list(rows)
    files = (
        Beneficiary.objects.filter(pk__in={row[0] for row in rows})
        .select_related("current_referent", "current_structure")
        .only(*ALERT_FILE_COLUMNS)
    )
    by_id = {file.pk: file for file in files}
    settings = deadlines.settings
    return [
        AlertRow(
            beneficiary=by_id[file_id],
            kind=kind,
            label=WARNINGS[kind].label(settings),
            due=due,
            days_overdue=(deadlines.today - due).days,
        )
        for file_id, kind, due, *_ in rows
        if file_id in by_id
    ]


@dataclass
class Dashboard:
    """Everything the dashboard page and its export show."""

    deadlines: Deadlines
    structures: list[Structure]
    tables: list[StructureTable]
    tracks: list[tuple[str, int]] = field(default_factory=list)
    flows: list[MonthFlow] = field(default_factory=list)

    @property
    def file_count(self) -> int:
        return sum(table.total.files for table in self.tables)

    @property
    def labels(self) -> dict[str, str]:
        settings = self.deadlines.settings
        return {key: warning.label(settings) for key, warning in WARNINGS.items()}


def team_dashboard(user: User, structures: list[Structure], deadlines: Deadlines) -> Dashboard:
    """The dashboard's figures in three queries: `team_counts`, the referents, the entries (the team's
    files, the permission scope, built once for both)."""
    files = team_files(user, structures)
    counts = team_counts(user, structures, deadlines, files)
    return Dashboard(
        deadlines=deadlines,
        structures=structures,
        tables=team_table(user, structures, deadlines, counts),
        tracks=files_by_track(counts),
        flows=monthly_flows(user, structures, deadlines, counts, files),
    )
