"""What the audit trail adds to a file page: time and SQL queries, with and without AuditMiddleware.

Run against a database holding the demo data (or any data), never in production:

    DATABASE_URL=postgres:///parcours_measure .venv/bin/python bench/audit_middleware.py [--runs 200]

It signs in as the demo referent, opens the same file page `runs` times with the middleware and
`runs` times without it (interleaved, warm), and prints the median and 95th percentile of each and the
number of queries of one request. The events it writes stay in the trail (they are real reads).
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.dev")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client, override_settings  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.urls import reverse  # noqa: E402

from accounts.models import User  # noqa: E402
from casework.permissions import visible_beneficiaries  # noqa: E402

AUDIT = "audit.trail.AuditMiddleware"


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--username", default="referente.nord")
    args = parser.parse_args()
    if settings.PRODUCTION:
        sys.exit("Refusé : ce banc d'essai écrit dans le journal d'audit ; jamais en production.")

    user = User.objects.get(username=args.username)
    file = visible_beneficiaries(user).order_by("pk").first()
    url = reverse("casework:file_detail", args=[file.public_id])
    # A client's handler builds its middleware chain on its first request and keeps it: one client
    # each, the second one built without the audit middleware.
    clients = {"with": Client(HTTP_USER_AGENT="bench/audit_middleware")}
    with override_settings(MIDDLEWARE=[name for name in settings.MIDDLEWARE if name != AUDIT]):
        clients["without"] = Client(HTTP_USER_AGENT="bench/audit_middleware")
        clients["without"].force_login(user)
        clients["without"].get(url)
    clients["with"].force_login(user)

    def one(label: str) -> tuple[float, int]:
        connection.queries_log.clear()  # a full log would make the count wrong
        with CaptureQueriesContext(connection) as queries:
            start = time.perf_counter()
            response = clients[label].get(url)
            elapsed = time.perf_counter() - start
        if response.status_code != 200:
            sys.exit(f"The file page answered {response.status_code}.")
        return elapsed * 1000, len(queries)

    for _ in range(20):  # warm-up: templates, connection, caches
        one("with")
        one("without")
    times = {"with": [], "without": []}
    queries = {}
    for _ in range(args.runs):
        for label in ("with", "without"):
            elapsed, count = one(label)
            times[label].append(elapsed)
            queries[label] = count

    print(f"File page {url} as {args.username}, {args.runs} runs each, database {connection.vendor}")
    for label in ("without", "with"):
        values = times[label]
        print(
            f"  {label:>7} AuditMiddleware: median {statistics.median(values):6.2f} ms, "
            f"p95 {percentile(values, 0.95):6.2f} ms, {queries[label]} queries"
        )
    added = statistics.median(times["with"]) - statistics.median(times["without"])
    print(f"  overhead: {added:+.2f} ms (median), {queries['with'] - queries['without']:+d} queries")


if __name__ == "__main__":
    main()
