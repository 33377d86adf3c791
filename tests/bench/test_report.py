"""The benchmark's report and checks (bench/report.py, bench/measure.py): pure functions, no database.
The comparison's report: tests/bench/test_compare.py."""

import json
import xml.etree.ElementTree as ET

import pytest

from bench import measure, report


def page(name, *, queries=9, median=20.0, floor=10.0):
    return {
        "name": name,
        "kind": "page",
        "persona": "referent",
        "description": name,
        "reps": 5,
        "status": 200,
        "median_ms": median,
        "p95_ms": median * 1.2,
        "queries": queries,
        "essential_queries": 2,
        "floor_ms": floor,
        "ratio": round(median / floor, 2) if floor else None,
        "slowest_ms": floor / 2,
        "slowest_sql": "SELECT 1",
    }


def run_report(scale, pages, **extra):
    return {
        "scale": scale,
        "date": "2026-12-04T12:00:00+00:00",
        "commit": "abc1234",
        "command": f"make bench SCALE={scale}",
        "machine": {
            "cpu": "CPU",
            "cores": 2,
            "memory_gib": 24,
            "system": "Linux",
            "python": "3.11",
            "postgresql": "15.2",
            "shared_buffers": "128MB",
        },
        "data": {"beneficiaries": report.FILES[scale]},
        "fill_seconds": 10,
        "reps": 5,
        "pages": pages,
        "jobs": {},
        "duration_seconds": 60,
    } | extra


@pytest.fixture
def results(tmp_path, monkeypatch):
    monkeypatch.setattr(report, "RESULTS", tmp_path / "results")
    monkeypatch.setattr(report, "DOC", tmp_path / "performance.md")
    monkeypatch.setattr(report, "CHART", tmp_path / "performance-growth.svg")
    (tmp_path / "results").mkdir()

    def save(data, name=None):
        (tmp_path / "results" / f"{name or data['scale']}.json").write_text(json.dumps(data))

    return save


def test_the_same_page_on_more_data_may_not_send_more_statements(results):
    ok = run_report("small", [page("fichier.gros", queries=9), page("fichier.moyen", queries=9)])
    assert report.check_query_counts(ok) == []
    fewer = run_report("small", [page("fichier.gros", queries=7), page("fichier.moyen", queries=9)])
    assert report.check_query_counts(fewer) == []
    grown = run_report("small", [page("fichier.gros", queries=14), page("fichier.moyen", queries=9)])
    assert report.check_query_counts(grown) == ["fichier.gros : 14 requêtes, plus que fichier.moyen : 9"]


def test_a_page_must_send_as_many_statements_at_every_scale(results):
    results(run_report("department", [page("tableau.equipe", queries=11)]))
    assert report.check_query_counts(run_report("small", [page("tableau.equipe", queries=11)])) == []
    problems = report.check_query_counts(run_report("small", [page("tableau.equipe", queries=10)]))
    assert problems == [
        "tableau.equipe : 10 requêtes à l'échelle small, 11 à l'échelle department (bench/results/department.json)"
    ]


def test_the_rest_is_the_median_less_the_floor_and_the_base_of_the_run():
    department = run_report(
        "department", [page("accueil", median=6, floor=0.5), page("tableau.equipe", median=80, floor=30)]
    )
    base = report.base_ms(department)
    assert base == 6
    assert report.rest_ms(department["pages"][1], base) == 44
    assert report.rest_ms(department["pages"][0], base) is None
    # A run without the base page has no rest.
    alone = run_report("department", [page("tableau.equipe", median=80, floor=30)])
    assert report.rest_ms(alone["pages"][0], report.base_ms(alone)) is None


def test_the_docs_keep_their_prose_and_get_tables_and_a_chart(results):
    report.DOC.write_text(f"# Performance\n\nTexte écrit à la main.\n\n{report.START}\nancien\n{report.END}\n\nFin.\n")
    results(run_report("small", [page("liste.referent.premiere", median=12.5), page("fichier.gros", median=30)]))
    results(
        run_report(
            "department",
            [
                page("accueil", median=5, floor=0.5),
                page("liste.referent.premiere", median=14, floor=2),
                page("fichier.gros", median=33),
            ],
        )
    )
    report.write_docs()
    text = report.DOC.read_text()
    # The page's rest: its median less its floor and the base (`accueil`) of the run; none for the base.
    assert "| 14,0 ms | 16,8 ms | 9 | 2,0 ms | 7,0 × | 7,0 ms |" in text
    assert "| 5,0 ms | 6,0 ms | 9 | 0,5 ms | 10,0 × | – |" in text
    assert text.startswith("# Performance\n\nTexte écrit à la main.\n\n")
    assert text.endswith(f"{report.END}\n\nFin.\n")
    assert "ancien" not in text
    assert "| `liste.referent.premiere` | 12,5 ms | 14,0 ms |" in text
    assert "![Temps médian des pages selon le nombre de dossiers](performance-growth.svg)" in text
    svg = ET.fromstring(report.CHART.read_text())  # noqa: S314 (our own file) well-formed
    texts = [element.text for element in svg.iter() if element.text]
    assert "12,5" in texts and "33,0" in texts and "fichier.gros" in texts
    # Run again: the generated part is replaced, not appended.
    report.write_docs()
    assert report.DOC.read_text().count(report.START) == 1


def test_the_floor_leaves_out_what_every_page_pays():
    statements = [
        'SELECT "django_session"."session_key" FROM "django_session" WHERE 1',
        'SELECT "accounts_user"."id", "accounts_user"."password" FROM "accounts_user" WHERE id = 1',
        'SELECT "accounts_membership"."id" FROM "accounts_membership"',
        'SELECT COUNT(*) AS "__count" FROM "casework_notification" WHERE 1',
        'SELECT "casework_auditevent"."sequence" FROM "casework_auditevent" '
        'WHERE ("casework_auditevent"."chain_day" = 1',
        'INSERT INTO "casework_auditevent" ("occurred_at") VALUES (1)',
        'UPDATE "django_session" SET "session_data" = 1',
        'SELECT COUNT(*) AS "__count" FROM "casework_beneficiary"',
        'DECLARE "_django_curs_1_sync_2" NO SCROLL CURSOR WITH HOLD FOR SELECT "accounts_structure"."id" FROM x',
        'INSERT INTO "casework_step" ("kind") VALUES (1)',
    ]
    assert measure.essential(statements) == [
        'SELECT COUNT(*) AS "__count" FROM "casework_beneficiary"',
        'SELECT "accounts_structure"."id" FROM x',
        'INSERT INTO "casework_step" ("kind") VALUES (1)',
    ]
    captured = [{"sql": "SAVEPOINT x"}, {"sql": "SELECT 1"}, {"sql": "RELEASE SAVEPOINT x"}]
    assert measure.counted(captured) == ["SELECT 1"]


def test_percentiles_of_a_result():
    result = measure.Result(name="p", persona="r", description="d", reps=20, times_ms=[float(i) for i in range(1, 21)])
    assert result.median_ms == 10.5
    assert result.p95_ms == 19.0


def test_the_runner_knows_the_scales_of_the_fill():
    from bench.fill import SCALES
    from bench.run import SCALE_NAMES

    assert set(SCALE_NAMES) == set(SCALES)
