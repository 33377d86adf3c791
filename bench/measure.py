"""Measuring one page: server time (median, 95th percentile), SQL statements, and the floor.

A page is requested through Django's test client in this process, with the benchmark settings
(DEBUG off, the production middleware, the audit trail, ATOMIC_REQUESTS): the time is the server's,
from the request entering the middleware to the response leaving it, without a network or a WSGI
server (the load test, bench/load.py, measures those).

- **Warm**: a few requests of each page first (connections open, templates compiled, caches and
  PostgreSQL's buffers filled), then `reps` timed requests of each, none of them with query capture.
- **Interleaved**: the timed requests go round the pages, one request of each page per round, rather
  than one page's `reps` requests in a row: the host's speed drifts for seconds at a time (the same code
  on the same data gave medians 30 % apart from one run to the next), and a slow stretch then weighs on
  every page a little rather than on the one page it fell on. The floors' replays go round the same way.
- **Statements**: one more request with the statements captured. SAVEPOINT/RELEASE are not counted
  (transaction bookkeeping, and absent from production's requests).
- **Floor**: the statements that read or write the page's own data (not the session, the user and
  their memberships, the header's unread count or the audit trail's two statements: every page pays
  those, docs/performance.md), replayed on their own with `EXPLAIN (ANALYZE, FORMAT JSON)`, planning
  plus execution time summed, median of a few replays, inside a transaction that is rolled back (a
  write page's INSERT is replayed and undone). "page / floor" says how much of the page is the
  database's unavoidable work.
"""

import json
import re
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from bench.probe import Rollback, counted

# Statements every page pays, whatever it shows (not part of its floor).
INFRASTRUCTURE = (
    re.compile(r'^(SELECT|UPDATE|INSERT INTO|DELETE FROM) "django_session"'),
    re.compile(r'^SELECT "accounts_user"\."id", "accounts_user"\."password"'),
    re.compile(r'^SELECT "accounts_membership"\."id"'),
    re.compile(r'^SELECT COUNT\(\*\) AS "__count" FROM "casework_notification"'),
    re.compile(r'FROM "casework_auditevent" WHERE \("casework_auditevent"\."chain_day"'),
    re.compile(r'^INSERT INTO "casework_auditevent"'),
    re.compile(r"^SELECT .*pg_advisory_xact_lock"),
)
CURSOR = re.compile(r'^DECLARE "[^"]+" NO SCROLL CURSOR (WITH(OUT)? HOLD )?FOR ', re.IGNORECASE)


@dataclass
class Result:
    name: str
    persona: str
    description: str
    reps: int
    times_ms: list[float] = field(default_factory=list)
    queries: int = 0
    essential: int = 0
    floor_ms: float = 0.0
    slowest_sql: str = ""
    slowest_ms: float = 0.0
    status: int = 0
    kind: str = "page"

    @property
    def median_ms(self) -> float:
        return statistics.median(self.times_ms)

    @property
    def p95_ms(self) -> float:
        ordered = sorted(self.times_ms)
        return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]

    def as_dict(self) -> dict:
        return {
            "name": self.name,
            "kind": self.kind,
            "persona": self.persona,
            "description": self.description,
            "reps": self.reps,
            "status": self.status,
            "median_ms": round(self.median_ms, 2),
            "p95_ms": round(self.p95_ms, 2),
            "queries": self.queries,
            "essential_queries": self.essential,
            "floor_ms": round(self.floor_ms, 2),
            "ratio": round(self.median_ms / self.floor_ms, 2) if self.floor_ms else None,
            "slowest_ms": round(self.slowest_ms, 2),
            "slowest_sql": self.slowest_sql[:400],
        }


def essential(statements: list[str]) -> list[str]:
    """The statements of the page's own data (see the module docstring)."""
    found = []
    for sql in statements:
        sql = CURSOR.sub("", sql)
        if sql.startswith(("SET ", "SHOW ")) or any(pattern.search(sql) for pattern in INFRASTRUCTURE):
            continue
        found.append(sql)
    return found


def explain_ms(sql: str) -> float:
    """Planning + execution time of one statement run by PostgreSQL on its own (EXPLAIN ANALYZE)."""
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}")
        plan = cursor.fetchone()[0]
    if isinstance(plan, str):
        plan = json.loads(plan)
    return plan[0]["Planning Time"] + plan[0]["Execution Time"]


def _replay(statements: list[str]) -> dict[str, float]:
    """Each statement's planning + execution time, replayed in order inside a transaction rolled back."""
    spent: dict[str, float] = {}
    try:
        with transaction.atomic():
            for sql in statements:
                spent[sql] = spent.get(sql, 0.0) + explain_ms(sql)
            raise Rollback
    except Rollback:
        pass
    return spent


@dataclass
class Page:
    """A page to measure: `request` is a call of the test client returning a response."""

    name: str
    persona: str
    description: str
    request: Callable[[], object]
    ok: tuple[int, ...] = (200,)
    writes: bool = False


def measure(pages: list[Page], *, reps: int, warm: int = 3, replays: int = 5) -> list[Result]:
    """Time each page (interleaved, see the module docstring), count its statements, find its floor (the
    median over `replays` rounds of its statements' summed times; its slowest statement by median)."""
    results = [Result(name=page.name, persona=page.persona, description=page.description, reps=reps) for page in pages]
    for page in pages:
        for _ in range(warm):
            _check(page.name, page.request(), page.ok)
    for _ in range(reps):
        for page, result in zip(pages, results, strict=True):
            started = time.perf_counter()
            response = page.request()
            result.times_ms.append((time.perf_counter() - started) * 1000)
            _check(page.name, response, page.ok)
            result.status = response.status_code
    owns = []
    for page, result in zip(pages, results, strict=True):
        statements = counted(_captured(page))
        result.queries = len(statements)
        owns.append(essential(statements))
        result.essential = len(owns[-1])
    totals: list[list[float]] = [[] for _ in pages]
    times: list[dict[str, list[float]]] = [{} for _ in pages]
    for _ in range(replays):
        for index, own in enumerate(owns):
            spent = _replay(own)
            totals[index].append(sum(spent.values()))
            for sql, ms in spent.items():
                times[index].setdefault(sql, []).append(ms)
    for result, total, by_statement in zip(results, totals, times, strict=True):
        if by_statement:
            result.floor_ms = statistics.median(total)
            result.slowest_sql, spent = max(by_statement.items(), key=lambda item: statistics.median(item[1]))
            result.slowest_ms = statistics.median(spent)
    return results


def _captured(page: Page) -> list[dict]:
    """The statements of one more request of the page (a write page's is rolled back, so that its
    statements can be replayed)."""
    try:
        with transaction.atomic():
            with CaptureQueriesContext(connection) as captured:
                response = page.request()
            _check(page.name, response, page.ok)
            if page.writes:
                raise Rollback
    except Rollback:
        pass
    return captured.captured_queries


def _check(name: str, response, ok: tuple[int, ...]) -> None:
    if response.status_code not in ok:
        raise RuntimeError(f"{name}: HTTP {response.status_code} (attendu {ok}).")
