"""axe-core on the login, caseload and file pages: any serious or critical violation fails.

Each page's full list of violations (minor and moderate included) is written to tests/artifacts/.
"""

import pytest
from django.db.models import Count

from casework.models import Beneficiary
from tests.browser.conftest import assert_no_blocking_violations, log_in

pytestmark = pytest.mark.browser


def test_login_page_has_no_serious_accessibility_violation(page, axe_check):
    page.goto("/connexion/")
    found = {"login": axe_check(page, "login")}

    # The same page showing a failed login (the error message and the fields marked invalid).
    page.get_by_label("Identifiant").fill("personne")
    page.get_by_label("Mot de passe").fill("pas le bon")
    page.get_by_role("button", name="Se connecter").click()
    page.get_by_role("alert").wait_for()
    found["login with an error"] = axe_check(page, "login-error")

    assert_no_blocking_violations(found)


def test_caseload_and_file_pages_have_no_serious_accessibility_violation(page, demo_data, axe_check):
    # The referente's richest file (most timeline entries), so that most of the page's parts show.
    richest = (
        Beneficiary.objects.filter(current_referent__username="referente.nord", is_active=True)
        .annotate(entries=Count("steps", distinct=True) + Count("appointments", distinct=True))
        .order_by("-entries", "last_name", "first_name", "pk")
        .first()
    )
    log_in(page, "referente.nord")
    page.get_by_role("navigation", name="Navigation principale").get_by_role("link", name="Mes dossiers").click()
    page.get_by_role("heading", name="Mes dossiers", level=1).wait_for()
    found = {"caseload": axe_check(page, "caseload")}

    page.goto(f"/dossiers/{richest.public_id}/")
    page.get_by_role("heading", level=1).filter(has_text=richest.first_name).wait_for()
    # Open every disclosure (the quick-write forms, previous versions): axe skips what is not rendered.
    page.evaluate("document.querySelectorAll('details').forEach((details) => { details.open = true; })")
    found["file"] = axe_check(page, "file")

    assert_no_blocking_violations(found)


def test_audit_screens_have_no_serious_accessibility_violation(page, demo_data, axe_check):
    """The DPO's screens: the trail's search (with an export asked for), an event, a file's access report."""
    file = Beneficiary.objects.filter(current_referent__username="referente.nord", is_active=True).first()
    log_in(page, "referente.nord")
    page.goto(f"/dossiers/{file.public_id}/")  # a read, so that the trail has an event about the file
    page.get_by_role("button", name="Se déconnecter").click()

    log_in(page, "dpo")
    page.get_by_role("navigation", name="Navigation principale").get_by_role("link", name="Journal d'audit").click()
    page.get_by_role("heading", level=1).wait_for()
    found = {"audit events": axe_check(page, "audit-events")}

    page.get_by_role("link", name="Détail de l'événement").first.click()
    page.get_by_role("heading", level=1).wait_for()
    found["audit event"] = axe_check(page, "audit-event")

    page.goto(f"/dossiers/{file.public_id}/acces/")
    page.get_by_role("heading", level=1).wait_for()
    found["access report"] = axe_check(page, "access-report")

    page.goto("/audit/exports/")
    page.get_by_role("heading", level=1).wait_for()
    found["audit exports"] = axe_check(page, "audit-exports")

    assert_no_blocking_violations(found)


def test_team_screens_have_no_serious_accessibility_violation(page, demo_data, axe_check):
    """The supervisor's screens: the dashboard and its charts, the alerts, reassignment, covers."""
    log_in(page, "superviseur.nord")
    page.get_by_role("navigation", name="Navigation principale").get_by_role("link", name="Mon équipe").click()
    page.get_by_role("heading", level=1).wait_for()
    page.evaluate("document.querySelectorAll('details').forEach((details) => { details.open = true; })")
    found = {"dashboard": axe_check(page, "team-dashboard")}

    for name, url in (
        ("alerts", "/equipe/alertes/"),
        ("reassign", "/equipe/reaffecter/"),
        ("covers", "/equipe/interims/"),
        ("notifications", "/notifications/"),
    ):
        page.goto(url)
        page.get_by_role("heading", level=1).wait_for()
        found[name] = axe_check(page, f"team-{name}")

    assert_no_blocking_violations(found)


def test_import_screens_have_no_serious_accessibility_violation(page, demo_data, axe_check):
    """The department admin's imports: the upload form, then a dry run's report with refused rows."""
    from pathlib import Path

    flux = Path(__file__).resolve().parent.parent / "imports" / "files" / "flux_beneficiaires.xml"
    log_in(page, "admin.departement")
    page.get_by_role("navigation", name="Navigation principale").get_by_role("link", name="Imports").click()
    page.get_by_role("heading", level=1).wait_for()
    found = {"imports": axe_check(page, "imports")}

    page.set_input_files("input[type=file]", str(flux))
    page.locator("main form button[type=submit]").first.click()
    page.get_by_role("button", name="Lancer l'import").wait_for()
    found["dry run"] = axe_check(page, "import-dry-run")

    assert_no_blocking_violations(found)
