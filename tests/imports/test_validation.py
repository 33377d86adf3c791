"""Row checks: every reason a row is refused, with its line, the column as the file names it and a French
message; and the variants a row may use and still be accepted."""

import datetime

import pytest

from imports.validation import Cell, normalise_phone, parse_date, validate_row
from tests.imports.helpers import FILES, HEADER, VALID, one_row, read, today, write_csv


def only_error(result):
    assert result.record is None
    assert len(result.errors) == 1, result.errors
    return result.errors[0]


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        ("numero_allocataire", "", "« numero_allocataire » est obligatoire"),
        ("numero_allocataire", "12A4567", "ne contient que des chiffres"),
        ("numero_allocataire", "12345678901234", "13 au plus"),
        ("numero_allocataire", "١٢٣٤٥٦٧", "ne contient que des chiffres"),
        ("nom", "", "« nom » est obligatoire"),
        ("nom", "X" * 101, "101 caractères, 100 au plus"),
        ("prenom", "  ", "« prenom » est obligatoire"),
        ("date_naissance", "", "« date_naissance » est obligatoire"),
        ("date_naissance", "31/02/1980", "date invalide (attendu jj/mm/aaaa ou aaaa-mm-jj)"),
        ("date_naissance", "02/01/80", "date invalide"),
        ("date_naissance", "hier", "date invalide"),
        ("date_naissance", "01/01/1899", "antérieure au 01/01/1900"),
        ("statut_droits", "", "« statut_droits » est obligatoire"),
        ("statut_droits", "en cours", "statut inconnu (ouvert, suspendu ou clos)"),
    ],
)
def test_a_required_or_malformed_value_refuses_the_row(tmp_path, column, value, message):
    error = only_error(one_row(tmp_path, {column: value}))

    assert error.line == 2
    assert error.column == column
    assert message in error.message
    assert error.value == value.strip()


def test_a_birth_date_in_the_future_refuses_the_row(tmp_path):
    tomorrow = today() + datetime.timedelta(days=1)

    error = only_error(one_row(tmp_path, {"date_naissance": f"{tomorrow:%d/%m/%Y}"}))

    assert "est dans le futur" in error.message


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        ("organisme", "Pôle emploi", "organisme inconnu (CAF ou MSA)"),
        ("nom_naissance", "Y" * 101, "100 au plus"),
        ("sexe", "X", "valeur inconnue (F ou M)"),
        ("code_postal", "7500", None),  # four digits: a lost leading zero, accepted as 07500
        ("code_postal", "750011", "Le code postal comporte cinq chiffres."),
        ("code_postal", "7500A", "Le code postal comporte cinq chiffres."),
        ("code_insee", "2C004", "Le code INSEE comporte cinq caractères"),
        ("code_insee", "123456", "Le code INSEE comporte cinq caractères"),
        ("date_statut", "32/01/2025", "date invalide"),
        ("date_statut", "01/01/1980", "antérieure au 01/12/1988"),
        ("date_entree_rsa", "2099-01-01", "trop éloignée dans le futur"),
        ("sdd", "peut-être", "valeur attendue oui ou non"),
        ("adresse", "Z" * 251, "250 au plus"),
        ("commune", "Z" * 101, "100 au plus"),
    ],
)
def test_an_optional_column_with_a_bad_value_refuses_the_row(tmp_path, column, value, message):
    result = one_row(tmp_path, {}, extra_columns={column: value})

    if message is None:
        assert result.is_valid
        return
    error = only_error(result)
    assert error.column == column
    assert message in error.message


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        ("telephone", "06 12 34", "numéro de téléphone invalide"),
        ("telephone", "appeler le soir", "numéro de téléphone invalide"),
        ("courriel", "lea.martin@", "adresse électronique invalide"),
        ("courriel", "lea martin@example.org", "adresse électronique invalide"),
    ],
)
def test_a_bad_optional_contact_value_is_dropped_with_a_warning_and_the_row_is_kept(tmp_path, column, value, message):
    result = one_row(tmp_path, {}, extra_columns={column: value})

    assert result.is_valid and not result.errors
    assert (result.record.phone, result.record.email) == ("", "")
    (warning,) = result.record.warnings
    assert (warning.line, warning.column, warning.value) == (2, column, value)
    assert message in warning.message and "le reste de la ligne" in warning.message


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("CJT:MARTIN", "format attendu LIEN:Nom:Prénom"),
        ("ONCLE:MARTIN:Paul", "lien « ONCLE » inconnu"),
        ("ENF::Tom", "le nom et le prénom sont obligatoires"),
        ("ENF:MARTIN:Tom:31/02/2015", "date de naissance invalide"),
        ("ENF:MARTIN:Tom:2015-01-01:bof", "« à charge » vaut oui ou non"),
        ("CJT:MARTIN:Paul|ENF:MARTIN:Tom:2999-01-01", "membre n° 2 : date de naissance invraisemblable"),
    ],
)
def test_a_malformed_household_refuses_the_row(tmp_path, value, message):
    error = only_error(one_row(tmp_path, {}, extra_columns={"foyer": value}))

    assert error.column == "foyer"
    assert message in error.message


def test_all_the_errors_of_a_row_are_reported_together(tmp_path):
    result = one_row(tmp_path, {"nom": "", "date_naissance": "demain"}, extra_columns={"sexe": "x"})

    assert [error.column for error in result.errors] == ["nom", "date_naissance", "sexe"]


def test_the_report_names_the_column_as_the_file_names_it(tmp_path):
    header = ["N° allocataire", "Nom", "Prénom", "Date de naissance", "Statut"]
    (result,) = read(write_csv(tmp_path, [header, ["12A", "MARTIN", "Léa", "02/01/1980", "ouvert"]]))

    error = only_error(result)
    assert error.column == "N° allocataire"
    assert error.message.startswith("« N° allocataire » :")


def test_a_refused_row_does_not_stop_the_others(tmp_path):
    rows = [HEADER, ["1", "A", "B", "pas une date", "ouvert"], ["2", "C", "D", "01/01/1980", "ouvert"]]

    first, second = read(write_csv(tmp_path, rows))

    assert not first.is_valid
    assert second.is_valid


def test_a_number_already_in_the_file_refuses_the_later_rows_naming_the_first_line(tmp_path):
    rows = [
        HEADER,
        ["1234567", "MARTIN", "Léa", "02/01/1980", "ouvert"],
        ["7654321", "DURAND", "Paul", "03/04/1981", "ouvert"],
        ["1234567", "MARTIN", "Léa", "02/01/1980", "clos"],
        ["1234567", "AUTRE", "Personne", "pas une date", "clos"],
    ]

    first, other, second, third = read(write_csv(tmp_path, rows))

    assert first.is_valid and other.is_valid
    error = only_error(second)
    assert error.column == "numero_allocataire"
    assert "figure déjà ligne 2 du fichier" in error.message
    assert [error.column for error in third.errors] == ["date_naissance", "numero_allocataire"]


def test_the_same_number_at_two_organisms_is_not_a_duplicate(tmp_path):
    header = [*HEADER, "organisme"]
    rows = [header, [*VALID, "CAF"], [*VALID, "MSA"]]

    assert all(result.is_valid for result in read(write_csv(tmp_path, rows)))


def test_leading_zeros_carry_no_meaning(tmp_path):
    """The XML flux carries the number as an integer and spreadsheets drop leading zeros: "0123456"
    and "123456" are the same beneficiary, whatever the format (so the second row is a duplicate)."""
    rows = [HEADER, VALID, ["00" + VALID[0], *VALID[1:]]]

    first, second = read(write_csv(tmp_path, rows))

    assert first.is_valid and first.record.allocataire_number == VALID[0].lstrip("0")
    assert not second.is_valid
    assert [error.column for error in second.errors] == ["numero_allocataire"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("ouvert", "open"),
        ("Droits ouverts", "open"),
        ("OUVERTS", "open"),
        ("suspendu", "suspended"),
        ("Droit suspendu", "suspended"),
        ("versement suspendu", "suspended"),
        ("clos", "closed"),
        ("Clôturé", "closed"),
        ("fermé", "closed"),
        ("radié", "closed"),
    ],
)
def test_status_variants(tmp_path, value, expected):
    assert one_row(tmp_path, {"statut_droits": value}).record.rsa_status == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [("oui", True), ("Non", False), ("1", True), ("0", False), ("vrai", True), ("FAUX", False), ("", True)],
)
def test_sdd_variants(tmp_path, value, expected):
    assert one_row(tmp_path, {}, extra_columns={"sdd": value}).record.sdd is expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [("F", "F"), ("femme", "F"), ("Mme", "F"), ("2", "F"), ("M", "M"), ("H", "M"), ("Homme", "M"), ("1", "M")],
)
def test_sex_variants(tmp_path, value, expected):
    assert one_row(tmp_path, {}, extra_columns={"sexe": value}).record.sex == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("02/01/1980", datetime.date(1980, 1, 2)),
        ("2/1/1980", datetime.date(1980, 1, 2)),
        ("02-01-1980", datetime.date(1980, 1, 2)),
        ("02.01.1980", datetime.date(1980, 1, 2)),
        ("1980-01-02", datetime.date(1980, 1, 2)),
        ("1980-01-02 00:00:00", datetime.date(1980, 1, 2)),
        ("1980/01/02", datetime.date(1980, 1, 2)),
        ("19800102", datetime.date(1980, 1, 2)),
        (29222, datetime.date(1980, 1, 2)),
        (29222.0, datetime.date(1980, 1, 2)),
        (datetime.datetime(1980, 1, 2, 0, 0), datetime.date(1980, 1, 2)),  # noqa: DTZ001 - as openpyxl reads it
        ("", None),
        (None, None),
    ],
)
def test_date_formats(value, expected):
    assert parse_date(value) == expected


@pytest.mark.parametrize("value", ["1980-13-01", "00/00/0000", "2/1/80", "1er janvier 1980", True, -5, 1e12])
def test_dates_that_are_refused(value):
    with pytest.raises(ValueError):
        parse_date(value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("06 12 34 56 78", "0612345678"),
        ("06.12.34.56.78", "0612345678"),
        ("06-12-34-56-78", "0612345678"),
        ("612345678", "0612345678"),
        ("+33 6 12 34 56 78", "+33612345678"),
        ("0033 6 12 34 56 78", "+33612345678"),
        ("(0)6 12 34 56 78", "0612345678"),
        ("0612", None),
        ("06 12 34 56 78 90", None),
        ("+1", None),
        ("06 12 AB 56 78", None),
    ],
)
def test_phone_numbers_keep_digits_and_plus(value, expected):
    assert normalise_phone(value) == expected


def test_corsican_insee_codes_are_accepted(tmp_path):
    assert one_row(tmp_path, {}, extra_columns={"code_insee": "2b033"}).record.insee_code == "2B033"


def test_validate_row_accepts_the_readers_cells_directly():
    cells = {
        "numero_allocataire": Cell("MATRICULE", 1234567.0),
        "nom": Cell("NOM", " MARTIN "),
        "prenom": Cell("PRENOM", "Léa"),
        "date_naissance": Cell("DTNAI", datetime.date(1980, 1, 2)),
        "statut_droits": Cell("ETATDOSRSA", "open"),
        "sdd": Cell("TOPPERSDRODEVORSA", False),
    }

    record, errors = validate_row(7, cells, default_organism="msa")

    assert errors == ()
    assert (record.line, record.organism, record.allocataire_number, record.last_name) == (
        7,
        "msa",
        "1234567",
        "MARTIN",
    )
    assert record.sdd is False


def test_the_crafted_files_hold_no_refused_row():
    assert all(result.is_valid for result in read(FILES / "utf8_comma.csv"))
