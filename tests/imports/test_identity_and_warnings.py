"""What a monthly file changes and what it only says differently (imports/apply.py identity_key), and
the rows it accepts with a warning (docs/imports.md, "Warnings")."""

import pytest
from django.urls import reverse

from accounts.models import Role
from imports.apply import identity_key
from imports.models import ImportChange
from tests.accounts.factories import member
from tests.casework.factories import BeneficiaryFactory, HouseholdMemberFactory
from tests.imports.test_apply import intake, private_media, row_for, run, write_csv  # noqa: F401 (fixtures)

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("stored", "read"),
    [
        ("Lecomte", "LECOMTE"),
        ("Hélène", "HELENE"),
        ("Villeneuve-d'Ascq", "VILLENEUVE D ASCQ"),
        ("3 rue  des Lilas", "3 RUE DES LILAS"),
        ("Cœur", "COEUR"),
        ("L’Hermitte", "L'HERMITTE"),
    ],
)
def test_a_change_of_case_accents_or_spaces_alone_keeps_the_meaning(stored, read):
    assert identity_key(stored) == identity_key(read)


@pytest.mark.parametrize(("stored", "read"), [("Lecomte", "Le Comte"), ("Martin", "Martine"), ("Léa", "Lei")])
def test_a_different_spelling_is_a_different_meaning(stored, read):
    assert identity_key(stored) != identity_key(read)


def identity_file(referent=None):
    return BeneficiaryFactory(
        allocataire_number="2700001",
        referent=referent,
        last_name="Lecomte",
        first_name="Hélène",
        birth_name="Dupré",
        address_line="3 rue des Lilas",
        commune="Villeneuve-d'Ascq",
        postcode="59650",
    )


def test_names_address_and_commune_in_capitals_without_accents_are_not_an_update(tmp_path, intake):  # noqa: F811
    file = identity_file()
    HouseholdMemberFactory(beneficiary=file, relationship="child", first_name="Zoé", last_name="Lecomte")
    version = file.version
    shouted = row_for(
        file,
        nom="LECOMTE",
        prenom="HELENE",
        nom_naissance=" DUPRE ",
        adresse="3  RUE DES LILAS",
        commune="VILLENEUVE D ASCQ",
        foyer="ENF:LECOMTE:ZOE",
    )

    done = run(write_csv(tmp_path / "juin.csv", [shouted]))
    again = run(write_csv(tmp_path / "juillet.csv", [shouted]))

    file.refresh_from_db()
    assert (done.updated_count, done.unchanged_count, done.field_counts) == (0, 1, {})
    assert (again.updated_count, again.unchanged_count) == (0, 1)
    # The stored form wins: it is what the professionals typed or already read.
    assert (file.last_name, file.first_name, file.birth_name) == ("Lecomte", "Hélène", "Dupré")
    assert (file.address_line, file.commune, file.version) == ("3 rue des Lilas", "Villeneuve-d'Ascq", version)
    assert list(file.household_members.values_list("first_name", flat=True)) == ["Zoé"]
    assert not ImportChange.objects.filter(beneficiary=file).exists()


def test_a_real_change_of_name_is_an_update_with_the_files_spelling(tmp_path, intake):  # noqa: F811
    file = identity_file()

    done = run(write_csv(tmp_path / "juin.csv", [row_for(file, nom="LE COMTE", commune="VILLENEUVE D ASCQ")]))

    file.refresh_from_db()
    assert (done.updated_count, done.field_counts) == (1, {"last_name": 1})
    assert (file.last_name, file.commune, file.search_text) == (
        "LE COMTE",
        "Villeneuve-d'Ascq",
        "le comte dupre helene",
    )
    change = ImportChange.objects.get(beneficiary=file)
    assert (change.field, change.old_value, change.new_value) == ("last_name", "Lecomte", "LE COMTE")


def test_the_timeline_shows_no_update_for_a_change_of_form_and_one_for_a_change_of_meaning(
    client,
    tmp_path,
    intake,  # noqa: F811
):
    referent = member(Role.REFERENT)
    file = identity_file(referent)
    client.force_login(referent)
    page = reverse("casework:file_detail", args=[file.public_id])

    run(write_csv(tmp_path / "juin.csv", [row_for(file, nom="LECOMTE", prenom="HELENE")]))
    assert "Mise à jour par l&#x27;import" not in client.get(page).content.decode()

    run(write_csv(tmp_path / "juillet.csv", [row_for(file, nom="MARTIN", prenom="HELENE")]))
    html = client.get(page).content.decode()
    assert "Mise à jour par l&#x27;import" in html and "Lecomte → MARTIN" in html
    assert "Hélène → HELENE" not in html
