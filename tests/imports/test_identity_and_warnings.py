"""What a monthly file changes and what it only says differently (imports/apply.py identity_key), and
the rows it accepts with a warning (docs/imports.md, "Warnings")."""

import csv
import io

import pytest
from django.urls import reverse

from accounts.models import Role
from casework.models import Beneficiary
from imports.apply import identity_key
from imports.models import BeneficiaryImport, ImportChange, ImportRowError
from imports.services import beneficiary_import_from_path, beneficiary_import_process
from tests.accounts.factories import member
from tests.casework.factories import BeneficiaryFactory, HouseholdMemberFactory
from tests.imports.helpers import one_row
from tests.imports.test_apply import intake, private_media, row, row_for, run, write_csv  # noqa: F401 (fixtures)

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


# Warnings: an invalid optional contact value is dropped, the person is imported ---------------------


def test_an_invalid_phone_or_email_creates_the_person_without_it_and_with_a_warning(tmp_path, intake):  # noqa: F811
    rows = [
        row("2700101", telephone="appeler le soir"),
        row("2700102", courriel="lea.martin@"),
        row("2700103", telephone="06 12 34", date_naissance="31/02/1990"),  # refused for its birth date
    ]

    done = run(write_csv(tmp_path / "juin.csv", rows))

    assert (done.created_count, done.refused_count, done.warning_count) == (2, 1, 2)
    phone_less = Beneficiary.objects.get(allocataire_number="2700101")
    mail_less = Beneficiary.objects.get(allocataire_number="2700102")
    assert (phone_less.phone, phone_less.email, mail_less.phone, mail_less.email) == ("", "", "0601020304", "")
    report = ImportRowError.objects.filter(beneficiary_import=done).order_by("line")
    assert [(entry.line, entry.level, entry.column) for entry in report] == [
        (2, "warning", "telephone"),
        (3, "warning", "courriel"),
        (4, "refused", "date_naissance"),
    ]
    assert "numéro de téléphone invalide" in report[0].message and report[0].value == "appeler le soir"


def test_an_invalid_phone_updates_the_rest_of_a_known_file_and_keeps_the_phone_on_file(tmp_path, intake):  # noqa: F811
    file = identity_file()
    file.phone = "0611111111"
    file.save()

    done = run(write_csv(tmp_path / "juin.csv", [row_for(file, adresse="8 rue Nationale", telephone="06 12")]))
    again = run(write_csv(tmp_path / "juin.csv", [row_for(file, adresse="8 rue Nationale", telephone="06 12")]))

    file.refresh_from_db()
    assert (done.updated_count, done.warning_count, done.field_counts) == (1, 1, {"address_line": 1})
    assert (file.address_line, file.phone) == ("8 rue Nationale", "0611111111")
    # The same file again changes nothing, and warns again (the report is the file's).
    assert (again.updated_count, again.unchanged_count, again.warning_count) == (0, 1, 1)


def test_a_dry_run_reports_the_warnings_it_would_give(tmp_path, intake):  # noqa: F811
    checked = run(write_csv(tmp_path / "juin.csv", [row("2700201", courriel="pas-une-adresse")]), dry_run=True)

    assert (checked.created_count, checked.warning_count, checked.refused_count) == (1, 1, 0)
    assert not Beneficiary.objects.exists()
    assert ImportRowError.objects.get(beneficiary_import=checked).level == "warning"


def warned_import(tmp_path, uploader):
    created = beneficiary_import_from_path(
        path=write_csv(tmp_path / "juin.csv", [row("2700301", telephone="appeler le soir"), row("27AB")]),
        dry_run=True,
    )
    BeneficiaryImport.objects.filter(pk=created.pk).update(uploaded_by=uploader)
    return beneficiary_import_process(import_id=created.pk)


def test_the_imports_page_shows_its_warnings_to_its_uploader_and_in_its_report(client, tmp_path, intake):  # noqa: F811
    uploader = member(Role.DEPARTMENT_ADMIN, structure=intake)
    warned = warned_import(tmp_path, uploader)
    client.force_login(uploader)

    html = client.get(reverse("imports:detail", args=[warned.public_id])).content.decode()
    report = client.get(reverse("imports:errors_export", args=[warned.public_id]))

    assert "Lignes refusées (1) et avertissements (1 ligne)" in html
    assert "Importée, avec avertissement" in html and "numéro de téléphone invalide" in html
    assert "appeler le soir" in html
    lines = list(csv.reader(io.StringIO(b"".join(report.streaming_content).decode().lstrip("\ufeff")), delimiter=";"))
    assert ["2", "Ligne importée, avec avertissement", "telephone"] == lines[1][:3]
    assert lines[2][:2] == ["3", "Ligne refusée"]


@pytest.mark.parametrize("role", [Role.REFERENT, Role.SUPERVISOR, Role.AUDITOR])
def test_the_warnings_are_not_shown_to_someone_who_may_not_see_the_import(client, tmp_path, intake, role):  # noqa: F811
    warned = warned_import(tmp_path, member(Role.DEPARTMENT_ADMIN, structure=intake))
    client.force_login(member(role, structure=intake))

    page = client.get(reverse("imports:detail", args=[warned.public_id]))
    report = client.get(reverse("imports:errors_export", args=[warned.public_id]))

    assert (page.status_code, report.status_code) == (403, 403)
    assert "appeler le soir" not in page.content.decode()


# Warnings: a postcode outside the Département -------------------------------------------------------


def test_a_postcode_outside_the_departement_is_imported_with_a_warning(tmp_path, settings):
    settings.PARCOURS_DEPARTEMENT_POSTCODE_PREFIXES = ["59"]

    outside = one_row(tmp_path, {}, extra_columns={"code_postal": "62300"})
    inside = one_row(tmp_path, {}, extra_columns={"code_postal": "59100"})

    assert outside.is_valid and outside.record.postcode == "62300"
    (warning,) = outside.record.warnings
    assert (warning.line, warning.column, warning.value) == (2, "code_postal", "62300")
    assert "n'est pas dans le Département (codes commençant par 59)" in warning.message
    assert inside.is_valid and inside.record.warnings == ()


def test_the_departements_prefixes_are_a_setting(tmp_path, settings):
    settings.PARCOURS_DEPARTEMENT_POSTCODE_PREFIXES = ["974", "976"]
    (warning,) = one_row(tmp_path, {}, extra_columns={"code_postal": "97100"}).record.warnings
    assert "codes commençant par 974 ou 976" in warning.message
    assert one_row(tmp_path, {}, extra_columns={"code_postal": "97600"}).record.warnings == ()

    settings.PARCOURS_DEPARTEMENT_POSTCODE_PREFIXES = []
    assert one_row(tmp_path, {}, extra_columns={"code_postal": "75001"}).record.warnings == ()


def test_a_file_with_a_postcode_outside_the_departement_is_created_and_the_report_says_so(
    tmp_path,
    intake,  # noqa: F811
    settings,
):
    settings.PARCOURS_DEPARTEMENT_POSTCODE_PREFIXES = ["59"]
    rows = [row("2700401", code_postal="62300", commune="Lens"), row("2700402", code_postal="59100")]

    done = run(write_csv(tmp_path / "juin.csv", rows))

    assert (done.created_count, done.warning_count) == (2, 1)
    assert Beneficiary.objects.get(allocataire_number="2700401").postcode == "62300"
    warning = ImportRowError.objects.get(beneficiary_import=done)
    assert (warning.line, warning.level, warning.column) == (2, "warning", "code_postal")
