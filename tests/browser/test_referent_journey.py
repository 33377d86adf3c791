"""A referent's day, in a real browser (issue 4): find a file by a name typed without its accent, log a
step, write a private note, see both on the file; a referent of another structure gets a 404 on it.

The file page, with the step and the note, is saved as tests/artifacts/file-page.png (a CI artefact).
"""

import pytest
from playwright.sync_api import expect

from accounts.models import User
from casework.models import Beneficiary, Step, search_key
from tests.browser.conftest import artifact_path, log_in, log_out

pytestmark = pytest.mark.browser

REFERENT = "referente.nord"
OTHER_STRUCTURE_REFERENT = "referent.sud"
STEP_OUTCOME = "Inscription à l'atelier « Préparer un entretien d'embauche » du 12 du mois."
NOTE_BODY = "À rappeler la semaine prochaine pour confirmer sa venue à l'atelier."


def display_name(beneficiary: Beneficiary) -> str:
    """As the caseload's links and the file's title show it."""
    return f"{beneficiary.last_name.upper()} {beneficiary.first_name}"


def files_to_search() -> tuple[Beneficiary, str, Beneficiary]:
    """The first of the referente's open files (by name) whose last name has an accent; that name
    without it ("Lefèvre", "lefevre"), as a referent types it in a hurry; and a file the search must leave out."""
    files = list(
        Beneficiary.objects.filter(current_referent__username=REFERENT, is_active=True).order_by(
            "last_name", "first_name", "pk"
        )
    )
    for beneficiary in files:
        typed = search_key(beneficiary.last_name)
        if typed != beneficiary.last_name.lower():
            break
    else:
        raise AssertionError(f"The demo data gives {REFERENT} no open file with an accented last name.")
    other = next(file for file in files if typed not in file.search_text)
    return beneficiary, typed, other


def test_referent_finds_a_file_logs_a_step_and_a_private_note(page, demo_data):
    beneficiary, typed, other = files_to_search()
    file_name, other_name = display_name(beneficiary), display_name(other)
    referent_name = User.objects.get(username=REFERENT).get_full_name()
    step_kind = Step.Kind.TRAINING.label

    log_in(page, REFERENT)
    page.get_by_role("navigation", name="Navigation principale").get_by_role("link", name="Mes dossiers").click()
    page.get_by_role("heading", name="Mes dossiers", level=1).wait_for()

    # The search, typed without the accent, narrows the list (with htmx) down to the files that match.
    search = page.get_by_role("search", name="Rechercher un dossier")
    search.get_by_label("Nom ou numéro allocataire").fill(typed)
    search.get_by_role("button", name="Rechercher").click()
    results = page.get_by_role("main")
    expect(results.get_by_role("link", name=other_name, exact=True)).to_have_count(0)
    expect(results.get_by_role("link", name=file_name, exact=True)).to_be_visible()
    assert typed not in page.url, "the search term must never be put in a URL"
    results.get_by_role("link", name=file_name, exact=True).click()
    page.get_by_role("heading", name=file_name, level=1).wait_for()
    file_url = page.url

    # Log a step from the file page's quick-write panel.
    page.locator("summary").filter(has_text="Une étape du parcours").click()
    step_form = page.locator("form").filter(has=page.get_by_role("button", name="Enregistrer l'étape"))
    step_form.get_by_label("Type d'étape").select_option(label=step_kind)
    expect(step_form.get_by_label("Statut")).to_have_value("done")
    step_form.get_by_label("Résultat (facultatif)").fill(STEP_OUTCOME)
    step_form.get_by_role("button", name="Enregistrer l'étape").click()
    expect(page.get_by_role("status").filter(has_text=f"Étape enregistrée : {step_kind}")).to_be_visible()
    expect(page).to_have_url(file_url)

    # Add a note, private by default.
    note_form = page.locator("form").filter(has=page.get_by_role("button", name="Enregistrer la note"))
    note_form.get_by_label("Texte de la note").fill(NOTE_BODY)
    expect(note_form.get_by_label("Privée (moi seul·e)")).to_be_checked()
    note_form.get_by_role("button", name="Enregistrer la note").click()
    expect(page.get_by_role("status").filter(has_text="Note enregistrée")).to_be_visible()

    # Both are on the file page's timeline, by the referente.
    page.reload()
    timeline = page.get_by_role("region", name="Chronologie du parcours")
    step = timeline.get_by_role("article").filter(has_text=STEP_OUTCOME)
    expect(step).to_have_count(1)
    expect(step).to_contain_text(step_kind)
    expect(step).to_contain_text(referent_name)
    note = timeline.get_by_role("article", name="Note privée").filter(has_text=NOTE_BODY)
    expect(note).to_have_count(1)
    expect(note).to_contain_text(referent_name)

    page.screenshot(path=artifact_path("file-page.png"), full_page=True)

    # A referent of another structure cannot reach the file, and learns nothing about it.
    log_out(page)
    log_in(page, OTHER_STRUCTURE_REFERENT)
    response = page.goto(file_url)
    assert response.status == 404
    page.get_by_role("heading", name="Page introuvable", level=1).wait_for()
    content = page.content()
    assert beneficiary.last_name not in content and file_name not in content
