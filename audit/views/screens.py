"""The auditor's screens: search of the audit trail, the events around one, and a file's access report.

- `audit_events`: the auditor (DPO) searches the whole trail (audit.filters.AuditEventFilterSet)
  and may ask for an export of what they found (posted to `audit_exports`, written in the background).
- `audit_event_detail`: one event whole, and the events just before and after it for the same user
  and for the same file.
- `access_report` and `access_report_export`: "who accessed this file, when and why", for the DPO
  answering a beneficiary's request and for the supervisors of the file's structure. Trail data only:
  nothing of the file's content, and no figure about the staff (the CNIL forbids reusing access traces
  to judge people's work): the list of accesses, nothing else.

Each of these reads is itself recorded by audit.trail.AuditMiddleware (VIEW_AUDIT, ACCESS_REPORT):
the views only say what it was about (the filters are added by the middleware, the count here).

Query plans (EXPLAIN ANALYZE on PostgreSQL, 20,000 events over 90 days, 40 users, 400 files; issue 8's
figures on 2,000,000 events), a page being `ORDER BY occurred_at DESC, id DESC LIMIT 50` over the ids
(BoundedCountPaginator):
- no filter: Index Scan Backward on the occurred_at index, Incremental Sort for the id tie-break,
  Limit; the page's 50 rows by primary key, their file by its primary key (select_related). 0.7 ms.
  The count stops at 10,001 rows (Index Only Scan, 3 ms); the exact COUNT(*) it replaces read the
  whole table (Parallel Index Only Scan of 2 million entries, 75 ms, 155 ms under EXPLAIN ANALYZE).
  Page 200 (OFFSET 9,950) reads 10,000 index entries for their ids only: ~5 ms (it was 70 ms with
  every skipped row joined to its file, 9 s at OFFSET 500,000 before the count was bounded);
- a period (du/au): the same scan with `Index Cond: occurred_at >= ... AND occurred_at < ...`, and the
  COUNT an Index Scan on it (0.5 ms for 1,336 rows);
- a user: the name is turned into the user's id first (AuditEventFilterSet.filter_user), then
  `actor_id = ...`: a rare user is a Bitmap Index Scan on audit_actor_when; a user with many events is
  read along the occurred_at index with a Filter on actor_id, the planner's cheaper choice for 50 rows;
- a file (and the access report): Bitmap Index Scan on audit_beneficiary_when (or the beneficiary
  foreign-key index), then a Sort of that file's events (44 rows: 0.3 ms);
- actions: `action IN (...)` on the index (action, occurred_at) (migration 0013): a rare action, or
  one never used (emergency_access), is an Index Only Scan for the count and an Index Scan Backward
  for the page (the count was a Parallel Seq Scan of the table, ~370 ms); a frequent one is read along
  the occurred_at index with a Filter;
- structure, object type and id are Filters on the rows these indexes bring: they narrow a period, a
  user, a file or an action, they are not meant to be searched alone over a year of traces (alone, a
  rare value still reads the table to count it).
"""

import csv
import datetime
import json

from django.conf import settings
from django.core.paginator import Page, Paginator
from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import Min
from django.http import QueryDict, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.functional import cached_property
from django.views.decorators.http import require_safe

from accounts.models import Role, Structure
from audit.filters import AROUND_COUNT, AuditPeriodFilterSet, around, audit_event_filterset
from audit.models import AuditEvent
from audit.permissions import (
    access_report_events,
    check_reads_audit_trail,
    get_access_report_beneficiary_or_404,
    reads_audit_trail,
    visible_audit_events,
)
from audit.trail import audit_annotate, response_label, screen_name
from casework.models import Beneficiary
from core.csv import csv_cell

EVENTS_PAGE_SIZE = 50
# The search counts the events it found up to this many; beyond, it says "more than" (and pages through
# these first ones, the most recent). A period, a user, a file or an action gives the exact figure.
EVENTS_COUNT_LIMIT = 10_000
REPORT_PAGE_SIZE = 100
CSV_CHUNK_SIZE = 2000

EXPORT_FORMATS = [("csv", "CSV (tableur)"), ("jsonl", "JSON Lines")]

# A spreadsheet runs a cell starting with one of these as a formula (CSV injection): such cells are
# written with a leading quote, which shows the text as typed.
ROLE_LABELS = dict(Role.choices)


def _role_labels(codes: str) -> str:
    """The roles an event kept (codes, ", "-separated) as French labels."""
    return ", ".join(ROLE_LABELS.get(code, code) for code in codes.split(", ") if code)


def _structure_labels(user):
    """A function giving, for an event's structure names, what this user may read of them.

    Auditors read every name; anybody else (a supervisor reading a report) reads a sensitive structure's
    name only if they work there, as everywhere in the app (Structure.label_for). One query.
    """
    if reads_audit_trail(user):
        return lambda names: names
    own = {membership.structure.name for membership in user.active_memberships}
    hidden = set(Structure.objects.filter(is_sensitive=True).exclude(name__in=own).values_list("name", flat=True))

    def labels(names: str) -> str:
        return ", ".join(Structure.NEUTRAL_LABEL if name in hidden else name for name in names.split(", ") if name)

    return labels


def _prepare(events, structure_labels=None) -> None:
    """What the rows show beside the stored fields (no query)."""
    for event in events:
        event.role_labels = _role_labels(event.actor_roles)
        event.structure_labels = (
            structure_labels(event.actor_structures) if structure_labels else event.actor_structures
        )
        event.is_emergency = event.action == AuditEvent.Action.EMERGENCY_ACCESS
        event.refused = event.status_code is not None and event.status_code in (403, 404)
        event.screen_label = screen_name(event.url_name)
        event.response_label = response_label(event.status_code)


class BoundedCountPaginator(Paginator):
    """A Paginator that counts no further than `count_limit` and reads only the page's rows.

    - The count is `SELECT COUNT(*) FROM (SELECT id ... LIMIT count_limit + 1)`: an exact COUNT(*) of the
      whole trail reads every row (2 million: ~75 ms on each view of the page), to print a figure nobody
      pages through. Up to the limit the figure is exact (`count_is_exact`); beyond, `count` is the limit
      and the pages stop there (200 pages of 50).
    - A page is `WHERE id IN (SELECT id ... ORDER BY ... LIMIT 50 OFFSET n)`: the skipped rows are read in
      the index only, not joined to their file (page 200: 70 ms -> a few ms).

    For model querysets whose ordering ends with the primary key (a total order).
    """

    def __init__(self, object_list, per_page, *, count_limit: int, **kwargs):
        super().__init__(object_list, per_page, **kwargs)
        self.count_limit = count_limit

    @cached_property
    def _bounded_count(self) -> int:
        return self.object_list.order_by().values("pk")[: self.count_limit + 1].count()

    @cached_property
    def count(self) -> int:
        return min(self._bounded_count, self.count_limit)

    @property
    def count_is_exact(self) -> bool:
        return self._bounded_count <= self.count_limit

    def page(self, number):
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        top = min(bottom + self.per_page, self.count)
        ids = self.object_list.values("pk")[bottom:top]
        return Page(self.object_list.filter(pk__in=ids), number, self)


def _page_range(page):
    return page.paginator.get_elided_page_range(page.number, on_each_side=2, on_ends=1)


@require_safe
def audit_events(request):
    user = request.user
    check_reads_audit_trail(user)
    events = visible_audit_events(user).select_related("beneficiary").order_by("-occurred_at", "-pk")
    filterset = audit_event_filterset(request.GET, events)
    # Strict, as django-filter's FilterView: an invalid filter shows nothing (and says why at the field)
    # rather than more events than asked for.
    filters_valid = filterset.is_valid()
    paginator = BoundedCountPaginator(
        filterset.qs if filters_valid else events.none(), EVENTS_PAGE_SIZE, count_limit=EVENTS_COUNT_LIMIT
    )
    page = paginator.get_page(request.GET.get("page"))
    _prepare(page)
    # The trail keeps the filters (added by the middleware) and how many events answered, never which:
    # beyond the limit, "at least this many".
    details = (
        {"count": paginator.count} if paginator.count_is_exact else {"count": paginator.count, "count_exact": False}
    )
    audit_annotate(request, details=details)
    context = {
        "filterset": filterset,
        "filters_valid": filters_valid,
        "narrowed": bool(filters_valid and filterset.filters_used()),
        "page_obj": page,
        "page_range": _page_range(page),
        "count_is_exact": paginator.count_is_exact,
        # "10 000" (grouped as French writes it): exact, or the limit when there are more.
        "count_label": number_format(paginator.count, force_grouping=True),
        "export_filters": filterset.filters_used() if filters_valid else {},
        "export_formats": EXPORT_FORMATS,
    }
    return render(request, "audit/events.html", context)


@require_safe
def audit_event_detail(request, event_id: int):
    user = request.user
    check_reads_audit_trail(user)
    events = visible_audit_events(user)
    event = get_object_or_404(events.select_related("beneficiary", "actor"), pk=event_id)
    audit_annotate(request, object_type="audit_event", object_id=event.pk)
    neighbours = events.select_related("beneficiary")
    by_actor = around(event, neighbours.filter(actor_id=event.actor_id)) if event.actor_id else ([], [])
    by_file = (
        around(event, neighbours.filter(beneficiary_id=event.beneficiary_id)) if event.beneficiary_id else ([], [])
    )
    # Each list in time order, the event itself in its place between the ones before and after it.
    actor_events = [*by_actor[0], event, *by_actor[1]] if event.actor_id else []
    file_events = [*by_file[0], event, *by_file[1]] if event.beneficiary_id else []
    _prepare([event, *actor_events, *file_events])
    context = {
        "event": event,
        "details_json": json.dumps(event.details, cls=DjangoJSONEncoder, indent=2, ensure_ascii=False, sort_keys=True),
        "actor_events": actor_events,
        "file_events": file_events,
        "around_count": AROUND_COUNT,
    }
    return render(request, "audit/event_detail.html", context)


def _access_report_events(request, beneficiary: Beneficiary, produced_at: datetime.datetime):
    """The report's events (newest first) and its bound period filter."""
    events = (
        access_report_events(request.user, beneficiary)
        # What had happened when the report was produced: the report's own trace comes after it.
        .filter(occurred_at__lte=produced_at)
        .select_related("actor")
        .order_by("-occurred_at", "-pk")
    )
    filterset = AuditPeriodFilterSet(request.GET, queryset=events)
    return filterset, (filterset.qs if filterset.is_valid() else events.none())


@require_safe
def access_report(request, public_id):
    user = request.user
    beneficiary = get_access_report_beneficiary_or_404(user, public_id)
    produced_at = timezone.now()
    filterset, events = _access_report_events(request, beneficiary, produced_at)
    page = Paginator(events, REPORT_PAGE_SIZE).get_page(request.GET.get("page"))
    _prepare(page, _structure_labels(user))
    audit_annotate(request, beneficiary=beneficiary, details={"count": page.paginator.count})

    filters_valid = filterset.is_valid()
    period_start = filterset.form.cleaned_data.get("du") if filters_valid else None
    period_end = filterset.form.cleaned_data.get("au") if filters_valid else None
    first_event_at = events.aggregate(first=Min("occurred_at"))["first"] if page.paginator.count else None
    # The CSV holds the whole report for the same period (all pages).
    period = QueryDict(mutable=True)
    for key in AuditPeriodFilterSet.base_filters:
        if filters_valid and request.GET.get(key):
            period[key] = request.GET[key]
    export_url = reverse("audit:access_report_export", args=[beneficiary.public_id])
    export_url += f"?{period.urlencode()}" if period else ""
    context = {
        "file": beneficiary,
        "filterset": filterset,
        "filters_valid": filters_valid,
        "page_obj": page,
        "page_range": _page_range(page),
        "produced_at": produced_at,
        "period_start": period_start or (timezone.localtime(first_event_at).date() if first_event_at else None),
        "period_end": period_end or timezone.localdate(produced_at),
        "retention_months": settings.AUDIT_RETENTION_MONTHS,
        "export_url": export_url,
    }
    return render(request, "audit/access_report.html", context)


class _Echo:
    """A file-like object whose write gives back what it was given (csv.writer into a stream)."""

    def write(self, value):
        return value


ACCESS_REPORT_HEADER = [
    "Date et heure",
    "Identifiant",
    "Nom",
    "Structures à ce moment",
    "Rôles à ce moment",
    "Action",
    "Motif",
    "Adresse IP",
    "Réponse",
    "Écran",
]


def _access_report_rows(events, structure_labels):
    yield ACCESS_REPORT_HEADER
    for event in events.iterator(chunk_size=CSV_CHUNK_SIZE):
        yield [
            timezone.localtime(event.occurred_at).strftime("%d/%m/%Y %H:%M:%S"),
            event.actor_username,
            event.actor.get_full_name() if event.actor else "",
            structure_labels(event.actor_structures),
            _role_labels(event.actor_roles),
            event.get_action_display(),
            event.reason,
            event.ip_address or "",
            response_label(event.status_code),
            screen_name(event.url_name),
        ]


@require_safe
def access_report_export(request, public_id):
    user = request.user
    beneficiary = get_access_report_beneficiary_or_404(user, public_id)
    produced_at = timezone.now()
    filterset, events = _access_report_events(request, beneficiary, produced_at)
    if not filterset.is_valid():
        # The page says which filter is wrong, at the field.
        return redirect(reverse("audit:access_report", args=[beneficiary.public_id]) + "?" + request.GET.urlencode())
    audit_annotate(request, beneficiary=beneficiary, details={"count": events.count(), "format": "csv"})
    writer = csv.writer(_Echo(), delimiter=";")
    structure_labels = _structure_labels(user)
    # UTF-8 with a byte order mark and ";" between cells: what French spreadsheets open as they are.
    lines = (
        writer.writerow([csv_cell(cell) for cell in row]) for row in _access_report_rows(events, structure_labels)
    )
    response = StreamingHttpResponse(_with_bom(lines), content_type="text/csv; charset=utf-8")
    file_name = f"acces-{beneficiary.allocataire_number}-{timezone.localdate(produced_at):%Y-%m-%d}.csv"
    response["Content-Disposition"] = f'attachment; filename="{file_name}"'
    response["Cache-Control"] = "no-store"
    return response


def _with_bom(lines):
    yield "\ufeff"
    yield from lines
