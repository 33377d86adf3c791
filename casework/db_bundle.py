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
"""

import datetime
import decimal
import json
import operator
import uuid
from collections.abc import Callable, Iterable, Mapping
from typing import Any

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

# Per database: the JSON array of a row's values, and the aggregate of the rows (as text).
_SYNTAX = {
    "postgresql": ("json_build_array", "json_agg({})::text"),
    "sqlite": ("json_array", "json_group_array({})"),
}

# Column types whose JSON form would be lossy or ambiguous; refused rather than guessed.
_UNSUPPORTED = {"BinaryField", "ArrayField", "HStoreField"}


def fetch_bundle(querysets: Mapping[str, QuerySet]) -> dict[str, list[Model]]:
    """Evaluate model querysets in one statement: {name: the instances `list(queryset)` gives, in order}.

    The querysets must be plain model querysets (no `values()`, no `prefetch_related`, no `distinct`) on
    one database. A queryset that can match nothing (`none()`, `pk__in=[]`) adds nothing to the
    statement; when all are so, none is sent.
    """
    using = {queryset.db for queryset in querysets.values()}
    if len(using) > 1:
        raise ValueError("A bundle reads from one database.")
    if not querysets:
        return {}
    connection = connections[using.pop()]
    if connection.vendor not in _SYNTAX:
        raise NotSupportedError(f"fetch_bundle does not support {connection.vendor}.")
    parts = {name: _Part(queryset, connection) for name, queryset in querysets.items()}
    sent = [part for part in parts.values() if part.sql is not None]
    if sent:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT " + ", ".join(part.aggregate_sql() for part in sent),
                [param for part in sent for param in part.params],
            )
            for part, value in zip(sent, cursor.fetchone(), strict=True):
                part.raw = json.loads(value) if value is not None else []
    return {name: part.instances() for name, part in parts.items()}


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

    def __init__(self, queryset: QuerySet, connection) -> None:
        if queryset._iterable_class is not ModelIterable:
            raise ValueError("fetch_bundle reads model querysets only (no values()/values_list()).")
        if queryset._prefetch_related_lookups:
            raise ValueError("fetch_bundle does not follow prefetch_related(); bundle each queryset.")
        if queryset.query.distinct or queryset.query.combinator:
            raise ValueError("fetch_bundle does not read distinct() or combined querysets.")
        self.queryset = queryset
        self.connection = connection
        self.raw: list = []
        numbered = queryset.annotate(**{POSITION: Window(RowNumber(), order_by=_ordering(queryset))})
        self.compiler = numbered.query.get_compiler(connection=connection)
        try:
            self.sql, self.params = self.compiler.as_sql(with_col_aliases=True)
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

    def aggregate_sql(self) -> str:
        array, aggregate = _SYNTAX[self.connection.vendor]
        quote = self.connection.ops.quote_name
        columns = [
            f"t.{quote(alias)}::text" if self._as_text(field) else f"t.{quote(alias)}"
            for alias, field in zip(self.aliases, self.fields, strict=True)
        ]
        chunks = [f"{array}({', '.join(columns[i : i + _CHUNK])})" for i in range(0, len(columns), _CHUNK)]
        row = f"{array}({', '.join(chunks)})"
        # Django-compiled SQL, constants and quoted aliases only: every value is a parameter.
        return f"(SELECT {aggregate.format(row)} FROM ({self.sql}) t)"  # noqa: S608

    def _as_text(self, field) -> bool:
        # On PostgreSQL, jsonb and numeric travel as their text, read as the driver reads them.
        return self.connection.vendor == "postgresql" and _internal_type(field) in ("JSONField", "DecimalField")

    def instances(self) -> list[Model]:
        if self.sql is None:
            return []
        rows = []
        for chunks in self.raw:
            values = [value for chunk in chunks for value in chunk]
            readers = zip(self.readers, values, strict=True)
            rows.append([read(value) if read and value is not None else value for read, value in readers])
        position = self.compiler.annotation_col_map[POSITION]
        rows.sort(key=operator.itemgetter(position))
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


def _ordering(queryset: QuerySet) -> list:
    """The queryset's ordering, for the window that numbers its rows.

    A window orders by what it is given, where the query's ORDER BY, given a relation's name, orders by
    the related model's own `Meta.ordering`: such an ordering is refused (name the related fields).
    """
    query = queryset.query
    if query.extra_order_by:
        raise ValueError("fetch_bundle does not read extra(order_by=...).")
    if query.order_by:
        ordering = list(query.order_by)
    elif query.default_ordering:
        ordering = list(queryset.model._meta.ordering)
    else:
        ordering = []
    for item in ordering:
        if not isinstance(item, str):
            continue
        name = item.lstrip("-")
        if name == "?":
            raise ValueError("fetch_bundle does not read a random ordering.")
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
    return ordering


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
