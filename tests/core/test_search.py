"""Searching names whatever their accents and case (core/search.py)."""

import re

import pytest

from accounts.models import Structure
from core import search
from tests.accounts.factories import StructureFactory


def test_a_term_is_folded_and_split_into_words():
    assert search.words("  Jean-Pierre  N'DIAYE, Hélène ") == ["jean", "pierre", "n", "diaye", "helene"]
    assert search.words("a b c d e f g") == ["a", "b", "c", "d", "e"]  # MAX_WORDS
    assert search.words("x" * 500) == ["x" * search.MAX_LENGTH]
    assert search.words("(.*)[%_]") == ["_"]


@pytest.mark.parametrize(
    ("term", "long_enough"), [("", False), ("é", False), ("a-", False), ("é e", True), ("ab", True)]
)
def test_a_term_needs_two_letters_or_digits(term, long_enough):
    assert search.is_long_enough(term) is long_enough


@pytest.mark.parametrize("name", ["Hélène", "HELENE", "hélène", "Hèlêne", "Ĥélène"])
def test_a_word_matches_its_accented_forms_in_both_cases(name):
    pattern = search.word_pattern("helene")

    assert re.fullmatch(pattern, name, re.IGNORECASE)
    assert re.fullmatch(pattern, name)  # both cases are in each class: no need of the database's folding


def test_a_word_matches_nothing_else():
    assert not re.search(search.word_pattern("helene"), "Hélèna")
    assert search.word_pattern("o_2") == "[oOÒÓÔÕÖòóôõöŌōŎŏŐő]_2"


@pytest.mark.django_db
def test_every_word_must_be_found_in_one_of_the_fields():
    cote = StructureFactory(name="MDS Côte d'Opale")
    StructureFactory(name="MDS Nord")
    structures = Structure.objects.all()

    assert list(search.matching_words(structures, "cote OPALE", ("name",))) == [cote]
    assert list(search.matching_words(structures, "côté mds", ("name",))) == [cote]
    assert not search.matching_words(structures, "cote nord", ("name",)).exists()
