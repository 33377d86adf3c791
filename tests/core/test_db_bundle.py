"""core.db_bundle: several querysets in one statement give the instances Django builds, on PostgreSQL
and on SQLite alike."""

import datetime
import decimal
import uuid
import zoneinfo

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection, models
from django.db.models import Value
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from casework.models import Appointment, Contract, HouseholdMember, Note, Revision, Share
from core.db_bundle import BundleTemplate, _Part, fetch_bundle, set_prefetched
from tests.accounts.factories import DepartmentFactory, StructureFactory, UserFactory
from tests.casework.factories import (
    AppointmentFactory,
    BeneficiaryFactory,
    ContractFactory,
    HouseholdMemberFactory,
    NoteFactory,
)
from www.file_page import file_page_querysets

pytestmark = pytest.mark.django_db

PARIS = zoneinfo.ZoneInfo("Europe/Paris")


def _values(obj: models.Model, seen: frozenset = frozenset()) -> dict:
    """An instance's loaded columns and annotations, with the objects select_related loaded, compared
    with their time zone offsets (equal instants in two zones would compare equal otherwise)."""
    values = {}
    for name, value in vars(obj).items():
        if name == "_state":
            continue
        if isinstance(value, datetime.datetime):
            value = (value, value.utcoffset())
        values[name] = (type(value).__name__, value)
    for name, related in obj._state.fields_cache.items():
        if related is None or id(related) in seen:  # a one-to-one caches its way back
            values[f"related:{name}"] = related and related.pk
        else:
            values[f"related:{name}"] = _values(related, seen | {id(obj)})
    return values


def assert_bundled_like_django(querysets: dict, django_assert_num_queries, statements: int = 1) -> dict:
    with django_assert_num_queries(statements):
        bundled = fetch_bundle(querysets)
    for name, queryset in querysets.items():
        expected = list(queryset)
        assert [obj.pk for obj in bundled[name]] == [obj.pk for obj in expected], name
        assert [_values(obj) for obj in bundled[name]] == [_values(obj) for obj in expected], name
    return bundled


@pytest.fixture
def file():
    return BeneficiaryFactory()


def test_every_column_type_of_the_file_page_comes_back_as_django_reads_it(file, django_assert_num_queries):
    author = UserFactory(first_name="Zoé", last_name="L'Hôte")
    first = ContractFactory(
        beneficiary=file, author=author, status=Contract.Status.DRAFT, signed_on=None, weekly_hours=None
    )
    ContractFactory(beneficiary=file, author=author, renews=first, beneficiary_agreed=True, weekly_hours=35)
    # An instant given in Paris time, summer and winter: stored and read back as the same instants.
    AppointmentFactory(
        beneficiary=file, author=author, scheduled_at=datetime.datetime(2024, 7, 1, 9, 30, tzinfo=PARIS)
    )
    AppointmentFactory(
        beneficiary=file, author=author, scheduled_at=datetime.datetime(2024, 1, 2, 23, 59, 59, 999999, tzinfo=PARIS)
    )
    NoteFactory(beneficiary=file, author=author, body='C\'est 100 % "sûr" ; -- %s %(x)s', is_sensitive=True)
    Revision.objects.create(
        content_type=ContentType.objects.get_for_model(Contract),
        object_id=first.pk,
        beneficiary=file,
        version=1,
        data={"date": "2024-01-01", "hours": 35, "ratio": 0.1, "nested": [None, True, {"é": "ü"}], "empty": {}},
        action=Revision.Action.CORRECTED,
        changed_by=author,
        changed_at=timezone.now(),
    )
    bundled = assert_bundled_like_django(
        {
            "contracts": Contract.objects.filter(beneficiary=file)
            .select_related("author", "renews", "withdrawn_by")
            .order_by("-start_date", "-pk"),
            "appointments": Appointment.objects.filter(beneficiary=file).order_by("scheduled_at"),
            "notes": Note.objects.filter(beneficiary=file).select_related("author", "author_structure").order_by("pk"),
            "revisions": Revision.objects.select_related("content_type", "changed_by").order_by("pk"),
        },
        django_assert_num_queries,
    )
    renewal, renewed = bundled["contracts"]
    assert renewal.renews == renewed and renewed.renews is None and renewed.withdrawn_by is None
    assert renewal.beneficiary_agreed is True and renewed.signed_on is None and renewal.weekly_hours == 35
    assert isinstance(renewal.public_id, type(file.public_id)) and isinstance(renewal.start_date, datetime.date)
    assert [a.scheduled_at for a in bundled["appointments"]] == [
        datetime.datetime(2024, 1, 2, 22, 59, 59, 999999, tzinfo=datetime.UTC),
        datetime.datetime(2024, 7, 1, 7, 30, tzinfo=datetime.UTC),
    ]
    assert bundled["notes"][0].body == 'C\'est 100 % "sûr" ; -- %s %(x)s'
    assert bundled["notes"][0].author_structure is None
    assert bundled["revisions"][0].data["nested"] == [None, True, {"é": "ü"}]


def test_annotations_of_other_types_come_back_too(file, django_assert_num_queries):
    HouseholdMemberFactory(beneficiary=file)
    assert_bundled_like_django(
        {
            "members": HouseholdMember.objects.filter(beneficiary=file)
            .annotate(
                amount=Value(
                    decimal.Decimal("1234.50"), output_field=models.DecimalField(max_digits=8, decimal_places=2)
                ),
                delay=Value(datetime.timedelta(days=3, hours=2, microseconds=5), output_field=models.DurationField()),
                ratio=Value(0.25, output_field=models.FloatField()),
                missing=Value(None, output_field=models.DateTimeField()),
            )
            .order_by("pk"),
        },
        django_assert_num_queries,
    )


def test_a_row_wider_than_a_json_call_takes_comes_back_whole(file, django_assert_num_queries):
    share = Share.objects.create(
        beneficiary=file,
        shared_with_user=UserFactory(),
        author=UserFactory(),
        reason="Relais",
        starts_at=timezone.now(),
    )
    queryset = (
        Share.objects.select_related(
            "shared_with_user", "shared_with_structure", "shared_with_department", "author", "ended_by", "beneficiary"
        )
        .filter(pk=share.pk)
        .order_by("pk")
    )
    assert len(queryset.query.get_compiler("default").get_select()[0]) > 100
    assert_bundled_like_django({"shares": queryset}, django_assert_num_queries)


def test_rows_keep_their_order_whatever_the_database_aggregates_first(file, django_assert_num_queries):
    authors = [UserFactory(username=f"auteur{i:03}") for i in range(30)]
    today = timezone.localdate()
    other = BeneficiaryFactory(last_name="Aaron")
    Contract.objects.bulk_create(
        Contract(
            beneficiary=other if i % 10 == 0 else file,
            kind=Contract.Kind.CER,
            start_date=today - datetime.timedelta(days=(i * 7) % 50),
            end_date=today + datetime.timedelta(days=1),
            author=authors[(i * 13) % 30],
        )
        for i in range(300)
    )
    base = Contract.objects.filter(beneficiary=file).select_related("author")
    assert_bundled_like_django(
        {
            "by_start": base.order_by("start_date", "-pk"),
            "by_author": base.order_by("-author__username", "pk"),
            "by_expression": base.order_by(models.F("start_date").desc(), "pk"),
            "sliced": base.order_by("-pk")[10:20],
            # Meta.ordering names the file, which SQL orders by the file's own Meta.ordering (a join):
            # the rows are numbered by the ORDER BY Django wrote, joins included.
            "by_relation": Contract.objects.filter(beneficiary__in=[file, other]).select_related("author"),
            # Ordered by an annotation (a column of the SELECT list): numbered by a window expression.
            "by_annotation": base.annotate(started=models.F("start_date")).order_by("-started", "pk"),
        },
        django_assert_num_queries,
    )


def test_the_first_rows_only_and_how_many_there_are(file, django_assert_num_queries):
    today = timezone.localdate()
    author = UserFactory()
    Contract.objects.bulk_create(
        Contract(
            beneficiary=file,
            kind=Contract.Kind.CER,
            start_date=today - datetime.timedelta(days=i % 7),
            end_date=today + datetime.timedelta(days=1),
            author=author,
        )
        for i in range(25)
    )
    base = Contract.objects.filter(beneficiary=file).select_related("author")
    querysets = {
        "newest": base.order_by("-start_date", "-pk"),
        "none_asked": base.order_by("pk"),
        "more_than_there_are": base.order_by("start_date", "pk"),
        "nothing_there": Contract.objects.filter(beneficiary=BeneficiaryFactory()).order_by("pk"),
        "by_annotation": base.annotate(started=models.F("start_date")).order_by("-started", "pk"),
        "nothing_can_match": Contract.objects.none().order_by("pk"),
        "whole": base.order_by("-pk"),
    }
    first = {"newest": 10, "none_asked": 0, "more_than_there_are": 99, "nothing_there": 5, "by_annotation": 3}
    first["nothing_can_match"] = 4
    with django_assert_num_queries(1):
        bundled = fetch_bundle(querysets, first=first)
    for name, queryset in querysets.items():
        expected = list(queryset[: first[name]]) if name in first else list(queryset)
        assert [_values(obj) for obj in bundled[name]] == [_values(obj) for obj in expected], name
    assert bundled.counts == {name: querysets[name].count() for name in first}
    assert bundled.counts["newest"] == 25 and len(bundled["newest"]) == 10 and len(bundled["whole"]) == 25
    with pytest.raises(ValueError, match="unsliced"):
        fetch_bundle({"sliced": base.order_by("pk")[:3]}, first={"sliced": 2})
    with pytest.raises(ValueError, match="does not read"):
        fetch_bundle({"whole": base.order_by("pk")}, first={"other": 2})


def test_the_querysets_of_the_file_page_are_numbered_without_a_window_expression(file):
    """The window expression costs a second compilation: none of the file page's querysets needs it."""
    user = UserFactory()
    for name, queryset in file_page_querysets(user, file).items():
        part = _Part(queryset, connection)
        assert part.sql is None or part.numbered_first, name
    part = _Part(Contract.objects.annotate(started=models.F("start_date")).order_by("started"), connection)
    assert not part.numbered_first


def test_empty_results_and_querysets_that_can_match_nothing(file, django_assert_num_queries):
    bundled = assert_bundled_like_django(
        {
            "nothing_yet": Contract.objects.filter(beneficiary=file).order_by("pk"),
            "none": Contract.objects.none().order_by("pk"),
            "no_pk": Contract.objects.filter(pk__in=[]).order_by("pk"),
        },
        django_assert_num_queries,
    )
    assert bundled == {"nothing_yet": [], "none": [], "no_pk": []}
    # Nothing that can match: nothing is sent.
    with django_assert_num_queries(0):
        assert fetch_bundle({"none": Contract.objects.none().order_by("pk")}) == {"none": []}
    assert fetch_bundle({}) == {}


def test_deferred_columns_known_relations_and_prefetch_caches(file, django_assert_num_queries):
    note = NoteFactory(beneficiary=file, visibility=Note.Visibility.SHARED)
    structure = StructureFactory(name="MDS", department=DepartmentFactory())
    note.shared_with_structures.add(structure)
    ContractFactory(beneficiary=file)
    bundled = assert_bundled_like_django(
        {
            "rows": Note.shared_with_structures.through.objects.select_related("structure").only(
                "note", "structure__name", "structure__is_sensitive"
            ),
            "contracts": file.contracts.order_by("pk"),  # through the related manager: knows its file
        },
        django_assert_num_queries,
    )
    (row,) = bundled["rows"]
    assert row.structure.get_deferred_fields() >= {"department_id"}
    with django_assert_num_queries(0):
        assert bundled["contracts"][0].beneficiary is file
        set_prefetched(file, "contracts", bundled["contracts"])
        set_prefetched(note, "shared_with_structures", [row.structure])
        assert list(file.contracts.all()) == bundled["contracts"]
        assert list(note.shared_with_structures.all()) == [row.structure]
        assert file.contracts.all()[0].beneficiary is file


def test_querysets_it_cannot_read_faithfully_are_refused(file):
    with pytest.raises(ValueError, match="model querysets"):
        fetch_bundle({"values": Contract.objects.values("pk")})
    with pytest.raises(ValueError, match="prefetch_related"):
        fetch_bundle({"prefetch": Contract.objects.prefetch_related("objective_set")})
    # Numbered by a window expression (ordered by an annotation), an ordering by a relation would be
    # that of the relation's column, where SQL orders by the related Meta.ordering: name the fields.
    with pytest.raises(ValueError, match="Beneficiary.Meta.ordering"):
        fetch_bundle(
            {"meta": Contract.objects.annotate(started=models.F("start_date")).order_by("started", "beneficiary")}
        )
    with pytest.raises(ValueError, match="random"):
        fetch_bundle({"random": Contract.objects.order_by("?")})


def _prepared_bundles() -> list[tuple[str, int, int]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT statement, generic_plans, custom_plans FROM pg_prepared_statements"
            " WHERE statement LIKE 'SELECT (SELECT json_agg%%'"
        )
        return cursor.fetchall()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="prepared statements are PostgreSQL's")
def test_on_postgresql_the_statement_is_prepared_on_its_connection(file, django_assert_num_queries, settings):
    """The bundle's statement is prepared (its plan kept on the connection), gives the same instances
    from its first execution to the ones that reuse the prepared plan, and is logged with its values."""
    settings.DATABASE_PREPARED_BUNDLES = True
    HouseholdMemberFactory.create_batch(2, beneficiary=file)
    other = BeneficiaryFactory()
    HouseholdMemberFactory(beneficiary=other)
    for beneficiary in [file, other] * 4:
        querysets = {"members": HouseholdMember.objects.filter(beneficiary=beneficiary).order_by("pk")}
        bundled = assert_bundled_like_django(querysets, django_assert_num_queries)
        assert len(bundled["members"]) == (2 if beneficiary == file else 1)
    (statement, generic_plans, custom_plans), *others = _prepared_bundles()
    assert not others
    assert "$1" in statement and custom_plans + generic_plans == 8
    with CaptureQueriesContext(connection) as captured:
        fetch_bundle({"members": HouseholdMember.objects.filter(beneficiary=other).order_by("pk")})
    logged = captured.captured_queries[0]["sql"]
    assert f'"beneficiary_id" = {other.pk}' in logged and "$1" not in logged


@pytest.mark.skipif(connection.vendor != "postgresql", reason="prepared statements are PostgreSQL's")
def test_prepared_bundles_can_be_turned_off(file, django_assert_num_queries, settings):
    settings.DATABASE_PREPARED_BUNDLES = False
    HouseholdMemberFactory(beneficiary=file)
    for _ in range(3):
        bundled = assert_bundled_like_django(
            {"members": HouseholdMember.objects.filter(beneficiary=file).order_by("pk")}, django_assert_num_queries
        )
        assert len(bundled["members"]) == 1
    assert _prepared_bundles() == []


def _by_file(file_id: int) -> dict:
    return {
        "contracts": Contract.objects.filter(beneficiary=file_id).select_related("author").order_by("-pk"),
        "members": HouseholdMember.objects.filter(beneficiary_id=file_id).order_by("pk"),
        "notes": Note.objects.filter(
            beneficiary__in=Contract.objects.filter(beneficiary=file_id).values("beneficiary")
        )
        .select_related("author")
        .order_by("-created_at", "-pk"),
    }


def test_a_template_is_compiled_once_and_bound_to_each_file(django_assert_num_queries):
    builds = []
    template = BundleTemplate(lambda file_id: builds.append(file_id) or _by_file(file_id))
    files = BeneficiaryFactory.create_batch(3)
    for index, file in enumerate(files):
        ContractFactory.create_batch(index + 1, beneficiary=file)
        HouseholdMemberFactory.create_batch(index, beneficiary=file)
        NoteFactory.create_batch(index + 2, beneficiary=file)
    for file in files * 2:
        with django_assert_num_queries(1):
            bundled = fetch_bundle(
                template.bind(file.pk) | {"file_notes": Note.objects.filter(beneficiary=file).order_by("pk")},
                first={"contracts": 1},
            )
        for name, queryset in _by_file(file.pk).items():
            expected = list(queryset[:1] if name == "contracts" else queryset)
            assert [_values(obj) for obj in bundled[name]] == [_values(obj) for obj in expected], name
        assert bundled.counts == {"contracts": Contract.objects.filter(beneficiary=file).count()}
    assert builds == list(BundleTemplate.PROBES)  # compiled once, for the two probes only


def test_a_template_that_depends_on_something_else_than_the_id_is_refused(file):
    def after_now(file_id):
        return {
            "contracts": Contract.objects.filter(beneficiary=file_id, created_at__gte=timezone.now()).order_by("pk")
        }

    def of_another_file(file_id):
        return {"contracts": Contract.objects.filter(beneficiary=file.pk if file_id < -1_000_000_008 else file_id)}

    for build in (after_now, of_another_file):
        with pytest.raises(ValueError, match="depends on something else than the values"):
            BundleTemplate(build).bind(file.pk)
    with pytest.raises(ValueError, match="can match nothing"):
        BundleTemplate(lambda file_id: {"none": Contract.objects.filter(beneficiary=file_id, pk__in=[])}).bind(1)
    with pytest.raises(ValueError, match="not of a related one"):
        BundleTemplate(lambda file_id: {"related": file.contracts.filter(pk=file_id).order_by("pk")}).bind(1)
    with pytest.raises(ValueError, match="the same querysets"):
        BundleTemplate(lambda file_id: {str(file_id): Contract.objects.filter(beneficiary=file_id)}).bind(1)
    template = BundleTemplate(lambda file_id: {"sliced": Contract.objects.filter(beneficiary=file_id)[:2]})
    for value in (0, -3, "12", file):
        with pytest.raises(ValueError, match="positive integer id"):
            template.bind(value)
    with pytest.raises(ValueError, match="unsliced"):
        fetch_bundle(template.bind(file.pk), first={"sliced": 1})
    # A part that does not depend on the id at all is a template too: the same statement for every id.
    constant = BundleTemplate(lambda file_id: {"all": Contract.objects.order_by("pk")}).bind(file.pk)
    assert fetch_bundle(constant)["all"] == list(Contract.objects.order_by("pk"))


def _by_values(file_id, author_ids, since, day, public_id):
    """Querysets of a file by several values: a tuple of ids, a datetime, a date and a UUID."""
    return {
        "notes": Note.objects.filter(beneficiary=file_id, author__in=author_ids, created_at__gte=since)
        .select_related("author")
        .order_by("-created_at", "-pk"),
        "contracts": Contract.objects.filter(beneficiary=file_id, start_date__lte=day).order_by("pk"),
        "by_public_id": Note.objects.filter(public_id=public_id).order_by("pk"),
    }


def test_a_template_is_bound_to_several_values_and_compiled_once_per_shape(django_assert_num_queries):
    """Ids, tuples of ids (one compilation for each length met), datetimes, dates and UUIDs: the bound
    statements read what the querysets built from the same values read, on either database."""
    builds = []
    template = BundleTemplate(lambda *values: builds.append(values) or _by_values(*values))
    file = BeneficiaryFactory()
    authors = UserFactory.create_batch(3)
    now = timezone.now()
    notes = [NoteFactory(beneficiary=file, author=author) for author in authors for _ in range(2)]
    Note.objects.filter(pk=notes[0].pk).update(created_at=now - datetime.timedelta(days=10))
    ContractFactory(beneficiary=file, start_date=timezone.localdate() - datetime.timedelta(days=40))
    ContractFactory(beneficiary=file, start_date=timezone.localdate() + datetime.timedelta(days=5))
    cases = [
        ([authors[0].pk], now - datetime.timedelta(days=1), timezone.localdate(), notes[1].public_id),
        ([authors[0].pk], now - datetime.timedelta(days=30), timezone.localdate(), notes[0].public_id),
        (
            [authors[1].pk, authors[2].pk],
            now.astimezone(PARIS) - datetime.timedelta(days=30),
            datetime.date(2999, 1, 1),
            notes[3].public_id,
        ),
        ((authors[2].pk, authors[0].pk), now - datetime.timedelta(days=30), timezone.localdate(), notes[5].public_id),
    ]
    for authors_ids, since, day, public_id in cases:
        with django_assert_num_queries(1):
            bundled = fetch_bundle(template.bind(file.pk, authors_ids, since, day, public_id))
        expected = _by_values(file.pk, authors_ids, since, day, public_id)
        for name, queryset in expected.items():
            assert [_values(obj) for obj in bundled[name]] == [_values(obj) for obj in queryset], name
        assert bundled["notes"] and bundled["by_public_id"]
    assert len(bundled["contracts"]) == 1  # the future contract does not start by today
    later = fetch_bundle(template.bind(file.pk, [1], since, datetime.date(2999, 1, 1), uuid.uuid4()))
    assert len(later["contracts"]) == 2 and not later["by_public_id"]
    assert len(builds) == 4  # two shapes (one author, two), two probe builds each
    assert {len(values[1]) for values in builds} == {1, 2}


def test_a_template_refuses_values_that_change_its_statement_or_are_not_values(file):
    def a_day_later(file_id, since):
        return {
            "contracts": Contract.objects.filter(
                beneficiary=file_id, created_at__gte=since + datetime.timedelta(days=1)
            )
        }

    def by_its_size(file_id, ids):
        return {
            "contracts": Contract.objects.filter(beneficiary=file_id, pk__in=ids).order_by(
                *(["pk"] if min(ids) < -1_000_000_012 else ["-pk"])
            )
        }

    with pytest.raises(ValueError, match="depends on something else than the values"):
        BundleTemplate(a_day_later).bind(file.pk, timezone.now())
    with pytest.raises(ValueError, match="depends on something else than the values"):
        BundleTemplate(by_its_size).bind(file.pk, [3])
    with pytest.raises(ValueError, match="can match nothing"):
        BundleTemplate(lambda file_id, ids: {"none": Contract.objects.filter(pk__in=ids)}).bind(file.pk, [])
    template = BundleTemplate(lambda *values: {"all": Contract.objects.order_by("pk")})
    for value in ([1, 0], ["1"], datetime.datetime(2026, 1, 1), "2026-01-01", 1.5, None):  # noqa: DTZ001
        with pytest.raises(ValueError, match="bound to"):
            template.bind(file.pk, value)
