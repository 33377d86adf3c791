"""The people and structure pickers in a real browser: with htmx, a name typed without its accent lists the
colleague, ticked from the keyboard, kept while searching for someone else, and the note is shared with
both; without JavaScript, « Rechercher » posts the share form and a person is chosen from its results.
axe-core checks the forms with results shown."""

import pytest
from playwright.sync_api import expect

from accounts.models import Role
from casework.models import Note, Share
from tests.accounts.factories import DEFAULT_PASSWORD, StructureFactory, member
from tests.browser.conftest import assert_no_blocking_violations, log_in
from tests.casework.factories import BeneficiaryFactory

pytestmark = pytest.mark.browser


@pytest.fixture
def world(live_server):
    nord = StructureFactory(name="MDS Nord")
    sud = StructureFactory(name="MDS Sud")
    w = type("World", (), {})()
    w.referent = member(Role.REFERENT, structure=nord, username="referente", first_name="Rita", last_name="Ferrand")
    w.helene = member(Role.REFERENT, structure=sud, username="hlefevre", first_name="Hélène", last_name="Lefèvre")
    w.sam = member(Role.SUPERVISOR, structure=nord, username="sroux", first_name="Sam", last_name="Roux")
    w.file = BeneficiaryFactory(referent=w.referent)
    return w


def test_a_note_is_shared_with_people_found_by_typing(page, world, axe_check):
    log_in(page, "referente", DEFAULT_PASSWORD)
    page.goto(f"/dossiers/{world.file.public_id}/notes/nouvelle/")
    page.get_by_label("Texte de la note").fill("Relais pour le logement.")
    page.get_by_label("Partagée avec des services ou structures").check()

    people = page.get_by_label("Personnes", exact=True)
    people.fill("lefevre")  # typed without the accents
    helene = page.get_by_role("checkbox", name="Lefèvre Hélène – Référent·e insertion – MDS Sud")
    expect(helene).to_be_visible()
    expect(page.get_by_role("status").filter(has_text="Une personne correspond à « lefevre ».")).to_be_visible()
    found = {"note form with results": axe_check(page, "picker-note")}
    helene.focus()
    page.keyboard.press("Space")
    expect(helene).to_be_checked()

    # Another search keeps the one ticked, among the chosen.
    people.fill("roux")
    page.keyboard.press("Enter")  # searches, never sends the form
    sam = page.get_by_role("checkbox", name="Roux Sam – Responsable d'équipe – MDS Nord")
    expect(sam).to_be_visible()
    # Enter is kept from the form: it does not press the form's first « Rechercher » (the structures').
    expect(page.locator("#id_shared_with_structures_statut")).to_have_text("")
    chosen = page.get_by_role("list", name="Personnes choisies")
    expect(chosen.get_by_role("checkbox", name="Lefèvre Hélène – Référent·e insertion – MDS Sud")).to_be_checked()
    sam.check()
    page.get_by_role("button", name="Enregistrer la note").click()

    expect(page.get_by_role("status").filter(has_text="Note enregistrée")).to_be_visible()
    note = Note.objects.get()
    assert set(note.shared_with_users.all()) == {world.helene, world.sam}
    assert_no_blocking_violations(found)


def test_without_javascript_a_share_searches_then_chooses(browser, live_server, world):
    context = browser.new_context(base_url=live_server.url, java_script_enabled=False, locale="fr-FR")
    page = context.new_page()
    try:
        log_in(page, "referente", DEFAULT_PASSWORD)
        page.goto(f"/dossiers/{world.file.public_id}/partager/")
        page.get_by_label("Une personne", exact=True).check()
        page.get_by_label("Personne", exact=True).fill("Hélène")
        page.get_by_role("button", name="Rechercher").first.click()

        helene = page.get_by_role("radio", name="Lefèvre Hélène – Référent·e insertion – MDS Sud")
        expect(helene).to_be_visible()
        expect(page.get_by_label("Une personne", exact=True)).to_be_checked()
        helene.check()
        page.get_by_label("Motif du partage").fill("Relais pendant un déménagement.")
        page.get_by_role("button", name="Partager le dossier").click()

        expect(page.get_by_text("Le dossier est partagé avec")).to_be_visible()
        assert Share.objects.get().shared_with_user == world.helene
    finally:
        context.close()
