"""The benchmark's report and checks (bench/report.py, bench/measure.py): pure functions, no database."""

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


def test_a_pair_of_the_same_page_must_send_as_many_statements(results):
    ok = run_report("small", [page("fichier.gros", queries=9), page("fichier.moyen", queries=9)])
    assert report.check_query_counts(ok) == []
    grown = run_report("small", [page("fichier.gros", queries=14), page("fichier.moyen", queries=9)])
    assert report.check_query_counts(grown) == ["fichier.gros : 14 requêtes, fichier.moyen : 9"]


def test_a_page_must_send_as_many_statements_at_every_scale(results):
    results(run_report("department", [page("tableau.equipe", queries=11)]))
    assert report.check_query_counts(run_report("small", [page("tableau.equipe", queries=11)])) == []
    problems = report.check_query_counts(run_report("small", [page("tableau.equipe", queries=10)]))
    assert problems == [
        "tableau.equipe : 10 requêtes à l'échelle small, 11 à l'échelle department (bench/results/department.json)"
    ]


def test_targets_say_met_or_missed_with_the_figure():
    department = run_report(
        "department",
        [
            page("accueil", queries=5, median=6, floor=0.5),
            page("liste.responsable.premiere", queries=11, median=30, floor=12),
            page("liste.responsable.profonde", queries=11, median=70, floor=40),
            page("fichier.gros", queries=13, median=45, floor=5),
            page("audit.recherche", queries=20, median=400, floor=300),
        ],
        jobs={
            "export": {"copy_ratio": 0.62, "peak_mib": 95.0},
            "import": {"rows": 100_000, "seconds": 61.5},
        },
    )
    small = run_report(
        "small",
        [
            page("liste.responsable.premiere", median=10),
            page("liste.responsable.profonde", median=20, floor=8),
            page("fichier.gros", median=40),
        ],
    )
    load = {"errors": 0, "p95_ms": 180.0}
    targets = report.targets(department, small, load)
    rows = {target: (measured, state) for target, measured, state, _ in targets}
    limits = {target: limit for target, _, _, limit in targets}
    assert rows["liste.responsable.premiere : ≤ 12 requêtes"] == ("11", "atteint")
    assert rows["fichier.gros : ≤ 12 requêtes"] == ("13", "manqué")
    assert rows["fichier.gros : ≤ 3 × le plancher"] == ("9,0 ×", "manqué")
    assert rows["liste.responsable.profonde : médiane ≤ 50 ms"] == ("70,0 ms", "manqué")
    assert rows["page profonde ≤ 2 × la première"] == ("2,3 ×", "manqué")
    # The worst growth from 10,000 to 100,000 files among the target pages.
    assert rows["croissance de 10 000 à 100 000 dossiers < 2 × (pire page)"] == (
        "3,5 × (liste.responsable.profonde)",
        "manqué",
    )
    assert rows["export : ≥ la moitié du débit de COPY"] == ("62,0 %", "atteint")
    assert rows["export : mémoire < 200 Mo"] == ("95,0 Mio", "atteint")
    assert rows["import de 100\u202f000 lignes < 60 s"] == ("61,5 s", "manqué")
    assert rows["test de charge : p95 ≤ 250 ms"] == ("180,0 ms", "atteint")
    # The audit search is measured, not a target page; nor is the base, which reads no data.
    assert not any(target.startswith(("audit.", "accueil")) for target in rows)
    # A missed page target says what limits it, from the run's figures: the floor, the base (`accueil`,
    # 6 ms here), the rest; the growth, the floor's. A met target says nothing.
    assert limits["liste.responsable.profonde : médiane ≤ 50 ms"] == (
        "plancher 40,0 ms + socle 6,0 ms = 46,0 ms ; le reste 24,0 ms"
    )
    assert limits["fichier.gros : ≤ 3 × le plancher"] == "plancher 5,0 ms + socle 6,0 ms = 11,0 ms ; le reste 34,0 ms"
    assert limits["croissance de 10 000 à 100 000 dossiers < 2 × (pire page)"] == "plancher 8,0 → 40,0 ms (5,0 ×)"
    assert limits["page profonde ≤ 2 × la première"] == "planchers 12,0 → 40,0 ms"
    assert limits["liste.responsable.premiere : médiane ≤ 50 ms"] == ""
    assert limits["fichier.gros : ≤ 12 requêtes"] == ""


def test_a_run_without_the_base_page_reads_the_floor_alone():
    department = run_report("department", [page("tableau.equipe", median=80, floor=30)])
    limits = {target: limit for target, _, _, limit in report.targets(department, None, None)}
    assert limits["tableau.equipe : médiane ≤ 50 ms"] == "plancher 30,0 ms"
    assert report.rest_ms(department["pages"][0], report.base_ms(department)) is None


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
    assert "| liste.referent.premiere : ≤ 3 × le plancher | 7,0 × | manqué | plancher 2,0 ms + socle 5,0 ms" in text
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
