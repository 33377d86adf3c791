"""The people and structure pickers in a real browser: with htmx, a name typed without its accent lists the
person, ticked from the keyboard, kept while searching for someone else, and the note is shared with
both; without JavaScript, « Rechercher » posts the share form and a person is chosen from its results.
axe-core checks the forms with results shown."""

import pytest
from playwright.sync_api import expect

from casework.models import Note, Share
from tests.accounts.factories import DEFAULT_PASSWORD
from tests.browser.conftest import assert_no_blocking_violations, log_in

pytestmark = pytest.mark.browser


# The shared personas (tests/conftest.py): `page` and `live_server` make each test transactional, so that
# the live server's threads read them. The CCAS's referent, Cécile Cas, is found by her name without accent.
RECIPIENT = "Cas Cécile – Référent·e insertion – CCAS de Tourcoing"


def test_a_note_is_shared_with_people_found_by_typing(page, personas, axe_check):
    log_in(page, "referente", DEFAULT_PASSWORD)
    page.goto(f"/dossiers/{personas.file.public_id}/notes/nouvelle/")
    page.get_by_label("Texte de la note").fill("Relais pour le logement.")
    page.get_by_label("Partagée avec des services ou structures").check()

    people = page.get_by_label("Personnes", exact=True)
    people.fill("cecile")  # typed without the accent
    cecile = page.get_by_role("checkbox", name=RECIPIENT)
    expect(cecile).to_be_visible()
    expect(page.get_by_role("status").filter(has_text="Une personne correspond à « cecile ».")).to_be_visible()
    found = {"note form with results": axe_check(page, "picker-note")}
    cecile.focus()
    page.keyboard.press("Space")
    expect(cecile).to_be_checked()

    # Another search keeps the one ticked, among the chosen.
    people.fill("roux")
    page.keyboard.press("Enter")  # searches, never sends the form
    sam = page.get_by_role("checkbox", name="Roux Sam – Responsable d'équipe – MDS Nord")
    expect(sam).to_be_visible()
    # Enter is kept from the form: it does not press the form's first « Rechercher » (the structures').
    expect(page.locator("#id_shared_with_structures_statut")).to_have_text("")
    chosen = page.get_by_role("list", name="Personnes choisies")
    expect(chosen.get_by_role("checkbox", name=RECIPIENT)).to_be_checked()
    sam.check()
    page.get_by_role("button", name="Enregistrer la note").click()

    expect(page.get_by_role("status").filter(has_text="Note enregistrée")).to_be_visible()
    note = Note.objects.get()
    assert set(note.shared_with_users.all()) == {personas.recipient, personas.supervisor}
    assert_no_blocking_violations(found)


def test_without_javascript_a_share_searches_then_chooses(browser, live_server, personas):
    context = browser.new_context(base_url=live_server.url, java_script_enabled=False, locale="fr-FR")
    page = context.new_page()
    try:
        log_in(page, "referente", DEFAULT_PASSWORD)
        page.goto(f"/dossiers/{personas.file.public_id}/partager/")
        page.get_by_label("Une personne", exact=True).check()
        page.get_by_label("Personne", exact=True).fill("Cécile")
        page.get_by_role("button", name="Rechercher").first.click()

        cecile = page.get_by_role("radio", name=RECIPIENT)
        expect(cecile).to_be_visible()
        expect(page.get_by_label("Une personne", exact=True)).to_be_checked()
        cecile.check()
        page.get_by_label("Motif du partage").fill("Relais pendant un déménagement.")
        page.get_by_role("button", name="Partager le dossier").click()

        expect(page.get_by_text("Le dossier est partagé avec")).to_be_visible()
        assert Share.objects.get().shared_with_user == personas.recipient
    finally:
        context.close()
