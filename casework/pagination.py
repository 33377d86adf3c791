"""Pagination of large, annotated querysets: the page's ids first, then only their rows.

Django's Paginator slices the queryset (`ORDER BY ... LIMIT 50 OFFSET n`): the database computes every
column of the n skipped rows too, the annotations' subqueries included, so that a page deep in a list of
25,000 files costs as much as reading them all. `IdPaginator` sends the same single statement for a
page, written so that only the page's rows are computed:

    SELECT <columns> FROM t WHERE id IN (SELECT id FROM t WHERE ... ORDER BY ... LIMIT 50 OFFSET n)
    ORDER BY ...

(the inner query reads only what the filters and the ordering need). The count is the Paginator's.

`counted_page` reads a page of a `values_list()` query (the team's alerts: a UNION) and the number of its
rows in one statement, where the Paginator would run the query twice.
"""

from collections.abc import Sequence

from django.core.paginator import Page, Paginator
from django.db.models import QuerySet


class IdPaginator(Paginator):
    """A Paginator for model querysets whose ordering ends with a unique column (the pk)."""

    def page(self, number):
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        top = bottom + self.per_page
        if top + self.orphans >= self.count:
            top = self.count
        ids = self.object_list.values("pk")[bottom:top]
        return self._get_page(self.object_list.filter(pk__in=ids), number, self)


# --- A page and the count in one statement --------------------------------------------------------------


def counted_page(queryset: QuerySet, number, per_page: int) -> Page:
    """A page of a `values_list()` queryset (a UNION included) with the number of rows in all, in one
    statement where Django's Paginator sends two (a COUNT of the whole query, then the page):

        SELECT u.*, COUNT(*) OVER () FROM (<the queryset, unordered>) u ORDER BY <order> LIMIT n OFFSET m

    The queryset's `order_by()` names its columns ("-due" for descending) and ends with a unique one. As
    `Paginator.get_page`: a page number that is not a whole number ≥ 1 gives the first page, one beyond
    the last page gives the last page (then, and only then, two more statements: the count, the page).
    """
    if queryset.query.is_empty():  # none(): nothing to read
        return Paginator([], per_page).page(1)
    order = list(queryset.query.order_by)
    if not order or not all(isinstance(name, str) for name in order):
        raise ValueError("counted_page wants a queryset ordered by the names of its columns.")
    try:
        number = max(int(number), 1)
    except (TypeError, ValueError):
        number = 1
    rows, count = _rows_and_count(queryset, order, offset=(number - 1) * per_page, limit=per_page)
    if count is None:  # no row on this page: the list is empty, or the page is beyond its end
        count = 0
        if number > 1:
            _, count = _rows_and_count(queryset, order, offset=0, limit=1)
            count = count or 0
            number = max(1, -(-count // per_page))
            if count:
                rows, _ = _rows_and_count(queryset, order, offset=(number - 1) * per_page, limit=per_page)
    return Paginator(_FetchedPage(rows, count, offset=(number - 1) * per_page), per_page).page(number)


def _rows_and_count(queryset: QuerySet, order: Sequence[str], *, offset: int, limit: int) -> tuple[list, int | None]:
    """The rows [offset, offset + limit) in this order, converted as Django converts them, and the count
    of all rows (None when there is no row in that range)."""
    unordered = queryset.order_by()
    compiler = unordered.query.get_compiler(using=unordered.db)
    sql, params = compiler.as_sql()
    quote = compiler.connection.ops.quote_name
    ordering = ", ".join(f"u.{quote(name.lstrip('-'))} {'DESC' if name.startswith('-') else 'ASC'}" for name in order)
    statement = f"SELECT u.*, COUNT(*) OVER () FROM ({sql}) u ORDER BY {ordering} LIMIT %s OFFSET %s"  # noqa: S608
    with compiler.connection.cursor() as cursor:
        cursor.execute(statement, (*params, limit, offset))
        fetched = cursor.fetchall()
    if not fetched:
        return [], None
    rows = compiler.results_iter(results=[[row[:-1] for row in fetched]], tuple_expected=True)
    return list(rows), fetched[0][-1]


class _FetchedPage:
    """The paginator's object list: as long as all the rows, holding those of the one page fetched."""

    def __init__(self, rows: list, count: int, *, offset: int) -> None:
        self.rows, self.count_, self.offset = rows, count, offset

    def __len__(self) -> int:
        return self.count_

    def __getitem__(self, index: slice) -> list:
        start, stop, _ = index.indices(self.count_)
        if start != self.offset or stop - start != len(self.rows):
            raise RuntimeError("Page hors de la page lue.")
        return self.rows
