"""IdPaginator: the same pages as Django's Paginator, the rows fetched by id."""

from datetime import timedelta

import pytest
from django.core.paginator import Paginator
from django.db.models import F, Value
from django.db.models.functions import Concat
from django.utils import timezone

from casework.models import Beneficiary
from core.pagination import IdPaginator
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


@pytest.mark.parametrize("number", [1, 5])
def test_a_page_and_the_count_are_two_statements_whatever_its_depth(files, number, django_assert_num_queries):
    paginator = IdPaginator(files, 5)
    with django_assert_num_queries(2) as captured:
        page = paginator.page(number)
        assert paginator.count == 23 and paginator.num_pages == 5
        assert len(list(page)) == (3 if number == 5 else 5)
    ids, rows = (query["sql"] for query in captured.captured_queries)
    assert "OVER ()" in ids and "COUNT(*)" in ids
    assert "LIMIT 5" in ids  # the ids of one page only
    assert "SELECT" not in rows.partition(" FROM ")[2]  # by a list of ids, not a subquery


def test_rows_read_the_page_by_id_with_their_own_columns(files, django_assert_num_queries):
    """`rows(ids)` reads the page's rows from the table by id, without the list's conditions: the rows of
    the list, in its order."""
    expected = Paginator(files, 5)
    for number in expected.page_range:
        paginator = IdPaginator(files, 5, rows=lambda ids: Beneficiary.objects.filter(pk__in=ids).only("pk"))
        with django_assert_num_queries(2) as captured:
            page = list(paginator.page(number))
        assert [row.pk for row in page] == [row.pk for row in expected.page(number)]
        assert "LIKE" not in captured.captured_queries[1]["sql"]


def test_an_empty_list_is_one_statement(files, django_assert_num_queries):
    paginator = IdPaginator(files.filter(last_name="personne"), 5)
    with django_assert_num_queries(1):
        page = paginator.get_page(1)
        assert list(page) == [] and paginator.count == 0 and page.number == 1


def test_a_distinct_or_sliced_list_is_refused(files):
    with pytest.raises(ValueError):
        IdPaginator(files.distinct(), 5)
    with pytest.raises(ValueError):
        IdPaginator(files[:10], 5)


@pytest.mark.parametrize("number", [None, "x", 1, "3"])
def test_get_page_reads_a_page_and_the_count_in_two_statements(files, number, django_assert_num_queries):
    with django_assert_num_queries(2):
        page = IdPaginator(files, 5).get_page(number)
        assert page.paginator.count == 23 and len(list(page)) == 5


def test_get_page_falls_back_like_django(files):
    paginator = IdPaginator(files, 5)
    assert paginator.get_page("x").number == 1
    assert paginator.get_page(99).number == paginator.num_pages
    assert paginator.get_page(0).number == Paginator(files, 5).get_page(0).number
    assert [row.pk for row in paginator.get_page(99)] == [row.pk for row in Paginator(files, 5).page(5)]


def test_a_second_page_of_the_same_paginator_reads_its_own_ids(files):
    paginator = IdPaginator(files, 5)
    first, second = paginator.page(1), paginator.page(2)
    reference = Paginator(files, 5)
    assert [row.pk for row in first] == [row.pk for row in reference.page(1)]
    assert [row.pk for row in second] == [row.pk for row in reference.page(2)]


@pytest.mark.parametrize(
    "order",
    [
        F("last_activity_at").asc(nulls_first=True),
        F("last_activity_at").desc(nulls_last=True),
        F("last_activity_at").desc(),
        "-label",
    ],
)
def test_orders_by_expressions_and_annotations_with_nulls_as_django(files, order):
    """The page's ids are ordered outside the query that reads them: the same order as Django's, nulls and
    annotations included."""
    now = timezone.now()
    for index, beneficiary in enumerate(files.order_by("pk")):
        if index % 3:
            Beneficiary.objects.filter(pk=beneficiary.pk).update(last_activity_at=now - timedelta(days=index % 4))
    ordered = files.order_by(order, "last_name", "pk")
    expected = Paginator(ordered, 4)
    for number in expected.page_range:
        page = IdPaginator(ordered, 4).page(number)
        assert [row.pk for row in page] == [row.pk for row in expected.page(number)]


def test_a_list_that_can_match_nothing_sends_no_statement(files, django_assert_num_queries):
    for nothing in (files.none(), files.filter(pk__in=[])):
        with django_assert_num_queries(0):
            page = IdPaginator(nothing, 5).get_page(3)
            assert list(page) == [] and page.number == 1 and page.paginator.count == 0
