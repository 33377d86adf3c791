"""path_to gives the path reverse() gives (casework/paths.py)."""

import uuid

import pytest
from django.urls import NoReverseMatch, reverse, set_script_prefix

from core.paths import path_to

FILE, ENTRY = uuid.uuid4(), uuid.uuid4()


@pytest.mark.parametrize(
    ("name", "args"),
    [
        ("casework:file_detail", [FILE]),
        ("casework:step_status", [FILE, ENTRY]),
        ("casework:appointment_record", [FILE, ENTRY]),
        ("casework:entry_correct", [FILE, "note", ENTRY]),
        ("casework:entry_withdraw", [FILE, "rendez-vous", ENTRY]),
        ("casework:entry_withdraw", [FILE, "étape", ENTRY]),  # not a slug: reverse() says so
        ("casework:file_detail", [str(FILE)]),  # an id as text, where the path takes a UUID
        ("casework:caseload", []),
    ],
)
@pytest.mark.parametrize("prefix", ["/", "/parcours/"])
def test_the_path_is_reverses(name, args, prefix):
    set_script_prefix(prefix)
    try:
        try:
            expected = reverse(name, args=args)
        except NoReverseMatch:
            with pytest.raises(NoReverseMatch):
                path_to(name, *args)
            return
        assert path_to(name, *args) == expected
        assert path_to(name, *args) == expected  # and again, from the cache
    finally:
        set_script_prefix("/")


def test_each_row_gets_its_own_ids():
    first, second = uuid.uuid4(), uuid.uuid4()
    assert path_to("casework:step_status", first, second) == f"/dossiers/{first}/etapes/{second}/statut/"
    assert path_to("casework:step_status", second, first) == f"/dossiers/{second}/etapes/{first}/statut/"


def test_an_argument_the_path_does_not_take_is_refused_as_reverse_refuses_it():
    with pytest.raises(NoReverseMatch):
        path_to("casework:file_detail", "pas-un-uuid")
    with pytest.raises(NoReverseMatch):
        path_to("casework:file_detail", 12)
