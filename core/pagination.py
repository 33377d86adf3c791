"""Pagination of large, annotated querysets: the page's ids first, then only their rows.

Django's Paginator counts the queryset (`SELECT COUNT(*)`), then slices it (`ORDER BY ... LIMIT 50
OFFSET n`): the database walks the queryset's conditions twice (for the caseload, the permission scope),
and computes every column of the n skipped rows too, so that a page deep in a list of 25,000 files costs
as much as reading them all. `IdPaginator` sends two statements, each cheap to plan and to run:

    SELECT id, COUNT(*) OVER () FROM t WHERE ... ORDER BY ... LIMIT 50 OFFSET n   -- the page's ids, the count
    SELECT <columns> FROM t WHERE id IN (<those ids>)                              -- the page's rows

The first reads only what the conditions and the ordering need; the second reads the page's rows by
their primary key, without the conditions again (the ids come from the first statement).

`counted_page` reads a page of a `values_list()` query (the team's alerts: a UNION) and the number of its
rows in one statement, where the Paginator would run the query twice.
"""

from collections.abc import Sequence

from django.core.exceptions import EmptyResultSet
from django.core.paginator import EmptyPage, Page, PageNotAnInteger, Paginator
from django.db.models import F, OrderBy, QuerySet


def _order_by(item) -> OrderBy:
    """An item of `QuerySet.query.order_by` ("name", "-name", an expression, `F(...).desc()`) as an OrderBy."""
    if isinstance(item, OrderBy):
        return item
    if isinstance(item, str):
        if item == "?" or "." in item:
            raise ValueError(f"IdPaginator cannot order by {item!r}.")
        return OrderBy(F(item.removeprefix("-")), descending=item.startswith("-"))
    return item.asc()


class IdPaginator(Paginator):
    """A Paginator for model querysets whose ordering ends with a unique column (the pk).

    `rows(ids)`, when given, is the queryset of the page's rows from their ids (by default, the object
    list narrowed to them, which repeats its conditions). It is called only with ids the paginator has
    just read from the object list, so it may start from the model's whole table: the page's rows are
    those of the object list, in the list's order, with the columns `rows` reads. A page beyond the last
    (`get_page` then shows the last) costs one COUNT more.
    """

    def __init__(self, object_list, per_page, orphans=0, allow_empty_first_page=True, *, rows=None):
        super().__init__(object_list, per_page, orphans=orphans, allow_empty_first_page=allow_empty_first_page)
        if object_list.query.distinct or object_list.query.is_sliced:
            raise ValueError("IdPaginator wants a queryset neither distinct nor sliced.")
        self.rows = rows
        self._read: dict[int, list] = {}  # page number -> the ids read with the count

    def get_page(self, number):
        """As Paginator.get_page (a wrong number gives the first page, one beyond the end the last page),
        without a COUNT of its own before reading the page."""
        try:
            return self.page(number)
        except PageNotAnInteger:
            return self.page(1)
        except EmptyPage:
            return self.page(self.num_pages)

    def page(self, number):
        number = self.validate_number(number) if "count" in self.__dict__ else self._first_read(number)
        bottom = (number - 1) * self.per_page
        top = bottom + self.per_page
        if top + self.orphans >= self.count:
            top = self.count
        ids = self._read.pop(number)[: top - bottom] if number in self._read else self._read_ids(bottom, top)[0]
        return self._get_page(self._rows(ids), number, self)

    def _first_read(self, number) -> int:
        """Validate the number as Paginator.validate_number does, reading the page's ids and the count of
        all rows in one statement."""
        if isinstance(number, float) and not number.is_integer():
            raise PageNotAnInteger(self.error_messages["invalid_page"])
        try:
            number = int(number)
        except (TypeError, ValueError):
            raise PageNotAnInteger(self.error_messages["invalid_page"]) from None
        if number < 1:
            raise EmptyPage(self.error_messages["min_page"])
        bottom = (number - 1) * self.per_page
        ids, count = self._read_ids(bottom, bottom + self.per_page + self.orphans)
        if count is not None or number == 1:
            self.__dict__["count"] = count or 0  # Paginator.count is a cached_property
            self._read[number] = ids
        # Else the page is beyond the last: validate_number reads the count (a COUNT) and says so.
        return self.validate_number(number)

    def _read_ids(self, bottom: int, top: int) -> tuple[list, int | None]:
        """The ids of the rows [bottom, top) in the list's order, and the count of all its rows (None when
        there is no row in that range), in one statement:

            SELECT u.*, COUNT(*) OVER () FROM (SELECT id, <order columns> FROM ... WHERE ...) u
            ORDER BY 2, 3... LIMIT n OFFSET m

        The inner query is unordered and fenced on purpose: otherwise PostgreSQL 15 may walk an index in the
        list's order over the whole table for the count (it costs the window as if the LIMIT stopped it
        early: 50–110 ms instead of ~15 for a supervisor's 25,000 files among 100,000)."""
        queryset = self.object_list
        columns, ordering = {}, []
        for index, item in enumerate(queryset.query.order_by):
            order = _order_by(item)
            columns[f"_order_{index}"] = order.expression
            nulls = " NULLS FIRST" if order.nulls_first else " NULLS LAST" if order.nulls_last else ""
            ordering.append(f"{index + 2} {'DESC' if order.descending else 'ASC'}{nulls}")
        if not ordering:
            raise ValueError("IdPaginator wants a queryset with an explicit order_by() ending with the pk.")
        inner = queryset.order_by().annotate(**columns).values_list("pk", *columns)
        compiler = inner.query.get_compiler(using=inner.db)
        try:
            sql, params = compiler.as_sql()
        except EmptyResultSet:  # none(), or a condition that can match nothing: no statement
            return [], None
        # `OFFSET 0` keeps PostgreSQL from pulling the inner query up into the outer one (where it would walk
        # the list's order again); SQLite has no such planning, and no OFFSET without a LIMIT.
        fence = " OFFSET 0" if compiler.connection.vendor == "postgresql" else ""
        statement = (
            f"SELECT u.*, COUNT(*) OVER () FROM ({sql}{fence}) u "  # noqa: S608
            f"ORDER BY {', '.join(ordering)} LIMIT %s OFFSET %s"
        )
        with compiler.connection.cursor() as cursor:
            cursor.execute(statement, (*params, top - bottom, bottom))
            rows = cursor.fetchall()
        to_python = queryset.model._meta.pk.to_python
        return [to_python(row[0]) for row in rows], (rows[0][-1] if rows else None)

    def _rows(self, ids: list) -> list:
        if not ids:
            return []
        rows = self.object_list.filter(pk__in=ids) if self.rows is None else self.rows(ids)
        position = {pk: index for index, pk in enumerate(ids)}
        return sorted(rows, key=lambda row: position[row.pk])


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
