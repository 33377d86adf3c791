"""The CAF/MSA XML flux bénéficiaires RSA: mapping of a synthetic flux, and files refused safely."""

import datetime
import tracemalloc

import pytest

from imports.flux import read_flux
from imports.readers import count_data_rows, read_import_file
from imports.records import ImportFileError
from tests.imports.helpers import FILES, read

FLUX = FILES / "flux_beneficiaires.xml"


def flux(foyers: str) -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<Racine>\n<IdentificationFlux><DTREF>2025-02-28</DTREF>'
        f"</IdentificationFlux>\n{foyers}<TransmissionFlux/>\n</Racine>\n"
    )


def foyer(*, number: str, state: str, fonorg: str = "CAF", first_name: str = "Prénom") -> str:
    organism = f"<FONORG>{fonorg}</FONORG>" if fonorg else ""
    return f"""<InfosFoyerRSA>
<IdentificationRSA><Organisme>{organism}<MATRICULE>{number}</MATRICULE></Organisme>
<DemandeRSA><DTDEMRSA>2024-01-01</DTDEMRSA></DemandeRSA></IdentificationRSA>
<Personne><Identification><NOM>NOM</NOM><NOMNAI>NOM</NOMNAI><PRENOM>{first_name}</PRENOM>
<DTNAI>1980-01-01</DTNAI><SEXE>1</SEXE></Identification>
<Prestations><NATPREST>RSA</NATPREST><ROLEPERS>DEM</ROLEPERS><TOPCHAPERS>false</TOPCHAPERS></Prestations>
</Personne>
<PrestationRSA><SituationDossierRSA><EtatDossierRSA><ETATDOSRSA>{state}</ETATDOSRSA></EtatDossierRSA>
</SituationDossierRSA></PrestationRSA>
</InfosFoyerRSA>
"""


@pytest.fixture
def flux_results():
    return read(FLUX)


def test_each_foyer_is_one_row_on_the_line_it_starts(flux_results):
    assert [result.line for result in flux_results] == [13, 63, 91, 129, 152, 186]
    assert count_data_rows(FLUX, filename="flux.xml") == 6


def test_an_open_caf_file_with_a_spouse_and_a_child(flux_results):
    record = flux_results[0].record

    assert record.key == ("caf", "1000001")  # MATRICULE 000000001000001: an xsd:integer, zeros dropped
    assert (record.last_name, record.birth_name, record.first_name) == ("EXEMPLE", "ESSAI", "Amélie")
    assert (record.birth_date, record.sex) == (datetime.date(1985, 4, 12), "F")
    assert (record.rsa_status, record.rsa_status_date, record.sdd) == ("open", None, True)
    assert record.rsa_entry_date == datetime.date(2024, 6, 15)
    assert record.address_line == "Bâtiment B, 12 RUE DES ESSAIS"
    assert (record.postcode, record.commune, record.insee_code) == ("99100", "VILLE-EXEMPLE", "99001")
    assert [(m.relationship, m.first_name, m.birth_date, m.is_dependent) for m in record.household] == [
        ("spouse", "Bruno", datetime.date(1983, 9, 30), False),
        ("child", "Chloé", datetime.date(2016, 2, 29), True),
    ]


def test_a_suspended_right_takes_the_suspension_date_and_the_applicants_sdd(flux_results):
    record = flux_results[1].record

    assert (record.rsa_status, record.rsa_status_date) == ("suspended", datetime.date(2025, 1, 1))
    assert record.sdd is False
    assert record.sex == "M"
    assert record.insee_code == "2A004"
    assert record.household == ()  # the flux always describes the household: here, nobody else


def test_an_msa_file_closed_with_its_current_address_and_another_dependant(flux_results):
    record = flux_results[2].record

    assert record.key == ("msa", "2000003")
    assert (record.rsa_status, record.rsa_status_date) == ("closed", datetime.date(2025, 2, 28))
    assert record.address_line == "LE HAMEAU"  # the address of rank 01, not the older one listed first
    assert record.postcode == "99300"
    assert [(m.relationship, m.is_dependent) for m in record.household] == [("other", True)]


def test_a_request_awaiting_decision_is_reported_not_imported(flux_results):
    result = flux_results[3]

    assert result.record is None
    assert [(error.column, error.value) for error in result.errors] == [("ETATDOSRSA", "0")]
    assert "demande en attente de décision" in result.errors[0].message


def test_a_household_member_born_in_the_future_refuses_the_foyer(flux_results):
    result = flux_results[4]

    assert result.record is None
    assert result.errors[0].column == "DTNAI"
    assert "Inès VERSEMENT" in result.errors[0].message


def test_a_matricule_already_in_the_flux_is_refused_naming_the_first_foyer(flux_results):
    result = flux_results[5]

    assert result.record is None
    assert result.errors[-1].column == "MATRICULE"
    assert "figure déjà ligne 13" in result.errors[-1].message


def test_the_flux_states_map_to_rsa_statuses(tmp_path):
    states = {"2": "open", "3": "suspended", "4": "suspended", "5": "closed", "6": "closed"}
    foyers = "".join(foyer(number=str(1000 + int(state)), state=state) for state in states)
    path = tmp_path / "states.xml"
    path.write_text(flux(foyers), encoding="utf-8")

    assert [result.record.rsa_status for result in read(path)] == list(states.values())


def test_a_refused_right_and_an_unknown_state_are_reported(tmp_path):
    path = tmp_path / "refused.xml"
    path.write_text(flux(foyer(number="1", state="1") + foyer(number="2", state="9")), encoding="utf-8")

    refused, unknown = read(path)

    assert "droit refusé" in refused.errors[0].message
    assert "État du dossier RSA inconnu : « 9 »" in unknown.errors[0].message


def test_without_fonorg_the_default_organism_applies(tmp_path):
    path = tmp_path / "msa.xml"
    path.write_text(flux(foyer(number="42", state="2", fonorg="")), encoding="utf-8")

    (result,) = read(path, default_organism="msa")

    assert result.record.key == ("msa", "42")


def test_a_flux_in_latin_1_is_read(tmp_path):
    path = tmp_path / "latin1.xml"
    text = flux(foyer(number="7", state="2", first_name="Hélène")).replace('encoding="UTF-8"', 'encoding="ISO-8859-1"')
    path.write_bytes(text.encode("latin-1"))

    (result,) = read(path)

    assert result.record.first_name == "Hélène"


def test_a_flux_in_utf16_is_read_and_counted(tmp_path):
    path = tmp_path / "utf16.xml"
    path.write_bytes(flux(foyer(number="7", state="2")).replace("UTF-8", "UTF-16").encode("utf-16"))

    assert count_data_rows(path, filename="utf16.xml") == 1
    assert read(path)[0].record.key == ("caf", "7")


@pytest.mark.parametrize("name", ["billion_laughs.xml", "external_entity.xml"])
def test_entities_and_dtds_are_refused_before_anything_is_read(name):
    with pytest.raises(ImportFileError, match="refusé par sécurité"):
        read_import_file(FILES / name, filename=name)


def test_an_external_entity_is_never_resolved_even_through_the_row_reader():
    with pytest.raises(ImportFileError, match="refusé par sécurité"):
        list(read_flux(FILES / "external_entity.xml"))


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("<Racine><InfosFoyerRSA></Racine>", "mal formé ou mal encodé"),
        (flux(foyer(number="1", state="2"))[:-40], "mal formé"),
        ("<Autre><InfosFoyerRSA/></Autre>", "élément racine est « Autre »"),
        ('<?xml version="1.0"?><Racine><IdentificationFlux/></Racine>', "aucun dossier"),
    ],
)
def test_a_malformed_or_foreign_xml_is_refused_whole(tmp_path, content, message):
    path = tmp_path / "bad.xml"
    path.write_text(content, encoding="utf-8")

    with pytest.raises(ImportFileError, match=message):
        read_import_file(path, filename="bad.xml")


def test_a_badly_encoded_flux_is_refused(tmp_path):
    path = tmp_path / "bad.xml"
    path.write_bytes(flux(foyer(number="1", state="2", first_name="Hélène")).encode("latin-1"))  # declared UTF-8

    with pytest.raises(ImportFileError, match="mal encodé"):
        read_import_file(path, filename="bad.xml")


def test_a_large_flux_is_read_one_foyer_at_a_time(tmp_path):
    path = tmp_path / "large.xml"
    with path.open("w", encoding="utf-8") as stream:
        stream.write(flux("").split("<TransmissionFlux/>")[0])
        for number in range(1, 8001):
            stream.write(foyer(number=str(number), state="2"))
        stream.write("<TransmissionFlux/>\n</Racine>\n")
    size = path.stat().st_size

    tracemalloc.start()
    try:
        valid = sum(1 for result in read_import_file(path, filename="large.xml") if result.is_valid)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert valid == 8000
    # The whole document as a tree would take several times its size; one foyer at a time, the peak is
    # a constant (buffers, the foyers of one chunk) plus the duplicate index, about 100 bytes a row.
    assert peak < 512 * 1024 + 150 * 8000, f"peak {peak / 1e6:.1f} MB for a {size / 1e6:.1f} MB file"
