"""A guard on the shared personas (tests/personas.py): the world is what its docstring says."""

import pytest

from casework.permissions import can_change, visible_beneficiaries
from tests.personas import share_with_recipient

pytestmark = pytest.mark.django_db

PEOPLE = (
    "referent",
    "colleague",
    "other",
    "housing_worker",
    "supervisor",
    "other_supervisor",
    "admin",
    "auditor",
    "recipient",
)


def readers(personas, file) -> set[str]:
    return {name for name in PEOPLE if visible_beneficiaries(getattr(personas, name)).filter(pk=file.pk).exists()}


def test_each_file_is_read_by_its_referent_and_their_supervisor_only(personas):
    assert readers(personas, personas.file) == {"referent", "supervisor"}
    assert readers(personas, personas.other_file) == {"other", "other_supervisor"}
    changers = {name for name in PEOPLE if can_change(getattr(personas, name), personas.file)}
    assert changers == {"referent", "supervisor"}


def test_sharing_with_the_recipient_lets_them_read_the_file_not_act_on_it(personas):
    share_with_recipient(personas)

    assert readers(personas, personas.file) == {"referent", "supervisor", "recipient"}
    assert not can_change(personas.recipient, personas.file)
    assert personas.share.shared_with_user == personas.recipient
