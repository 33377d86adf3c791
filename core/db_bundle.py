"""Several querysets in one SQL statement, read back as the model instances Django would have built.

A page that shows a dozen kinds of objects sends a dozen queries, one per kind, however few rows each
returns. `fetch_bundle` compiles each queryset as Django would run it (same filters, joins,
`select_related`, ordering), makes each one a scalar subquery that aggregates its rows into a JSON
array, and sends them all in one `SELECT`:

    SELECT (SELECT json_agg(json_build_array(t."col1", t."col2", ...))::text FROM (<queryset 1>) t),
           (SELECT ... FROM (<queryset 2>) t), ...

(`json_group_array(json_array(...))` on SQLite). Each JSON row is turned back into what the database
driver would have returned for that column, then goes through Django's own converters, `Model.from_db`
and the `select_related` populators, as `ModelIterable` does: the instances are the same as those of
`list(queryset)`. Only the SQL that Django compiled, constants and column aliases are put together here;
every value travels as a query parameter.

Each row also carries its position (`ROW_NUMBER()` over the queryset's own ordering), since an
aggregate does not promise to keep the order of its subquery: the rows come back in the queryset's order.
`set_prefetched` then stores a list where `prefetch_related` would have (`instance.<accessor>.all()`).

On PostgreSQL the statement is a prepared one (settings.DATABASE_PREPARED_BUNDLES, on by default): its
parameters are bound by the server and its plan is kept on the connection. A page's bundle is the same
text from one request to the next (only the parameters change), and planning it cost more than running
it (file page: 13 ms of 16, measured, docs/performance.md); after five executions PostgreSQL keeps a
generic plan when it is as cheap as the custom ones, which it is for these point lookups on one file.
Other statements keep Django's client-side binding.
"""

import copy
import dataclasses
import datetime
import decimal
import functools
import itertools
import json
import operator
import uuid
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from django.conf import settings
from django.core.exceptions import EmptyResultSet, FieldDoesNotExist
from django.db import NotSupportedError, connections
from django.db.models import Model, QuerySet, Window
from django.db.models.constants import LOOKUP_SEP
from django.db.models.functions import RowNumber
from django.db.models.query import ModelIterable, get_related_populators
from django.utils.dateparse import parse_date, parse_datetime, parse_duration, parse_time

# The annotation that numbers each queryset's rows in its own order.
POSITION = "bundle_position"

# Values per JSON array call: PostgreSQL takes at most 100 arguments, SQLite 127 by default. A wider row
# is sent as an array of arrays.
_CHUNK = 90

# Per database: the JSON array of a row's values, the aggregate of the rows, and what makes JSON text.
_SYNTAX = {
    "postgresql": ("json_build_array", "json_agg({})", "::text"),
    "sqlite": ("json_array", "json_group_array({})", ""),
}

# Column types whose JSON form would be lossy or ambiguous; refused rather than guessed.
_UNSUPPORTED = {"BinaryField", "ArrayField", "HStoreField"}


class Bundle(dict):
    """What `fetch_bundle` read: {name: instances}, and in `counts` {name: how many rows the queryset
    holds} for the querysets read only in part (`first`)."""

    counts: dict[str, int]


def fetch_bundle(querysets: Mapping[str, "QuerySet | Bound"], *, first: Mapping[str, int] | None = None) -> Bundle:
    """Evaluate model querysets in one statement: {name: the instances `list(queryset)` gives, in order}.

    The querysets must be plain model querysets (no `values()`, no `prefetch_related`, no `distinct`) on
    one database. A queryset that can match nothing (`none()`, `pk__in=[]`) adds nothing to the
    statement; when all are so, none is sent.

    `first` ({name: n}) reads only the first n rows of these querysets (as `queryset[:n]` would), and
    how many rows each holds in all, in `bundle.counts[name]` (as `queryset.count()` would): one more
    aggregate of the same rows, where a count of its own would repeat the queryset's joins and filters.

    A queryset may also be given already compiled, bound to an id (`BundleTemplate.bind`).
    """
    first = dict(first or {})
    if unknown := set(first) - set(querysets):
        raise ValueError(f"first names querysets the bundle does not read: {sorted(unknown)}.")
    using = {queryset.db for queryset in querysets.values()}
    if len(using) > 1:
        raise ValueError("A bundle reads from one database.")
    bundle = Bundle()
    bundle.counts = {name: 0 for name in first}
    if not querysets:
        return bundle
    connection = connections[using.pop()]
    if connection.vendor not in _SYNTAX:
        raise NotSupportedError(f"fetch_bundle does not support {connection.vendor}.")
    parts = {
        name: queryset.part(connection, first=first.get(name))
        if isinstance(queryset, Bound)
        else _Part(queryset, connection, first=first.get(name))
        for name, queryset in querysets.items()
    }
    sent = [part for part in parts.values() if part.sql is not None]
    if sent:
        with _bundle_cursor(connection) as cursor:
            cursor.execute(
                "SELECT " + ", ".join(part.aggregate_sql() for part in sent),
                [param for part in sent for param in part.all_params()],
            )
            for part, value in zip(sent, cursor.fetchone(), strict=True):
                part.read(value)
    for name, part in parts.items():
        bundle[name] = part.instances()
        if name in first:
            bundle.counts[name] = part.count
    return bundle


class BundleTemplate:
    """Querysets that vary only by a few values (a file's id, a user's id and today's structures, the
    time...), compiled once per process, database and shape, then bound to the values of each bundle
    (`fetch_bundle(template.bind(file.pk) | other_querysets)`).

    Building and compiling a queryset costs the ORM about a millisecond, more than the database takes to
    run it; the file page's fifteen querysets that depend on the file alone compile to the same SQL for
    every file, only the file's id changes in the parameters (issue 8, docs/performance.md).

    `build(*values)` returns {name: queryset} and must depend on its values only: not on the time, the
    user or the settings, except through them. Each value is a positive integer id, a tuple of such ids
    (its length is part of the statement: a template is compiled for each length met, its shape), an
    aware datetime, a date or a UUID. The template is compiled for two sets of probe values that no row
    has, and refused (ValueError) unless both give the same SQL, and the same parameters except where the
    values are (as such, or as the database's driver is given them: a date as text on SQLite, say):
    something else that varied between the two builds (the time, say) would stay frozen in the
    statement, and a value that changed the SQL (not only its parameters) would be bound to statements
    compiled for other values. A part that could match nothing for the probes (an empty `__in`, an id out
    of a field's range) is refused too: it would match nothing for any value.
    """

    # The first integer probe of each set (ids are positive), in the range of every integer primary key.
    PROBES = (-1_000_000_007, -1_000_000_009)

    def __init__(self, build: Callable[..., Mapping[str, QuerySet]]) -> None:
        self.build = build
        self._compiled: dict[tuple, dict[str, tuple[_Part, tuple[_Slot, ...]]]] = {}

    def bind(self, *values, using: str = "default") -> dict[str, "Bound"]:
        values = tuple(_template_value(value) for value in values)
        shape = tuple(len(value) if type(value) is tuple else type(value).__name__ for value in values)
        compiled = self._compiled.get((using, shape))
        if compiled is None:
            compiled = self._compiled[using, shape] = self._compile(using, shape)
        return {name: Bound(part, slots, values) for name, (part, slots) in compiled.items()}

    def _compile(self, using: str, shape: tuple) -> dict[str, tuple["_Part", tuple["_Slot", ...]]]:
        connection = connections[using]
        probes = [_probes(shape, series) for series in range(len(self.PROBES))]
        built = [self.build(*values) for values in probes]
        if list(built[0]) != list(built[1]):
            raise ValueError("A bundle template's build must give the same querysets (names) for every value.")
        forms = [_probe_forms(values, connection) for values in probes]
        compiled = {}
        for name in built[0]:
            queryset = built[0][name].using(using)
            if queryset._known_related_objects:
                raise ValueError(f"{name}: a bundle template reads querysets of a manager, not of a related one.")
            part, other = _Part(queryset, connection), _Part(built[1][name].using(using), connection)
            if part.sql is None or other.sql is None:
                raise ValueError(f"{name}: this queryset can match nothing; it cannot be a template.")
            if part.sql != other.sql or len(part.params) != len(other.params):
                raise ValueError(f"{name}: its statement depends on something else than the values.")
            slots = []
            for position, (first, second) in enumerate(zip(part.params, other.params, strict=True)):
                slot = _form_of(first, forms[0])
                if slot is None:
                    if first != second or _form_of(second, forms[1]) is not None:
                        raise ValueError(f"{name}: its statement depends on something else than the values.")
                    continue
                index, item, adapt = slot
                if _form_of(second, forms[1]) != slot:
                    raise ValueError(f"{name}: its statement depends on something else than the values.")
                slots.append(_Slot(position, index, item, adapt))
            compiled[name] = (part, tuple(slots))
        return compiled


@dataclasses.dataclass(frozen=True)
class _Slot:
    """Where a template's statement takes a value: the parameter's position, the value's (and the item's,
    for a tuple), and how the driver is given it (`_ADAPTERS`)."""

    position: int
    index: int
    item: int | None
    adapt: str


def _template_value(value):
    """A value a template may be bound to, or ValueError (tuples of ids for lists and sets)."""
    if type(value) is int:
        if value <= 0:
            raise ValueError(f"A bundle template is bound to positive integer ids, not {value!r}.")
        return value
    if isinstance(value, list | tuple | set | frozenset):
        items = tuple(value)
        if any(type(item) is not int or item <= 0 for item in items):
            raise ValueError(f"A bundle template is bound to tuples of positive integer ids, not {value!r}.")
        return items
    if isinstance(value, datetime.datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"A bundle template is bound to aware datetimes, not {value!r}.")
        return value
    if type(value) in (datetime.date, uuid.UUID):
        return value
    raise ValueError(f"A bundle template is bound to positive integer ids, not {value!r}.")


def _probes(shape: tuple, series: int) -> tuple:
    """Values of this shape that no row has, all different, and different from those of the other series."""
    counter = itertools.count()

    def probe(kind: str):
        n = next(counter)
        if kind == "int":
            return BundleTemplate.PROBES[series] - 4 * n
        if kind == "datetime":
            return datetime.datetime(1900 + series, 1, 1, tzinfo=datetime.UTC) + datetime.timedelta(seconds=n)
        if kind == "date":
            return datetime.date(1000 + 100 * series, 1, 1) + datetime.timedelta(days=n)
        return uuid.UUID(int=(series + 1) << 64 | n)

    return tuple(tuple(probe("int") for _ in range(kind)) if type(kind) is int else probe(kind) for kind in shape)


# How a value may reach the driver, by the type of the value: as it is, or adapted by the backend.
_ADAPTERS: dict[str, Callable] = {
    "same": lambda value, connection: value,
    "datetime": lambda value, connection: connection.ops.adapt_datetimefield_value(value),
    "date": lambda value, connection: connection.ops.adapt_datefield_value(value),
    "hex": lambda value, connection: value.hex,
    "str": lambda value, connection: str(value),
}
_ADAPTERS_OF = {
    int: ("same",),
    datetime.datetime: ("same", "datetime"),
    datetime.date: ("same", "date"),
    uuid.UUID: ("same", "hex", "str"),
}


def _probe_forms(values: tuple, connection) -> dict:
    """{a parameter that one of these probes may become: (value's index, item's index, adapter)}."""
    forms: dict = {}
    for index, value in enumerate(values):
        items = enumerate(value) if type(value) is tuple else [(None, value)]
        for item, probe in items:
            for adapt in _ADAPTERS_OF[type(probe)]:
                forms.setdefault((type(form := _ADAPTERS[adapt](probe, connection)), form), (index, item, adapt))
    return forms


def _form_of(param, forms: dict):
    try:
        return forms.get((type(param), param))
    except TypeError:  # an unhashable parameter (a list) is no probe
        return None


class Bound:
    """A compiled template queryset and the values it is bound to (`BundleTemplate.bind`)."""

    def __init__(self, part: "_Part", slots: tuple[_Slot, ...], values: tuple) -> None:
        self.template, self.slots, self.values = part, slots, values
        self.db = part.queryset.db

    def part(self, connection, *, first: int | None = None) -> "_Part":
        template = self.template
        if first is not None and (template.queryset.query.is_sliced or first < 0):
            raise ValueError("fetch_bundle reads the first rows of an unsliced queryset (first >= 0).")
        part = copy.copy(template)
        params = list(template.params)
        for slot in self.slots:
            value = self.values[slot.index] if slot.item is None else self.values[slot.index][slot.item]
            params[slot.position] = _ADAPTERS[slot.adapt](value, connection)
        part.params = tuple(params)
        # Django's connections are per thread: this thread's, for the vendor and the quoting.
        part.connection, part.first, part.count, part.raw = connection, first, 0, []
        return part


def _bundle_cursor(connection):
    """A cursor for the bundle's statement: Django's, or on PostgreSQL with prepared bundles, one that binds
    its parameters on the server and prepares its statement on the connection (psycopg keeps the most
    recent ones, `prepared_max`). It goes through Django's cursor wrapper all the same: execute wrappers,
    error translation and, when queries are logged, the log (with the values in the SQL, as Django logs
    its client-side bound statements)."""
    if connection.vendor != "postgresql" or not settings.DATABASE_PREPARED_BUNDLES:
        return connection.cursor()
    # As BaseDatabaseWrapper._cursor() does, with our cursor in place of create_cursor()'s.
    connection.close_if_health_check_failed()
    connection.ensure_connection()
    connection.validate_thread_sharing()
    with connection.wrap_database_errors:
        preparing, debug = _preparing_cursor_classes()
        raw = preparing(connection.connection)
        return debug(raw, connection) if connection.queries_logged else connection.make_cursor(raw)


@functools.cache
def _preparing_cursor_classes():
    from django.db.backends.postgresql.base import CursorDebugWrapper, ServerBindingCursor
    from django.db.backends.utils import CursorWrapper

    class PreparingCursor(ServerBindingCursor):
        """Django's server-side binding cursor, whose statements are prepared from their first execution."""

        def execute(self, query, params=None, *, prepare=None, binary=None):
            return super().execute(query, params, prepare=True, binary=binary)

    class PreparingDebugWrapper(CursorDebugWrapper):
        """Logs the statement with its values, where Django would read back psycopg's last client-side
        query (a prepared statement's execution leaves none)."""

        def execute(self, sql, params=None):
            with self.debug_sql(self.db.ops.compose_sql(sql, params), params):
                return CursorWrapper.execute(self, sql, params)

    return PreparingCursor, PreparingDebugWrapper


def set_prefetched(instance: Model, accessor: str, objects: Iterable[Model]) -> None:
    """Store `objects` as what `instance.<accessor>.all()` returns (a reverse foreign key or a
    many-to-many), as `prefetch_related` does; for a reverse foreign key, each object's own foreign key
    is set to `instance` too (`contract.beneficiary` is the file, no query)."""
    manager = getattr(instance, accessor)
    objects = list(objects)
    if hasattr(manager, "prefetch_cache_name"):  # many-to-many
        cache_name = manager.prefetch_cache_name
    else:
        cache_name = manager.field.remote_field.cache_name
        set_parent(objects, manager.field.name, instance)
    if not hasattr(instance, "_prefetched_objects_cache"):
        instance._prefetched_objects_cache = {}
    instance._prefetched_objects_cache.pop(cache_name, None)
    queryset = manager.get_queryset()  # lazy: only holds the list
    queryset._result_cache = objects
    queryset._prefetch_done = True
    instance._prefetched_objects_cache[cache_name] = queryset


def set_parent(objects: Iterable[Model], field_name: str, parent: Model) -> None:
    """Set the foreign key `field_name` of each object to `parent` (already loaded), unless it is cached."""
    for obj in objects:
        field = obj._meta.get_field(field_name)
        if not field.is_cached(obj):
            field.set_cached_value(obj, parent)


class _Part:
    """One queryset of a bundle: its SQL, the JSON aggregate of its rows, and their reading back."""

    def __init__(self, queryset: QuerySet, connection, *, first: int | None = None) -> None:
        if queryset._iterable_class is not ModelIterable:
            raise ValueError("fetch_bundle reads model querysets only (no values()/values_list()).")
        if queryset._prefetch_related_lookups:
            raise ValueError("fetch_bundle does not follow prefetch_related(); bundle each queryset.")
        if queryset.query.distinct or queryset.query.combinator:
            raise ValueError("fetch_bundle does not read distinct() or combined querysets.")
        if first is not None and (queryset.query.is_sliced or first < 0):
            raise ValueError("fetch_bundle reads the first rows of an unsliced queryset (first >= 0).")
        _check_ordering(queryset)
        self.queryset = queryset
        self.connection = connection
        self.first = first
        self.count = 0
        self.raw: list = []
        try:
            self.sql, self.params, self.numbered_first = self._compile()
        except EmptyResultSet:
            self.sql, self.params = None, ()
            return
        columns = self.compiler.select[: self.compiler.col_count]
        self.aliases = [alias for _, _, alias in columns]
        self.fields = [expression.output_field for expression, _, _ in columns]
        for field in self.fields:
            if _internal_type(field) in _UNSUPPORTED:
                raise NotSupportedError(f"fetch_bundle does not read {_internal_type(field)} columns.")
        self.readers = [_reader(field, connection) for field in self.fields]
        # aggregate_sql by whether the part reads its first rows only: the same text for every binding of a
        # template's part (the copies share this dict), which would otherwise be written again each time.
        self._aggregates: dict[tuple[str, bool], str] = {}

    def _compile(self) -> tuple[str, tuple, bool]:
        """The queryset's SQL, each row numbered in the queryset's order (the column POSITION).

        Usually the queryset is compiled once, as Django would run it, and `ROW_NUMBER() OVER (ORDER BY
        <the ORDER BY Django wrote>)` is put first in its SELECT list: the same ordering, joins included,
        at no cost of its own (numbered_first). When the ORDER BY names a column of the SELECT list (an
        annotation) or carries parameters, the ordering is given to a window expression that Django
        compiles (which costs about as much again: the file page's twenty querysets took ~25 ms more).
        """
        compiler = self.queryset.query.get_compiler(connection=self.connection)
        ordering: list = []
        setup = compiler.pre_sql_setup

        def pre_sql_setup(*args, **kwargs):
            extra_select, order_by, group_by = setup(*args, **kwargs)
            ordering.extend(order_by)
            return extra_select, order_by, group_by

        compiler.pre_sql_setup = pre_sql_setup
        sql, params = compiler.as_sql(with_col_aliases=True)
        if sql.startswith("SELECT ") and not any(is_ref or o_params for _, (_, o_params, is_ref) in ordering):
            self.compiler = compiler
            order = ", ".join(o_sql for _, (o_sql, _, _) in ordering)
            window = f"ROW_NUMBER() OVER ({'ORDER BY ' + order if order else ''})"
            position = self.connection.ops.quote_name(POSITION)
            return f"SELECT {window} AS {position}, {sql.removeprefix('SELECT ')}", tuple(params), True
        _check_window_ordering(self.queryset)
        numbered = self.queryset.annotate(**{POSITION: Window(RowNumber(), order_by=_ordering_names(self.queryset))})
        self.compiler = numbered.query.get_compiler(connection=self.connection)
        sql, params = self.compiler.as_sql(with_col_aliases=True)
        return sql, tuple(params), False

    def aggregate_sql(self) -> str:
        key = (self.connection.vendor, self.first is None)
        if (cached := self._aggregates.get(key)) is None:
            cached = self._aggregates[key] = self._aggregate_sql()
        return cached

    def _aggregate_sql(self) -> str:
        array, aggregate, as_text = _SYNTAX[self.connection.vendor]
        quote = self.connection.ops.quote_name
        columns = [
            f"t.{quote(alias)}::text" if self._as_text(field) else f"t.{quote(alias)}"
            for alias, field in zip(self.aliases, self.fields, strict=True)
        ]
        if self.numbered_first:
            columns.insert(0, f"t.{quote(POSITION)}")
        chunks = [f"{array}({', '.join(columns[i : i + _CHUNK])})" for i in range(0, len(columns), _CHUNK)]
        row = f"{array}({', '.join(chunks)})"
        # Django-compiled SQL, constants and quoted aliases only: every value is a parameter.
        rows = aggregate.format(row)
        if self.first is not None:
            # [count, rows]: the rows numbered up to `first` only (the window numbers them all).
            rows = f"{array}(COUNT(*), {rows} FILTER (WHERE t.{quote(POSITION)} <= %s))"
        return f"(SELECT {rows}{as_text} FROM ({self.sql}) t)"  # noqa: S608

    def all_params(self) -> tuple:
        # The FILTER clause comes before the queryset's SQL in the statement.
        return self.params if self.first is None else (self.first, *self.params)

    def read(self, value: str | None) -> None:
        """Take in this part's value in the bundle's one row."""
        if self.first is None:
            self.raw = json.loads(value) if value is not None else []
            return
        self.count, rows = json.loads(value)
        self.raw = rows or []

    def _as_text(self, field) -> bool:
        # On PostgreSQL, jsonb and numeric travel as their text, read as the driver reads them.
        return self.connection.vendor == "postgresql" and _internal_type(field) in ("JSONField", "DecimalField")

    def instances(self) -> list[Model]:
        if self.sql is None:
            return []
        rows = []
        for chunks in self.raw:
            values = [value for chunk in chunks for value in chunk]
            if self.numbered_first:
                rows.append((values[0], values[1:]))
                continue
            readers = zip(self.readers, values, strict=True)
            rows.append([read(value) if read and value is not None else value for read, value in readers])
        if self.numbered_first:
            rows.sort(key=operator.itemgetter(0))
            rows = [
                [
                    read(value) if read and value is not None else value
                    for read, value in zip(self.readers, values, strict=True)
                ]
                for _, values in rows
            ]
        else:
            rows.sort(key=operator.itemgetter(self.compiler.annotation_col_map[POSITION]))
        return list(_build(self.queryset, self.compiler, self.compiler.results_iter(results=[rows])))


def _build(queryset: QuerySet, compiler, rows: Iterable[list]) -> Iterable[Model]:
    """Model instances from converted rows, as django.db.models.query.ModelIterable builds them."""
    db = queryset.db
    select, klass_info, annotation_col_map = compiler.select, compiler.klass_info, compiler.annotation_col_map
    model_cls = klass_info["model"]
    select_fields = klass_info["select_fields"]
    model_fields_start, model_fields_end = select_fields[0], select_fields[-1] + 1
    init_list = [f[0].target.attname for f in select[model_fields_start:model_fields_end]]
    related_populators = get_related_populators(klass_info, select, db)
    annotations = [(name, position) for name, position in annotation_col_map.items() if name != POSITION]
    known_related_objects = [
        (
            field,
            related_objs,
            operator.attrgetter(
                *[
                    field.attname if from_field == "self" else queryset.model._meta.get_field(from_field).attname
                    for from_field in field.from_fields
                ]
            ),
        )
        for field, related_objs in queryset._known_related_objects.items()
    ]
    for row in rows:
        obj = model_cls.from_db(db, init_list, row[model_fields_start:model_fields_end])
        for rel_populator in related_populators:
            rel_populator.populate(row, obj)
        for name, position in annotations:
            setattr(obj, name, row[position])
        for field, rel_objs, rel_getter in known_related_objects:
            if field.is_cached(obj):
                continue
            try:
                setattr(obj, field.name, rel_objs[rel_getter(obj)])
            except KeyError:
                pass
        yield obj


def _check_ordering(queryset: QuerySet) -> None:
    """Orderings a bundle refuses, however it numbers the rows."""
    query = queryset.query
    if query.extra_order_by:
        raise ValueError("fetch_bundle does not read extra(order_by=...).")
    if any(isinstance(item, str) and item.lstrip("-") == "?" for item in _ordering_names(queryset)):
        raise ValueError("fetch_bundle does not read a random ordering.")


def _ordering_names(queryset: QuerySet) -> list:
    """The queryset's ordering, as given to order_by() or by Meta.ordering."""
    query = queryset.query
    if query.order_by:
        return list(query.order_by)
    if query.default_ordering:
        return list(queryset.model._meta.ordering)
    return []


def _check_window_ordering(queryset: QuerySet) -> None:
    """For a window that numbers the rows (the rare case, see `_Part._compile`): a window orders by what
    it is given, where the query's ORDER BY, given a relation's name, orders by the related model's own
    `Meta.ordering`: such an ordering is refused (name the related fields)."""
    for item in _ordering_names(queryset):
        if not isinstance(item, str):
            continue
        name = item.lstrip("-")
        field = _ordering_field(queryset.model, name)
        if (
            field is not None
            and field.is_relation
            and name.split(LOOKUP_SEP)[-1] != field.attname
            and field.related_model._meta.ordering
        ):
            raise ValueError(
                f"{queryset.model.__name__} is ordered by the relation {name!r}, which SQL orders by "
                f"{field.related_model.__name__}.Meta.ordering: order by explicit fields to bundle it."
            )


def _ordering_field(model: type[Model], name: str):
    """The field an ordering name ends on, or None (an annotation, a transform)."""
    opts, field = model._meta, None
    for part in name.split(LOOKUP_SEP):
        if opts is None:
            return None
        try:
            field = opts.pk if part == "pk" else opts.get_field(part)
        except FieldDoesNotExist:
            return None
        opts = field.related_model._meta if field.is_relation else None
    return field


def _internal_type(field) -> str:
    # A foreign key's column holds what its target field holds.
    while getattr(field, "target_field", None) is not None and field.is_relation:
        field = field.target_field
    return field.get_internal_type()


def _reader(field, connection) -> Callable[[Any], Any] | None:
    """What the database driver returns for a value of this column, from its JSON form (None: as is).

    SQLite's JSON holds what the driver gives before Django's converters (text for dates, times, UUIDs,
    JSON; 0/1 for booleans; numbers), which those converters expect. PostgreSQL's JSON holds ISO dates
    and times, UUIDs as text, and (see `_Part._as_text`) numeric and jsonb as their text; psycopg returns
    objects for the first ones, text for jsonb (Django's loader), Decimal for numeric.
    """
    if connection.vendor != "postgresql":
        return None
    internal_type = _internal_type(field)
    if internal_type == "DateTimeField":
        tz = connection.timezone

        def read_datetime(value: str) -> datetime.datetime:
            moment = parse_datetime(value)
            return moment.astimezone(tz) if tz is not None and moment.tzinfo is not None else moment

        return read_datetime
    return {
        "DateField": parse_date,
        "TimeField": parse_time,
        "DurationField": parse_duration,
        "UUIDField": uuid.UUID,
        "DecimalField": decimal.Decimal,
    }.get(internal_type)
