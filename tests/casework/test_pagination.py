"""IdPaginator: the same pages as Django's Paginator, the rows fetched by id."""

import pytest
from django.core.paginator import Paginator
from django.db.models import F, Value
from django.db.models.functions import Concat

from casework.models import Beneficiary
from casework.pagination import IdPaginator
from tests.casework.factories import BeneficiaryFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def files():
    # Duplicated names: the pk breaks ties, as in the caseload's orders.
    for index in range(23):
        BeneficiaryFactory(last_name=f"NOM{index % 7}", first_name=f"Prénom{index % 3}")
    return (
        Beneficiary.objects.annotate(label=Concat(F("last_name"), Value(" "), F("first_name")))
        .filter(last_name__startswith="NOM")
        .order_by("-last_name", "first_name", "pk")
    )


@pytest.mark.parametrize("orphans", [0, 3])
def test_every_page_holds_the_rows_of_django_paginator_in_the_same_order(files, orphans):
    expected = Paginator(files, 5, orphans=orphans)
    paginator = IdPaginator(files, 5, orphans=orphans)
    assert paginator.num_pages == expected.num_pages
    for number in expected.page_range:
        page, reference = paginator.page(number), expected.page(number)
        assert [(row.pk, row.label) for row in page] == [(row.pk, row.label) for row in reference]
        assert (page.start_index(), page.end_index()) == (reference.start_index(), reference.end_index())


def test_a_page_is_one_statement_whatever_its_depth(files, django_assert_num_queries):
    paginator = IdPaginator(files, 5)
    paginator.count  # noqa: B018 (the count is a statement of its own, read once)
    with django_assert_num_queries(1):
        assert len(list(paginator.page(paginator.num_pages))) == 3


def test_get_page_falls_back_like_django(files):
    paginator = IdPaginator(files, 5)
    assert paginator.get_page("x").number == 1
    assert paginator.get_page(99).number == paginator.num_pages
