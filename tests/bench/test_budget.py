"""Issue 26's budget (bench/budget.py): each page's median within +15 % of the commit before it, or under
its absolute bound, whichever is larger; the load test, the export and the import."""

import pytest

from bench import budget


@pytest.mark.parametrize(
    ("name", "bound"),
    [
        ("liste.referent.premiere", 40),
        ("liste.referent.recherche", 40),
        ("fichier.gros", 60),
        ("fichier.moyen", 60),
        ("ecriture.etape", 40),
        ("ecriture.note", 40),
        ("liste.responsable.profonde", 100),
        ("alertes.equipe", 100),
        ("tableau.equipe", 100),
        ("accueil", None),
        ("audit.recherche.structure", None),
    ],
)
def test_each_page_has_the_issue_s_bound_or_none(name, bound):
    assert budget.bound_ms(name) == bound


def test_a_page_under_its_bound_meets_the_budget_however_slower_than_before():
    verdict = budget.page_verdict("liste.referent.premiere", base_ms=20, new_ms=39.9)
    assert (verdict.met, verdict.allowed_ms, verdict.rule) == (True, 40, "borne")
    assert not budget.page_verdict("liste.referent.premiere", base_ms=20, new_ms=40.1).met


def test_a_page_above_its_bound_may_be_at_most_15_percent_slower():
    verdict = budget.page_verdict("tableau.equipe", base_ms=100, new_ms=115)
    assert (verdict.met, verdict.rule) == (True, "+15 %")
    assert verdict.allowed_ms == pytest.approx(115)
    missed = budget.page_verdict("tableau.equipe", base_ms=100, new_ms=115.1)
    assert (missed.met, missed.label) == (False, "dépassé")


def test_a_page_without_a_bound_has_the_15_percent_rule_alone():
    assert budget.page_verdict("accueil", base_ms=5, new_ms=5.7).met
    verdict = budget.page_verdict("audit.recherche", base_ms=5, new_ms=5.8)
    assert (verdict.met, verdict.rule, verdict.label) == (False, "+15 %", "dépassé")


def test_a_faster_page_meets_the_budget():
    assert budget.page_verdict("audit.recherche", base_ms=300, new_ms=150).label == "tenu"


def test_the_load_test_compares_the_medians_of_the_runs_p95_and_allows_no_error():
    verdict = budget.load_verdict([300, 330, 900], [340, 370, 360], errors=0)
    assert verdict.allowed_ms == pytest.approx(379.5)
    assert verdict.met
    assert not budget.load_verdict([300, 330, 900], [340, 370, 360], errors=1).met
    assert not budget.load_verdict([300, 330, 310], [380, 390, 370], errors=0).met


def test_the_jobs_absolute_figures():
    assert budget.export_met(0.5) and not budget.export_met(0.49)
    assert budget.import_met(100_000, 59.9) and not budget.import_met(100_000, 60)
    # A smaller import (small scale) is held to the same rate.
    assert budget.import_met(10_000, 5.9) and not budget.import_met(10_000, 6.1)
