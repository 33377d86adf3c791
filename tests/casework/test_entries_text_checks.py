"""Free text is personal data: finding a NIR, an IBAN or health words (casework.text_checks)."""

import pytest

from casework.text_checks import (
    HEALTH,
    IBAN,
    NIR,
    find_health_words,
    find_personal_data,
    findings_digest,
    is_valid_iban,
    is_valid_nir,
)

# Made-up numbers whose check digits are right.
VALID_NIRS = [
    "1 85 05 78 006 084 91",
    "185057800608491",
    "2.93.02.99.123.456.02",
    "1 80 02 2A 004 123 59",  # Corsica: 2A counts as 19
    "1 80 02 2B 004 123 86",  # 2B counts as 18
    "7 85 05 78 006 084 82",
]
VALID_IBANS = [
    "FR76 3000 6000 0112 3456 7890 189",
    "FR7630006000011234567890189",
    "DE89 3704 0044 0532 0130 00",
    "GB82 WEST 1234 5698 7654 32",
    "BE68 5390 0754 7034",  # a bank python-stdnum's Belgian list does not know: still an IBAN
    "fr76 3000 6000 0112 3456 7890 189",
]


@pytest.mark.parametrize("nir", VALID_NIRS)
def test_a_nir_with_its_right_key_is_found_however_it_is_written(nir):
    assert is_valid_nir(nir)
    findings = find_personal_data(f"Son numéro de sécu : {nir}. À vérifier.")
    assert [finding.kind for finding in findings] == [NIR]
    assert findings[0].text == nir


@pytest.mark.parametrize(
    "nir",
    [
        "1 85 05 78 006 084 92",  # wrong key
        "3 85 05 78 006 084 91",  # first digit neither 1, 2, 7 nor 8
        "1 80 02 2C 004 123 59",  # not Corsica
        "1 80 02 2A 004 123 60",  # Corsica, wrong key
        "1 85 05 78 006 084",  # no key
    ],
)
def test_a_number_that_is_not_a_nir_is_not_reported(nir):
    assert not is_valid_nir(nir)
    assert find_personal_data(f"Numéro : {nir}") == []


def test_a_nir_glued_to_more_digits_is_not_taken_for_one():
    assert find_personal_data("Référence 18505780060849123") == []


@pytest.mark.parametrize("iban", VALID_IBANS)
def test_an_iban_whose_check_digits_hold_is_found(iban):
    assert is_valid_iban(iban)
    findings = find_personal_data(f"RIB : {iban} merci de verser l'aide")
    assert [finding.kind for finding in findings] == [IBAN]
    assert findings[0].text == iban


@pytest.mark.parametrize(
    "iban",
    [
        "FR76 3000 6000 0112 3456 7890 188",  # wrong check
        "FR76 3000 6000 0112 3456 7890",  # too short for France
        "DE89 3704 0044 0532 0130 01",
        "ZZ12 3456 7890 1234",  # no such country
    ],
)
def test_an_iban_whose_check_fails_is_not_reported(iban):
    assert not is_valid_iban(iban)
    assert find_personal_data(f"RIB : {iban}") == []


@pytest.mark.parametrize(
    "text",
    [
        "Numéro allocataire CAF 1234567, à rappeler au 06 12 34 56 78.",
        "Téléphone : +33 6 12 34 56 78 ou 0612345678.",
        "Rendez-vous le 12/05/2026 à 14 h, puis le 2026-06-01.",
        "Dossier n° 2024-000123, facture 1234567890123.",
        "Montant : 1 234,56 € versé le 03.04.2026.",
        "Formation CACES R489 en juin, puis stage de 3 semaines.",
    ],
)
def test_no_false_alarm_on_ordinary_numbers(text):
    assert find_personal_data(text) == []


def test_health_words_are_found_whatever_their_case_and_accents():
    text = "Suivi MDPH en cours ; DEPRESSION signalée, hospitalisée en mars, Traitement  médical, diabète."
    found = [finding.text for finding in find_health_words(text)]
    assert found == ["MDPH", "DEPRESSION", "hospitalisée", "Traitement  médical", "diabète"]


@pytest.mark.parametrize(
    "word",
    ["cancer", "VIH", "séropositive", "psychiatrique", "addiction", "alcoolique", "toxicomanie", "grossesse",
     "IVG", "handicapée", "ALD", "chimiothérapie", "hospitalisation"],
)  # fmt: skip
def test_each_health_word_of_the_list(word):
    assert [finding.kind for finding in find_personal_data(f"Elle évoque : {word}.")] == [HEALTH]


@pytest.mark.parametrize("text", ["Vivaldi à la vihuela", "Il aldine", "la calderade", "handicapable"])
def test_health_words_match_whole_words_only(text):
    assert find_health_words(text) == []


def test_health_words_can_be_left_out():
    assert find_personal_data("Diabète et cancer", health=False) == []


def test_each_health_word_is_reported_once():
    assert len(find_health_words("cancer, encore un cancer, toujours le cancer")) == 1


def test_numbers_are_masked_in_the_warning():
    [nir, iban] = find_personal_data("1 85 05 78 006 084 91 / FR76 3000 6000 0112 3456 7890 189")
    assert nir.masked == "1 85 05…"
    assert iban.masked == "FR76 30…"


def test_the_digest_changes_when_the_findings_change():
    first = find_personal_data("cancer")
    assert findings_digest(first) == findings_digest(find_personal_data("Cancer"))
    assert findings_digest(first) != findings_digest(find_personal_data("cancer 1 85 05 78 006 084 91"))
