"""Sizes written the French way: octets, Ko, Mo, Go (never Django's "Kio", "Mio")."""

import pytest
from django.template import Context, Template

from core.formats import file_size

NBSP = "\u00a0"


@pytest.mark.parametrize(
    ("size", "expected"),
    [
        (None, "—"),
        (0, "0 octet"),
        (1, "1 octet"),
        (512, "512 octets"),
        (1023, "1023 octets"),
        (1024, "1 Ko"),
        (1536, "1,5 Ko"),
        (1024 * 1024 - 1, "1 Mo"),
        (5 * 1024 * 1024 + 300 * 1024, "5,3 Mo"),
        (200 * 1024 * 1024, "200 Mo"),
        (3 * 1024**3 + 205 * 1024**2, "3,2 Go"),
        (2 * 1024**4, "2 To"),
        (5000 * 1024**4, "5000 To"),
    ],
)
def test_a_size_reads_in_french_units(size, expected):
    assert file_size(size) == expected.replace(" ", NBSP)


def test_the_number_and_its_unit_never_part_at_a_line_end():
    assert file_size(1536) == f"1,5{NBSP}Ko"


def test_the_template_filter_writes_mo_where_django_writes_mio():
    rendered = Template("{% load formats %}{{ size|file_size }} / {{ size|filesizeformat }}").render(
        Context({"size": 1536 * 1024})
    )
    assert rendered.startswith(f"1,5{NBSP}Mo / ")
    assert "Mio" in rendered.split(" / ")[1]  # what the filter is there to replace
