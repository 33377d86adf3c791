"""`make bench BASE=<rev>` and `make loadtest BASE=<rev>` (bench/compare.py, bench/load.py): the order in
which the trees are measured, each page's figures and verdict, the report. Pure functions, no database;
the probe's requests on a filled database: tests/bench/test_fill.py."""

import ast
import json
import sys
from pathlib import Path

import pytest

from bench import compare, load, probe, report


def test_the_trees_take_turns_going_first():
    assert compare.alternation(4) == [("base", "new"), ("new", "base"), ("base", "new"), ("new", "base")]
    # The load test's three pairs: A B, B A, A B.
    flat = [label for pair in compare.alternation(3, ("A", "B")) for label in pair]
    assert "".join(flat) == "ABBAAB"
    assert compare.alternation(0) == []


@pytest.mark.parametrize("rounds", [2, 10, 30])
def test_over_an_even_number_of_rounds_each_tree_goes_first_as_often_as_second(rounds):
    firsts = [order[0] for order in compare.alternation(rounds)]
    assert firsts.count("base") == firsts.count("new") == rounds // 2


def test_the_probe_imports_only_django_config_and_the_standard_library():
    """It runs in the tree before a change, whose bench/ is another (or absent)."""
    tree = ast.parse(Path(probe.__file__).read_text())
    modules = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            modules.add(node.module.split(".")[0])
    assert modules - set(sys.stdlib_module_names) == {"django", "config"}


def measured(base_times, new_times, base_queries, new_queries):
    return {
        "base": {"times_ms": base_times, "queries": base_queries},
        "new": {"times_ms": new_times, "queries": new_queries},
    }


PAGES = [
    {"name": "fichier.gros", "persona": "referent", "description": "Page d'un dossier de 500 événements"},
    {"name": "audit.recherche", "persona": "auditor", "description": "Journal d'audit"},
]


def test_each_page_gets_both_medians_their_ratio_and_the_verdict():
    rows = compare.page_rows(
        PAGES,
        measured(
            [[30.0, 32.0, 31.0], [100.0, 110.0, 90.0]],
            [[50.0, 55.0, 52.0], [120.0, 118.0, 200.0]],
            [9, 10],
            [10, 10],
        ),
    )
    big, audit = rows
    assert big["base"] == {"median_ms": 31.0, "p95_ms": 32.0, "queries": 9}
    assert big["new"]["median_ms"] == 52.0 and big["new"]["queries"] == 10
    assert big["ratio"] == pytest.approx(1.677, abs=0.001)
    # 68 % slower, but under the file page's bound of 60 ms.
    assert (big["met"], big["rule"], big["allowed_ms"], big["bound_ms"]) == (True, "borne", 60, 60)
    # No bound: 120 ms against 100 ms is 20 % slower.
    assert (audit["met"], audit["rule"], audit["allowed_ms"], audit["bound_ms"]) == (False, "+15 %", 115, None)


def comparison(rows, **extra):
    return {
        "scale": "department",
        "date": "2026-12-08T12:00:00+00:00",
        "command": "DATABASE_URL=postgres:///postgres make bench SCALE=department BASE=5463d61",
        "base": {"rev": "5463d61", "commit": "5463d61", "django": "5.2.9"},
        "new": {"commit": "abc1234", "django": "5.2.9"},
        "machine": {"cpu": "CPU", "cores": 2, "memory_gib": 24, "python": "3.11", "postgresql": "15.2"},
        "warm": 3,
        "reps": 30,
        "pages": rows,
        "jobs": {},
        "duration_seconds": 300,
    } | extra


def test_the_comparison_s_section_gives_each_page_and_the_jobs_verdicts():
    rows = compare.page_rows(PAGES, measured([[31.0], [100.0]], [[52.0], [120.0]], [9, 10], [10, 10]))
    jobs = {"export": {"copy_ratio": 0.62}, "import": {"rows": 100_000, "seconds": 61.5}}
    text = "\n".join(report.compare_section(comparison(rows, jobs=jobs)))
    assert "### Budget : `abc1234` contre `5463d61` (échelle `department`)" in text
    assert "budget dépassé : audit.recherche" in text
    assert (
        "| Page d'un dossier de 500 événements (`fichier.gros`) | 31,0 ms | 52,0 ms | 1,68 × | ≤ 60,0 ms (borne) "
        "| tenu | 9 → 10 |"
    ) in text
    assert (
        "| Journal d'audit (`audit.recherche`) | 100,0 ms | 120,0 ms | 1,20 × | ≤ 115,0 ms (+15 %) | **dépassé** |"
        in text
    )
    assert "| export : ≥ 50,0 % du débit de COPY | 62,0 % | tenu |" in text
    assert "| import de 100\u202f000 lignes < 60,0 s | 61,5 s | **dépassé** |" in text
    assert "indicatifs" not in text
    small = "\n".join(report.compare_section(comparison(rows, scale="small")))
    assert "Le budget vaut à l'échelle `department` : ici, les verdicts sont indicatifs." in small


def run(tree, pair, p95, *, errors=0):
    return {
        "tree": tree,
        "pair": pair,
        "commit": "5463d61" if tree == "base" else "abc1234",
        "p50_ms": p95 / 4,
        "p95_ms": p95,
        "requests_per_second": 40.0,
        "errors": errors,
    }


def test_the_load_test_sums_up_each_tree_s_runs_against_the_budget():
    runs = [run("base", 1, 300), run("new", 1, 320), run("new", 2, 500), run("base", 2, 340), run("base", 3, 330)]
    runs.append(run("new", 3, 360))
    summary = load.summary(runs)
    assert summary["trees"]["base"] == {
        "runs": 3,
        "errors": 0,
        "p50_ms": 82.5,
        "p95_ms": 330,
        "requests_per_second": 40,
    }
    assert summary["trees"]["new"]["p95_ms"] == 360
    assert (summary["allowed_p95_ms"], summary["met"]) == (379.5, True)
    runs[1]["errors"] = 2
    assert load.summary(runs)["met"] is False


def test_the_docs_show_the_comparisons_first(tmp_path, monkeypatch):
    monkeypatch.setattr(report, "RESULTS", tmp_path)
    monkeypatch.setattr(report, "DOC", tmp_path / "performance.md")
    monkeypatch.setattr(report, "CHART", tmp_path / "performance-growth.svg")
    rows = compare.page_rows(PAGES, measured([[31.0], [100.0]], [[52.0], [110.0]], [9, 10], [9, 10]))
    (tmp_path / "compare-department.json").write_text(json.dumps(comparison(rows)))
    runs = [run("base", 1, 300), run("new", 1, 320)]
    load_comparison = {
        "scale": "department",
        "date": "2026-12-08T12:00:00+00:00",
        "command": "make loadtest BASE=5463d61",
        "users": 50,
        "duration_seconds": 60,
        "server": "3 workers sync",
        "base": {"rev": "5463d61", "commit": "5463d61"},
        "new": {"commit": "abc1234"},
        "summary": load.summary(runs),
        "runs": runs,
    }
    (tmp_path / "load-compare-department.json").write_text(json.dumps(load_comparison))
    report.write_docs()
    text = report.DOC.read_text()
    assert "Pages : **budget tenu**." in text
    assert "### Test de charge : `abc1234` contre `5463d61` (échelle `department`)" in text
    assert "Budget (aucune erreur, p95 ≤ 345,0 ms, +15 % de la base) : tenu." in text
    assert "| `5463d61` (médianes) | 1 | 75,0 ms | 300,0 ms | 40,0 | 0 |" in text
    assert "| 1 | `abc1234` | 80,0 ms | 320,0 ms | 40,0 | 0 |" in text
