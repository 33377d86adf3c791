"""`make loadtest`: locust against the app served by gunicorn on the `department` benchmark database.

    DATABASE_URL=postgres:///postgres make loadtest            # 50 users, 60 s (issue 8)
    DATABASE_URL=postgres:///postgres make loadtest USERS=20 DURATION=30 SCALE=small

The database must have been filled by `make bench SCALE=<scale>` first. gunicorn listens on 127.0.0.1
only (a free port), locust runs headless, bounded in users and time, on the same machine. The results
(requests/s, p50/p95/p99, errors, by request) go to bench/results/load-<scale>.json and
docs/performance.md. Exit 1 if a request failed.

With `BASE=<rev>` (`--base`), the commit <rev> is checked out in a temporary worktree (bench/compare.py)
and both trees are served in turn on the same database, each by its own gunicorn from its own code, in
alternating pairs (`PAIRS=3`: base, new; new, base; base, new), so that the host's drift weighs on both
alike. Each run's p50/p95/requests/s and errors, each tree's medians over its runs and the budget's verdict
(bench/budget.py: no error, the new tree's p95 within +15 % of the base's) go to
bench/results/load-compare-<scale>.json and docs/performance.md. At the department scale, 50 users and 60 s,
three pairs take about 7 minutes.
"""

import argparse
import csv
import datetime
import io
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlencode

from bench import budget
from bench.compare import TREES, CompareError, Tree, alternation, base_tree, tree_env
from bench.run import RESULTS, ROOT, SETTINGS, bench_database_url, commit, fail

# As docs/operations.md deploys it: three sync workers on two cores. The database runs on the same two
# cores and the work is CPU-bound: a fourth worker only adds a process to share them (six alternating runs
# of 60 s: p95 160–280 ms with three workers, 200–330 ms with four; docs/performance.md).
WORKERS = int(os.environ.get("GUNICORN_WORKERS", "3"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_up(url: str, server: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            fail("gunicorn s'est arrêté au démarrage.", 1)
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 (loopback)
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    fail(f"gunicorn ne répond pas sur {url}.", 1)


def _percentile(row: dict, key: str) -> float:
    value = row.get(key, "") or "0"
    return float(value) if value != "N/A" else 0.0


def serve_and_load(tree: Tree, meta: dict, options: argparse.Namespace) -> dict:
    """Serve `tree` with gunicorn and run locust (this tree's users) against it: the run's figures."""
    from bench.fill import PASSWORD

    personas = meta["personas"]
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(  # noqa: S603 (our own command)
        [
            tree.python,
            "-m",
            "gunicorn",
            "config.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(WORKERS),
            "--access-logfile",
            "-",
            "--log-level",
            "warning",
        ],
        cwd=tree.root,
        env=tree_env(tree),
        stdout=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        wait_until_up(f"{base}/connexion/", server)
        with tempfile.TemporaryDirectory() as directory:
            prefix = Path(directory) / "locust"
            locust_env = os.environ | {
                "BENCH_REFERENTS": ",".join(personas["referents"]),
                "BENCH_SUPERVISORS": ",".join(personas["supervisors"]),
                "BENCH_PASSWORD": PASSWORD,
                "BENCH_FILTERS": urlencode(meta["filters"]),
            }
            started = time.perf_counter()
            completed = subprocess.run(  # noqa: S603 (our own command)
                [
                    sys.executable,
                    "-m",
                    "locust",
                    "-f",
                    str(ROOT / "bench" / "locustfile.py"),
                    "--headless",
                    "--users",
                    str(options.users),
                    "--spawn-rate",
                    str(options.spawn_rate),
                    "--run-time",
                    f"{options.duration}s",
                    "--host",
                    base,
                    "--csv",
                    str(prefix),
                    "--only-summary",
                    "--stop-timeout",
                    "10",
                    "--exit-code-on-error",
                    "0",
                ],
                cwd=ROOT,
                env=locust_env,
                capture_output=True,
                text=True,
                check=False,
            )
            elapsed = time.perf_counter() - started
            if completed.returncode:
                print(completed.stderr[-4000:], file=sys.stderr)
                fail("locust a échoué.", 1)
            with open(f"{prefix}_stats.csv", newline="") as handle:
                rows = list(csv.DictReader(handle))
            failures = Path(f"{prefix}_failures.csv").read_text() if Path(f"{prefix}_failures.csv").exists() else ""
            # An exception in a user's code (a refused login in on_start, say) is not a failed request:
            # locust lists it apart, and it counts as an error here.
            exceptions_path = Path(f"{prefix}_exceptions.csv")
            with open(exceptions_path, newline="") if exceptions_path.exists() else io.StringIO() as handle:
                exceptions = list(csv.DictReader(handle))
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)

    total = next(row for row in rows if row["Name"] == "Aggregated")
    endpoints = [
        {
            "name": f"{row['Type']} {row['Name']}",
            "requests": int(row["Request Count"]),
            "errors": int(row["Failure Count"]),
            "p50_ms": _percentile(row, "50%"),
            "p95_ms": _percentile(row, "95%"),
            "p99_ms": _percentile(row, "99%"),
        }
        for row in rows
        if row["Name"] != "Aggregated"
    ]
    return {
        "commit": tree.commit,
        "wall_seconds": round(elapsed, 1),
        "requests": int(total["Request Count"]),
        "errors": int(total["Failure Count"]) + sum(int(row["Count"]) for row in exceptions),
        "requests_per_second": float(total["Requests/s"]),
        "p50_ms": _percentile(total, "50%"),
        "p95_ms": _percentile(total, "95%"),
        "p99_ms": _percentile(total, "99%"),
        "endpoints": endpoints,
        "failures": failures[-2000:],
        "exceptions": [f"{row['Count']} × {row['Message']}" for row in exceptions][:20],
    }


def _line(result: dict) -> str:
    return (
        f"{result['requests']} requêtes, {result['requests_per_second']:.1f}/s, {result['errors']} erreur(s), "
        f"p50 {result['p50_ms']:.0f} ms, p95 {result['p95_ms']:.0f} ms, p99 {result['p99_ms']:.0f} ms"
    )


def summary(runs: list[dict]) -> dict:
    """Each tree's runs summed up (the medians of their figures, their errors added) and the budget's
    verdict: no error, and the new tree's p95 within +15 % of the base's."""
    trees = {}
    for label in TREES:
        mine = [run for run in runs if run["tree"] == label]
        trees[label] = {
            "runs": len(mine),
            "errors": sum(run["errors"] for run in mine),
            **{
                key: round(statistics.median(run[key] for run in mine), 1)
                for key in ("p50_ms", "p95_ms", "requests_per_second")
            },
        }
    verdict = budget.load_verdict(
        [run["p95_ms"] for run in runs if run["tree"] == "base"],
        [run["p95_ms"] for run in runs if run["tree"] == "new"],
        errors=sum(run["errors"] for run in runs),
    )
    return {"trees": trees, "allowed_p95_ms": round(verdict.allowed_ms, 1), "met": verdict.met}


def _compare(options: argparse.Namespace, meta: dict) -> list[dict]:
    """`--base <rev>`: both trees served in turn, `--pairs` times, their order alternated (A B, B A...)."""
    runs = []
    with base_tree(options.base) as base:
        trees = {"base": base, "new": Tree(label="new", root=ROOT, python=sys.executable, commit=commit())}
        for index, order in enumerate(alternation(options.pairs)):
            for label in order:
                result = serve_and_load(trees[label], meta, options)
                runs.append({"tree": label, "pair": index + 1} | result)
                print(f"  paire {index + 1}, {label} ({trees[label].commit}) : {_line(result)}", flush=True)
    return runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", default="department")
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--duration", type=int, default=60, help="secondes")
    parser.add_argument("--spawn-rate", type=float, default=10)
    parser.add_argument("--base", help="Révision git à comparer : les deux arbres servis tour à tour, par paires.")
    parser.add_argument("--pairs", type=int, default=3, help="Paires de runs avec --base (défaut 3).")
    options = parser.parse_args()

    url, _admin = bench_database_url(os.environ.get("DATABASE_URL", ""), options.scale)
    os.environ.update({"DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": SETTINGS})
    os.environ.pop("CELERY_BROKER_URL", None)
    import django

    django.setup()
    from bench.fill import stored_meta

    meta = stored_meta()
    if not meta or meta.get("scale") != options.scale:
        fail(
            f"la base parcours_bench_{options.scale} n'est pas remplie : "
            f"lancer d'abord make bench SCALE={options.scale}."
        )
    from django.db import connection

    connection.close()  # this process holds no connection while the server is measured
    command = (
        f"DATABASE_URL=postgres:///postgres make loadtest SCALE={options.scale} "
        f"USERS={options.users} DURATION={options.duration}"
    )
    common = {
        "scale": options.scale,
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "users": options.users,
        "duration_seconds": options.duration,
        "server": f"{WORKERS} workers sync",
    }
    if options.base:
        try:
            runs = _compare(options, meta)
        except CompareError as error:
            fail(str(error), 1)
        result = common | {
            "command": f"{command} BASE={options.base}",
            "base": {"rev": options.base, "commit": next(run["commit"] for run in runs if run["tree"] == "base")},
            "new": {"commit": commit()},
            "summary": summary(runs),
            "runs": runs,
        }
        path = RESULTS / f"load-compare-{options.scale}.json"
        errors = result["summary"]["trees"]["base"]["errors"] + result["summary"]["trees"]["new"]["errors"]
        failures = [run["failures"] for run in runs if run["failures"]]
        exceptions = [line for run in runs for line in run["exceptions"]]
        for label in TREES:
            tree = result["summary"]["trees"][label]
            print(
                f"{label} : p50 {tree['p50_ms']:.0f} ms, p95 {tree['p95_ms']:.0f} ms, "
                f"{tree['requests_per_second']:.1f} requêtes/s (médianes de {tree['runs']} runs), "
                f"{tree['errors']} erreur(s)"
            )
        print(
            f"Budget du test de charge (p95 ≤ {result['summary']['allowed_p95_ms']:.0f} ms, aucune erreur) : "
            f"{budget.MET if result['summary']['met'] else budget.MISSED}."
        )
    else:
        result = common | {
            "command": command,
            **serve_and_load(Tree(label="new", root=ROOT, python=sys.executable, commit=commit()), meta, options),
        }
        path = RESULTS / f"load-{options.scale}.json"
        errors, failures, exceptions = result["errors"], [result["failures"]], result["exceptions"]
        print(_line(result))
    RESULTS.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    print(f"Résultats : {path.relative_to(ROOT)}")
    if options.scale == "department":
        from bench.report import write_docs

        write_docs()
    if errors:
        print(*failures, *exceptions, sep="\n", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
