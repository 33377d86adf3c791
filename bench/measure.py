"""Measuring one page: server time (median, 95th percentile), SQL statements, and the floor.

A page is requested through Django's test client in this process, with the benchmark settings
(DEBUG off, the production middleware, the audit trail, ATOMIC_REQUESTS): the time is the server's,
from the request entering the middleware to the response leaving it, without a network or a WSGI
server (the load test, bench/load.py, measures those).

- **Warm**: a few requests first (connections open, templates compiled, caches and PostgreSQL's
  buffers filled), then `reps` timed requests, none of them with query capture.
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
BOOKKEEPING = re.compile(r"^(SAVEPOINT|RELEASE SAVEPOINT|ROLLBACK TO SAVEPOINT|BEGIN|COMMIT|ROLLBACK)\b")
CURSOR = re.compile(r'^DECLARE "[^"]+" NO SCROLL CURSOR (WITH(OUT)? HOLD )?FOR ', re.IGNORECASE)


class Rollback(Exception):
    pass


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


def counted(captured: list[dict]) -> list[str]:
    """The statements a request sent, without transaction bookkeeping."""
    return [query["sql"] for query in captured if not BOOKKEEPING.match(query["sql"])]


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


def floor(statements: list[str], *, replays: int = 5) -> tuple[float, str, float]:
    """The page's floor (median over replays of the summed statement times), and its slowest statement."""
    totals = []
    slowest: dict[str, list[float]] = {}
    for _ in range(replays):
        total = 0.0
        try:
            with transaction.atomic():
                for sql in statements:
                    spent = explain_ms(sql)
                    slowest.setdefault(sql, []).append(spent)
                    total += spent
                raise Rollback
        except Rollback:
            pass
        totals.append(total)
    if not slowest:
        return 0.0, "", 0.0
    sql, times = max(slowest.items(), key=lambda item: statistics.median(item[1]))
    return statistics.median(totals), sql, statistics.median(times)


def measure(
    name: str,
    persona: str,
    description: str,
    request: Callable[[], object],
    *,
    reps: int,
    warm: int = 3,
    ok: tuple[int, ...] = (200,),
    writes: bool = False,
) -> Result:
    """Time `request` (a call of the test client returning a response), count its statements, find its floor."""
    result = Result(name=name, persona=persona, description=description, reps=reps)
    for _ in range(warm):
        response = request()
        _check(name, response, ok)
    for _ in range(reps):
        started = time.perf_counter()
        response = request()
        result.times_ms.append((time.perf_counter() - started) * 1000)
        _check(name, response, ok)
    result.status = response.status_code
    # The captured request of a write page is rolled back, so that its statements can be replayed.
    try:
        with transaction.atomic():
            with CaptureQueriesContext(connection) as captured:
                response = request()
            _check(name, response, ok)
            if writes:
                raise Rollback
    except Rollback:
        pass
    statements = counted(captured.captured_queries)
    result.queries = len(statements)
    own = essential(statements)
    result.essential = len(own)
    result.floor_ms, result.slowest_sql, result.slowest_ms = floor(own)
    return result


def _check(name: str, response, ok: tuple[int, ...]) -> None:
    if response.status_code not in ok:
        raise RuntimeError(f"{name}: HTTP {response.status_code} (attendu {ok}).")
