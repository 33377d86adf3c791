"""`make loadtest`: locust against the app served by gunicorn on the `department` benchmark database.

    DATABASE_URL=postgres:///postgres make loadtest            # 50 users, 60 s (issue 8)
    DATABASE_URL=postgres:///postgres make loadtest USERS=20 DURATION=30 SCALE=small

The database must have been filled by `make bench SCALE=<scale>` first. gunicorn listens on 127.0.0.1
only (a free port), locust runs headless, bounded in users and time, on the same machine. The results
(requests/s, p50/p95/p99, errors, by request) go to bench/results/load-<scale>.json and
docs/performance.md. Exit 1 if a request failed.
"""

import argparse
import csv
import datetime
import io
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlencode

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", default="department")
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--duration", type=int, default=60, help="secondes")
    parser.add_argument("--spawn-rate", type=float, default=10)
    options = parser.parse_args()

    url, _admin = bench_database_url(os.environ.get("DATABASE_URL", ""), options.scale)
    env = os.environ.copy() | {"DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": SETTINGS}
    env.pop("CELERY_BROKER_URL", None)
    os.environ.update({"DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": SETTINGS})
    import django

    django.setup()
    from bench.fill import PASSWORD, stored_meta

    meta = stored_meta()
    if not meta or meta.get("scale") != options.scale:
        fail(
            f"la base parcours_bench_{options.scale} n'est pas remplie : "
            f"lancer d'abord make bench SCALE={options.scale}."
        )
    personas = meta["personas"]
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(  # noqa: S603 (our own command)
        [
            sys.executable,
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
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        wait_until_up(f"{base}/connexion/", server)
        with tempfile.TemporaryDirectory() as directory:
            prefix = Path(directory) / "locust"
            locust_env = env | {
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
    result = {
        "scale": options.scale,
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "commit": commit(),
        "command": f"DATABASE_URL=postgres:///postgres make loadtest SCALE={options.scale} "
        f"USERS={options.users} DURATION={options.duration}",
        "users": options.users,
        "duration_seconds": options.duration,
        "wall_seconds": round(elapsed, 1),
        "server": f"{WORKERS} workers sync",
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
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"load-{options.scale}.json"
    path.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    print(
        f"{result['requests']} requêtes, {result['requests_per_second']:.1f}/s, {result['errors']} erreur(s), "
        f"p50 {result['p50_ms']:.0f} ms, p95 {result['p95_ms']:.0f} ms, p99 {result['p99_ms']:.0f} ms "
        f"-> {path.relative_to(ROOT)}"
    )
    if options.scale == "department":
        from bench.report import write_docs

        write_docs()
    if result["errors"]:
        print(failures, *result["exceptions"], sep="\n", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
