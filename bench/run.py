"""`make bench SCALE=small|department|national`: fill a benchmark database, measure, report.

    DATABASE_URL=postgres:///postgres make bench SCALE=small

1. Creates `parcours_bench_<scale>` on the PostgreSQL server of DATABASE_URL (nothing is written to the
   database DATABASE_URL names), migrates it and fills it (bench/fill.py; an existing complete fill of
   the same scale is kept: `REFILL=1` starts again).
2. Measures each page warm, with repetitions taken in turn (bench/measure.py: median, 95th percentile, SQL
   statements, floor), then an export of the audit trail and an import, each in a child process (rows/s,
   peak memory) against PostgreSQL's own COPY of the same rows.
3. Writes bench/results/<scale>.json and the tables and chart of docs/performance.md (bench/report.py).
4. Fails (exit 1) when a page's statement count depends on the data: the same page for a small and a
   large caseload or file, and the same page at another scale whose results are in bench/results/.

With `BASE=<rev>` (`--base`), step 2 measures this tree's pages and those of the commit <rev>, their
requests alternated on the same fill (bench/compare.py), without floors; the jobs are this tree's. The
results go to bench/results/compare-<scale>.json and docs/performance.md, with the budget's verdict on each
page (bench/budget.py); step 4 checks this tree's statement counts.
"""

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
SETTINGS = "config.settings.bench"
# What a run writes (the results, the generated part of the docs): not a modification of the code measured.
OUTPUTS = ("bench/results", "docs/performance.md", "docs/performance-growth.svg")
# bench.fill.SCALES (checked by tests/bench/test_report.py), known before Django is set up.
SCALE_NAMES = ("small", "department", "national")
# Repetitions of each page (after the warm-up requests) by scale.
REPS = {"tiny": 5, "small": 15, "department": 30, "national": 30}
# Rows of the export and of the import by scale (the issue: 1,000,000 and 100,000 at department scale).
EXPORT_ROWS = {"tiny": 1_000, "small": 100_000, "department": 1_000_000, "national": 1_000_000}
IMPORT_ROWS = {"tiny": 200, "small": 10_000, "department": 100_000, "national": 100_000}


def fail(message: str, code: int = 2) -> None:
    print(f"make bench : {message}", file=sys.stderr)
    sys.exit(code)


def bench_database_url(url: str, scale: str) -> tuple[str, str]:
    """The URL of the benchmark database on the same server, and the server's maintenance URL."""
    parts = urlsplit(url)
    if parts.scheme not in ("postgres", "postgresql", "pgsql"):
        fail(
            "le banc d'essai mesure PostgreSQL ; DATABASE_URL doit désigner un serveur PostgreSQL, par exemple "
            "DATABASE_URL=postgres:///postgres make bench SCALE=small "
            f"(DATABASE_URL vaut {url or 'rien'})."
        )
    return urlunsplit(parts._replace(path=f"/parcours_bench_{scale}")), url


def ensure_database(admin_url: str, name: str) -> None:
    import psycopg

    try:
        with psycopg.connect(admin_url, autocommit=True) as connection:
            exists = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
            if not exists:
                connection.execute(f'CREATE DATABASE "{name}"')
                print(f"Base {name} créée.")
    except psycopg.OperationalError as error:
        fail(f"PostgreSQL ne répond pas à {admin_url} : {error}")


def machine() -> dict:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        memory_kib = next(
            int(line.split()[1])
            for line in Path("/proc/meminfo").read_text().splitlines()
            if line.startswith("MemTotal")
        )
    except (OSError, StopIteration):
        memory_kib = 0
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": round(memory_kib / 1024 / 1024, 1),
        "system": platform.platform(),
        "python": platform.python_version(),
    }


def commit() -> str:
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],  # noqa: S607
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(  # noqa: S603 (a constant command)
            # The benchmark's own outputs do not count (a run after another has rewritten them).
            ["git", "status", "--porcelain", "--untracked-files=no", "--", ".", *(f":!{path}" for path in OUTPUTS)],  # noqa: S607
            cwd=ROOT,
            capture_output=True,
            text=True,
        ).stdout
        return head + ("+modifications" if dirty.strip() else "")
    except (OSError, subprocess.CalledProcessError):
        return "inconnu"


def child(mode: str, argument: str) -> dict:
    """Run `python -m bench.run --child-<mode> <argument>` on the benchmark database; its JSON answer."""
    completed = subprocess.run(  # noqa: S603 (our own module, no shell)
        [sys.executable, "-m", "bench.run", f"--child-{mode}", argument],
        cwd=ROOT,
        env=os.environ.copy(),
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode:
        raise RuntimeError(f"{mode} a échoué :\n{completed.stderr[-4000:]}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", default="small")
    parser.add_argument("--refill", action="store_true", help="Remplir de nouveau la base du banc d'essai.")
    parser.add_argument("--reps", type=int, help="Répétitions par page (défaut selon l'échelle).")
    parser.add_argument("--skip-jobs", action="store_true", help="Ni export ni import (pages seulement).")
    parser.add_argument("--no-report", action="store_true", help="Ne pas réécrire docs/performance.md.")
    parser.add_argument(
        "--base",
        help="Révision git à laquelle comparer cet arbre, pages alternées dans la même série (bench/compare.py).",
    )
    parser.add_argument("--child-export", help=argparse.SUPPRESS)
    parser.add_argument("--child-import", help=argparse.SUPPRESS)
    options = parser.parse_args()

    if options.child_export or options.child_import:
        _setup_django()
        from bench import jobs

        result = (
            jobs.write_export(int(options.child_export))
            if options.child_export
            else jobs.run_import(options.child_import)
        )
        print(json.dumps(result))
        return

    scale = options.scale
    if scale not in SCALE_NAMES:
        fail(f"échelle inconnue {scale!r} ; choisir parmi {', '.join(SCALE_NAMES)}.")
    url, admin_url = bench_database_url(os.environ.get("DATABASE_URL", ""), scale)
    ensure_database(admin_url, f"parcours_bench_{scale}")
    os.environ["DATABASE_URL"] = url
    os.environ["DJANGO_SETTINGS_MODULE"] = SETTINGS
    os.environ.pop("CELERY_BROKER_URL", None)  # the jobs are measured in child processes, not a worker

    started = time.perf_counter()
    print(f"Migration de parcours_bench_{scale}…", flush=True)
    subprocess.run([sys.executable, "manage.py", "migrate", "--no-input", "-v", "0"], cwd=ROOT, check=True)  # noqa: S603
    _setup_django()
    from bench import pages
    from bench.fill import fill

    print(f"Remplissage ({scale})…", flush=True)
    meta = fill(scale, refill=options.refill)
    print(f"Données : {json.dumps(meta.get('counts', {}), ensure_ascii=False)}", flush=True)

    reps = options.reps or REPS.get(scale, 20)
    if options.base:
        _compare(options, meta, reps, started)
        return
    # As a web worker does once the application is loaded (config/wsgi.py).
    from config.process import settle

    settle()
    results = pages.measure_all(meta, reps=reps)
    job_results = {} if options.skip_jobs else _jobs(scale)
    report = {
        "scale": scale,
        "date": _now(),
        "commit": commit(),
        "command": f"DATABASE_URL=postgres:///postgres make bench SCALE={scale}",
        "machine": _machine_and_server(),
        "data": meta.get("counts", {}),
        "fill_seconds": meta.get("duration_seconds"),
        "reps": reps,
        "pages": [result.as_dict() for result in results],
        "jobs": job_results,
        "duration_seconds": round(time.perf_counter() - started, 1),
    }
    path = _write(f"{scale}.json", report)
    print(f"Résultats : {path.relative_to(ROOT)}")

    from bench.report import print_table

    print_table(report)
    if not options.no_report and scale != "tiny":
        _write_docs()
    _check_query_counts(report)
    print(f"\nBanc d'essai terminé en {time.perf_counter() - started:.0f} s.")


def _compare(options: argparse.Namespace, meta: dict, reps: int, started: float) -> None:
    """`--base <rev>`: this tree's pages and <rev>'s, alternated (bench/compare.py), then this tree's jobs."""
    from django.db import connection
    from django.utils import timezone

    from bench import compare, pages

    scale = options.scale
    plan = pages.plan(meta)
    connection.close()  # the parent holds no connection while the trees are measured
    try:
        with compare.base_tree(options.base) as base:
            new = compare.Tree(label="new", root=ROOT, python=sys.executable, commit=commit())
            print(
                f"Pages : {len(plan['pages'])}, {compare.WARM} tours de chauffe puis {reps} tours, les arbres "
                f"alternés : {base.commit} (base, {base.root}) et {new.commit} (nouveau)…",
                flush=True,
            )
            measuring = time.perf_counter()
            writing_started = timezone.now()
            try:
                measured = compare.measure_trees(plan, [base, new], reps=reps)
            finally:
                pages.remove_written(plan, writing_started)
            print(f"Pages mesurées en {time.perf_counter() - measuring:.0f} s.", flush=True)
    except compare.CompareError as error:
        fail(str(error), 1)
    rows = compare.page_rows(plan["pages"], measured)
    job_results = {} if options.skip_jobs else _jobs(scale)
    report = {
        "scale": scale,
        "date": _now(),
        "command": f"DATABASE_URL=postgres:///postgres make bench SCALE={scale} BASE={options.base}",
        "base": {"rev": options.base, "commit": base.commit, "django": measured["base"]["django"]},
        "new": {"commit": new.commit, "django": measured["new"]["django"]},
        "machine": _machine_and_server(),
        "data": meta.get("counts", {}),
        "warm": compare.WARM,
        "reps": reps,
        "pages": rows,
        "jobs": job_results,
        "duration_seconds": round(time.perf_counter() - started, 1),
    }
    path = _write(f"compare-{scale}.json", report)
    print(f"Résultats : {path.relative_to(ROOT)}")
    compare.print_table(rows)
    missed = [row["name"] for row in rows if not row["met"]]
    print(f"\nBudget des pages : {'tenu' if not missed else 'dépassé par ' + ', '.join(missed)}.")
    if not options.no_report and scale != "tiny":
        _write_docs()
    _check_query_counts({"scale": scale, "pages": [{"name": row["name"], **row["new"]} for row in rows]})
    print(f"\nComparaison terminée en {time.perf_counter() - started:.0f} s.")


def _jobs(scale: str) -> dict:
    from bench import jobs

    results = {"export": jobs.measure_export(EXPORT_ROWS[scale], child)}
    print(_job_line("export", results["export"]), flush=True)
    results["import"] = jobs.measure_import(IMPORT_ROWS[scale], child)
    print(_job_line("import", results["import"]), flush=True)
    return results


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")


def _machine_and_server() -> dict:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('server_version'), current_setting('shared_buffers')")
        server_version, shared_buffers = cursor.fetchone()
    return machine() | {"postgresql": server_version, "shared_buffers": shared_buffers}


def _write(name: str, report: dict) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / name
    path.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    return path


def _write_docs() -> None:
    from bench.report import write_docs

    write_docs()
    print("docs/performance.md et docs/performance-growth.svg mis à jour.")


def _check_query_counts(report: dict) -> None:
    """Exit 1 when a page's statement count depends on the data (bench/report.py)."""
    from bench.report import check_query_counts

    problems = check_query_counts(report)
    if problems:
        print("\nÉCHEC : le nombre de requêtes dépend des données :", file=sys.stderr)
        for problem in problems:
            print(f"  - {problem}", file=sys.stderr)
        sys.exit(1)


def _job_line(name: str, result: dict) -> str:
    return (
        f"{name} : {result['rows']} lignes en {result['seconds']:.1f} s ({result['rows_per_second']:,.0f} lignes/s), "
        f"COPY {result['copy_rows_per_second']:,.0f} lignes/s (ratio {result['copy_ratio']:.2f}), "
        f"mémoire de pointe {result['peak_mib']:.0f} Mio"
    )


def _setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", SETTINGS)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


if __name__ == "__main__":
    main()
