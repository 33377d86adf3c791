"""Reading CSV and .xlsx files: encodings, separators, headers, aliases, mappings, files refused whole."""

import datetime
import zipfile

import pytest

from imports.columns import ALIASES, IMPORT_COLUMNS, normalise_header
from imports.readers import count_data_rows, detect_format, header_of, read_import_file
from imports.records import ImportFileError
from tests.imports.helpers import FILES, HEADER, VALID, read, write_csv, write_xlsx

# openpyxl reads a date cell as a naive datetime: Excel has no time zone.
EXCEL_DATE = datetime.datetime(1980, 1, 2)  # noqa: DTZ001

# The three rows of the crafted files (tests/imports/files/*.csv, *.tsv).
CRAFTED = [
    "latin1_semicolon.csv",
    "utf8_bom_semicolon.csv",
    "utf8_comma.csv",
    "utf8_tab.tsv",
]


@pytest.mark.parametrize("name", CRAFTED)
def test_crafted_csv_files_are_read_whatever_their_encoding_and_separator(name):
    results = read(FILES / name)

    assert [result.line for result in results] == [2, 3, 4]
    assert all(result.is_valid for result in results), [result.errors for result in results]
    first, second, third = (result.record for result in results)
    assert first.organism == "caf"
    assert first.allocataire_number == "1000001"
    assert (first.last_name, first.first_name) == ("LÉGER", "Hélène")
    assert first.birth_date == datetime.date(1980, 7, 14)
    assert first.sex == "F"
    assert first.address_line.startswith("12 rue des Essais")
    assert "bâtiment B" in first.address_line
    assert (first.postcode, first.commune, first.insee_code) == ("99100", "Villé-Exemple", "99001")
    assert first.phone == "0612345678"
    assert first.email == "helene.leger@example.org"
    assert (first.rsa_status, first.rsa_status_date, first.sdd) == ("open", datetime.date(2025, 2, 1), True)
    assert first.rsa_entry_date == datetime.date(2024, 6, 15)
    assert [(m.relationship, m.first_name, m.last_name, m.birth_date, m.is_dependent) for m in first.household] == [
        ("spouse", "Noël", "LÉGER", datetime.date(1979, 5, 6), False),
        ("child", "Zoé", "LÉGER", datetime.date(2015, 3, 4), True),
    ]
    assert (second.organism, second.rsa_status, second.sdd, second.insee_code) == ("msa", "suspended", False, "2A004")
    assert second.birth_name == "FRANCOIS"
    assert second.household == ()  # an empty `foyer` cell: the household is described, and empty
    assert (third.rsa_status, third.rsa_status_date, third.sdd) == ("closed", datetime.date(2025, 2, 28), False)


def test_a_file_without_a_household_column_leaves_the_household_alone(tmp_path):
    (result,) = read(write_csv(tmp_path, [HEADER, VALID]))

    assert result.record.household is None
    assert result.record.organism == "caf"  # no organism column: CAF
    assert result.record.sdd is True  # no SDD column: subject to rights and duties


def test_default_organism_applies_to_rows_naming_none(tmp_path):
    (result,) = read(write_csv(tmp_path, [HEADER, VALID]), default_organism="msa")

    assert result.record.organism == "msa"


def test_default_organism_must_be_caf_or_msa(tmp_path):
    with pytest.raises(ValueError):
        read_import_file(write_csv(tmp_path, [HEADER, VALID]), filename="x.csv", default_organism="pole emploi")


def test_quoted_fields_may_hold_the_separator_quotes_and_line_breaks(tmp_path):
    path = tmp_path / "quoted.csv"
    path.write_bytes(
        "numero_allocataire;nom;prenom;date_naissance;statut_droits;adresse\r\n"
        '1234567;"MARTIN; dit ""Le Grand""";Léa;02/01/1980;ouvert;"3 rue Haute\r\nAppartement 2"\r\n'
        "7654321;DURAND;Paul;03/04/1981;clos;\r\n".encode()
    )

    first, second = read(path)

    assert first.record.last_name == 'MARTIN; dit "Le Grand"'
    assert first.record.address_line == "3 rue Haute\r\nAppartement 2"
    assert (first.line, second.line) == (2, 4)  # the second record starts after the two-line field


def test_a_row_with_more_values_than_the_header_is_refused_naming_the_separator(tmp_path):
    (result,) = read(write_csv(tmp_path, [HEADER, [*VALID, "surplus"]]))

    assert not result.is_valid
    assert "6 valeurs pour 5 colonnes" in result.errors[0].message
    assert "point-virgule" in result.errors[0].message


def test_trailing_empty_cells_and_blank_lines_are_ignored(tmp_path):
    (result,) = read(write_csv(tmp_path, [[*HEADER, ""], [*VALID, "", ""], [""] * 6, []]))

    assert result.is_valid


def test_headers_match_whatever_their_case_accents_spaces_and_dashes(tmp_path):
    header = ["N° Allocataire", "NOM", "Prénom", "date-de-naissance", "STATUT_DES_DROITS"]
    (result,) = read(write_csv(tmp_path, [header, VALID]))

    assert result.is_valid


@pytest.mark.parametrize(
    ("header", "column"),
    [
        ("Numéro CAF", "numero_allocataire"),
        ("matricule", "numero_allocataire"),
        ("N° allocataire", "numero_allocataire"),
        ("Date de naissance", "date_naissance"),
        ("DTNAI", "date_naissance"),
        ("Nom d'usage", "nom"),
        ("E-mail", "courriel"),
        ("CP", "code_postal"),
        ("Soumis aux droits et devoirs", "sdd"),
    ],
)
def test_aliases_name_their_column(header, column):
    assert ALIASES[normalise_header(header)] == column


def test_every_column_is_known_by_its_name_its_label_and_its_aliases():
    for column in IMPORT_COLUMNS:
        for alias in (column.name, column.label, *column.aliases):
            assert ALIASES[normalise_header(alias)] == column.name


def test_normalise_header_ignores_case_accents_and_separators():
    assert normalise_header("  N° d'Allocataire ") == normalise_header("n_dallocataire") == "ndallocataire"
    assert normalise_header("Date-de_Naissance") == "datedenaissance"


def test_the_callers_mapping_names_columns_the_aliases_do_not_know(tmp_path):
    header = ["Réf. dossier", "Patronyme", "Prénom", "Né(e) le", "Situation"]
    mapping = {
        normalise_header("Réf. dossier"): "numero_allocataire",
        "patronyme": "nom",
        "situation": "statut_droits",
    }

    (result,) = read(write_csv(tmp_path, [header, VALID]), mapping=mapping)

    assert result.is_valid
    assert result.record.last_name == "MARTIN"


def test_the_mapping_wins_over_an_alias_and_may_ignore_a_column(tmp_path):
    header = [*HEADER, "Statut", "Commune"]
    row = [*VALID, "clos", "Ignorée"]
    mapping = {"statut": "", "commune": ""}  # two columns the admin chose to ignore

    (result,) = read(write_csv(tmp_path, [header, row]), mapping=mapping)

    assert result.record.rsa_status == "open"
    assert result.record.commune == ""


def test_a_mapping_naming_an_unknown_column_refuses_the_file(tmp_path):
    with pytest.raises(ImportFileError, match="colonne inconnue « nir »"):
        read_import_file(write_csv(tmp_path, [HEADER, VALID]), filename="x.csv", mapping={"secu": "nir"})


def test_a_missing_required_column_is_named_with_the_columns_found(tmp_path):
    with pytest.raises(ImportFileError) as caught:
        read_import_file(write_csv(tmp_path, [HEADER[:-1], VALID[:-1]]), filename="x.csv")

    message = caught.value.message
    assert "Colonne obligatoire absente : « statut_droits » (Statut des droits RSA)" in message
    assert "Colonnes trouvées dans le fichier : « numero_allocataire », « nom »" in message


def test_two_columns_naming_the_same_field_refuse_the_file(tmp_path):
    with pytest.raises(ImportFileError, match="désignent toutes deux"):
        read_import_file(write_csv(tmp_path, [[*HEADER, "Matricule"], [*VALID, "1"]]), filename="x.csv")


def test_a_file_with_only_a_header_is_refused():
    with pytest.raises(ImportFileError, match="ne contient aucune ligne"):
        read_import_file(FILES / "header_only.csv", filename="header_only.csv")


@pytest.mark.parametrize("content", [b"", b"   \r\n\r\n"])
def test_an_empty_file_is_refused(tmp_path, content):
    path = tmp_path / "empty.csv"
    path.write_bytes(content)

    with pytest.raises(ImportFileError, match="vide"):
        read_import_file(path, filename="empty.csv")


def test_a_file_bigger_than_the_limit_is_refused(tmp_path, settings):
    settings.IMPORT_MAX_BYTES = 50
    path = write_csv(tmp_path, [HEADER, VALID])

    with pytest.raises(ImportFileError, match="au-delà de la limite de 50\u00a0octets"):
        read_import_file(path, filename="x.csv")


def test_a_file_in_neither_utf8_nor_windows_1252_is_refused(tmp_path):
    path = tmp_path / "mixed.csv"
    # 0x81 and 0x9d are undefined in Windows-1252, and this is not valid UTF-8 either.
    path.write_bytes(";".join(HEADER).encode() + b"\r\n1234567;MARTIN;L\x81a\x9d;02/01/1980;ouvert\r\n")

    with pytest.raises(ImportFileError, match="encodage du fichier n'est pas reconnu"):
        read_import_file(path, filename="mixed.csv")


def test_a_utf16_export_with_a_bom_is_read(tmp_path):
    path = write_csv(tmp_path, [HEADER, VALID], delimiter="\t", encoding="utf-16")

    (result,) = read(path)

    assert result.record.first_name == "Léa"


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("photo.png", b"\x89PNG\r\n", r"non pris en charge \(\.png\)"),
        ("ancien.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, r"97-2003 \(.xls\)"),
        ("ancien", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, r"ancien classeur Excel \(.xls\)"),
        ("binaire", b"\x00\x01\x02\x03binary", "contenu binaire"),
        ("document.pdf", b"%PDF-1.7\n", "non pris en charge"),
        ("rapport", b"%PDF-1.7\n%\xe2\xe3", "contenu binaire"),
        (
            "faux.xlsx",
            b"numero_allocataire;nom\r\n1;A\r\n",
            "extension .xlsx mais son contenu est un fichier CSV",
        ),
        ("faux.csv", b"<Racine></Racine>", "extension .csv mais son contenu est un fichier XML"),
    ],
)
def test_a_file_that_is_not_a_csv_xlsx_or_xml_is_refused_from_its_content(tmp_path, name, content, message):
    path = tmp_path / "upload"
    path.write_bytes(content)

    with pytest.raises(ImportFileError, match=message):
        read_import_file(path, filename=name)


def test_an_unbalanced_quote_swallowing_the_file_is_still_read_row_by_row(tmp_path):
    path = tmp_path / "quote.csv"
    path.write_bytes((";".join(HEADER) + '\r\n1234567;"MARTIN;Léa;02/01/1980;ouvert\r\n').encode())

    (result,) = read(path)

    assert not result.is_valid  # everything after the quote is one value: the other columns are empty


def test_count_data_rows_counts_records_not_lines(tmp_path):
    path = tmp_path / "quoted.csv"
    path.write_bytes(
        ";".join(HEADER).encode() + b'\r\n1;"A\r\nB";C;01/01/1980;ouvert\r\n\r\n2;D;E;01/01/1980;clos\r\n'
    )

    assert count_data_rows(path, filename="quoted.csv") == 2
    assert count_data_rows(FILES / "latin1_semicolon.csv", filename="latin1_semicolon.csv") == 3


def test_header_of_gives_the_header_as_written():
    assert header_of(FILES / "utf8_tab.tsv", filename="utf8_tab.tsv")[:3] == ["Organisme", "N° allocataire", "Nom"]


def test_detect_format_reads_the_content(tmp_path):
    xlsx = write_xlsx(tmp_path, [HEADER, VALID])

    assert detect_format(xlsx, filename="sans_extension") == "xlsx"
    assert detect_format(FILES / "flux_beneficiaires.xml", filename="flux") == "xml"
    assert detect_format(FILES / "utf8_comma.csv", filename="export.txt") == "csv"


# .xlsx -----------------------------------------------------------------------------------------------


def test_xlsx_reads_real_dates_numbers_as_text_and_a_header_below_blank_rows(tmp_path):
    header = [*HEADER, "code_postal", "telephone", "date_statut", "sdd"]
    rows = [
        header,
        [1234567, "MARTIN", "Léa", EXCEL_DATE, "ouvert", 1000, 612345678, 45678, True],
        ["7654321", "DURAND", "Paul", "03/04/1981", "Suspendu", "75001", "+33 6 12 34 56 78", "2025-01-31", "non"],
        [1234568.0, "PETIT", "Marc", 29221, "clos", None, None, None, 0],
    ]

    first, second, third = read(write_xlsx(tmp_path, rows, blank_rows_before=2))

    assert [first.line, second.line, third.line] == [4, 5, 6]
    assert first.record.allocataire_number == "1234567"  # not "1234567.0"
    assert first.record.birth_date == datetime.date(1980, 1, 2)
    assert first.record.postcode == "01000"
    assert first.record.phone == "0612345678"
    assert first.record.rsa_status_date == datetime.date(2025, 1, 21)  # an Excel serial number
    assert first.record.sdd is True
    assert second.record.rsa_status == "suspended"
    assert second.record.phone == "+33612345678"
    assert second.record.rsa_status_date == datetime.date(2025, 1, 31)
    assert third.record.allocataire_number == "1234568"
    assert third.record.birth_date == datetime.date(1980, 1, 1)
    assert third.record.sdd is False


def test_xlsx_with_only_a_header_is_refused(tmp_path):
    with pytest.raises(ImportFileError, match="ne contient aucune ligne"):
        read_import_file(write_xlsx(tmp_path, [HEADER]), filename="x.xlsx")


def test_xlsx_without_a_required_column_is_refused(tmp_path):
    with pytest.raises(ImportFileError, match="« nom »"):
        read_import_file(write_xlsx(tmp_path, [["numero_allocataire", "prenom"], [1, "A"]]), filename="x.xlsx")


def test_a_zip_that_is_not_a_workbook_is_refused():
    with pytest.raises(ImportFileError, match="pas un classeur Excel .xlsx lisible"):
        read_import_file(FILES / "not_a_workbook.xlsx", filename="not_a_workbook.xlsx")


def test_a_truncated_workbook_is_refused(tmp_path):
    path = write_xlsx(tmp_path, [HEADER, VALID])
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])

    with pytest.raises(ImportFileError, match="xlsx"):
        read_import_file(path, filename="x.xlsx")


def test_a_workbook_with_a_damaged_part_is_refused(tmp_path):
    path = write_xlsx(tmp_path, [HEADER, VALID])
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo("xl/worksheets/sheet1.xml")
    start = info.header_offset + 30 + len(info.filename) + len(info.extra)
    data[start + 5] ^= 0xFF  # flip bits inside the compressed sheet: its CRC no longer matches
    path.write_bytes(bytes(data))

    with pytest.raises(ImportFileError, match="xlsx"):
        read_import_file(path, filename="x.xlsx")


def test_count_data_rows_for_xlsx_reads_the_declared_dimension(tmp_path):
    # An estimate for the progress bar: the blank row counts, as the sheet declares it.
    assert count_data_rows(write_xlsx(tmp_path, [HEADER, VALID, VALID, [], VALID]), filename="x.xlsx") == 4
