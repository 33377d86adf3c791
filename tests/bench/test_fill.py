"""bench.fill at a test-only scale (`tiny`), checked with the app's own code: the permission layer, the
timeline, the caseload's search and filters, the supervisors' dashboard, the pages, a service and the
audit trail must all work on the generated data as on data the app wrote itself.

PostgreSQL only (the fill is set-based SQL); with CI=true the settings refuse SQLite, so this never
skips in CI (DATABASE_URL=postgres:///test there).
"""

import datetime
import io
import json
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.hashers import check_password
from django.db import connection
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone

from accounts.models import Structure, User
from audit.models import AuditEvent
from audit.trail import audit_record
from bench import pages, probe
from bench.fill import BIG_FILE_ENTRIES, CASELOAD_PAGE_SIZE, PASSWORD, SCALES, TEST_SCALES, FillError, fill
from casework import models as casework_models
from casework.models import Beneficiary, Step, search_key
from casework.permissions import sync_grants, visible_beneficiaries
from casework.services.common import files_refresh_contract_end, files_refresh_orientation
from casework.services.entries import step_log
from team.deadlines import Deadlines
from team.permissions import supervised_structures
from team.supervision import team_dashboard
from www.file_page import file_page_data
from www.filters import CaseloadFilterSet
from www.timeline import build_timeline
from www.views.caseload import PAGE_SIZE

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(
        settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql",
        reason="bench.fill writes PostgreSQL-only SQL: run with DATABASE_URL=postgres:///test",
    ),
]


@pytest.fixture
def meta():
    return fill("tiny")


def persona(meta, name: str) -> User:
    return User.objects.get(username=meta["personas"][name])


def test_scales_are_the_documented_ones_and_tiny_is_test_only():
    assert set(SCALES) == {"small", "department", "national"}
    assert SCALES["department"].files == 100_000 and SCALES["department"].referents == 400
    assert SCALES["national"].referents == 4_000
    assert TEST_SCALES["tiny"].test_only and "tiny" not in SCALES
    assert CASELOAD_PAGE_SIZE == PAGE_SIZE


def test_a_complete_fill_is_returned_as_stored_and_never_refilled_here(meta):
    assert fill("tiny") == meta
    # The duration stored counts the COMMIT and the ANALYZE after the statements.
    assert 0 < meta["statements_seconds"] <= meta["duration_seconds"]
    with pytest.raises(FillError, match="holds a fill of scale"):
        fill("small")
    with pytest.raises(FillError, match="refused"):
        fill("tiny", refill=True)  # the test database is not a parcours_bench_* one
    assert meta["counts"]["casework_beneficiary"] == TEST_SCALES["tiny"].files
    assert meta["counts"]["casework_auditevent"] == TEST_SCALES["tiny"].audit_events
    assert meta["counts"]["casework_step"] + meta["counts"]["casework_note"] + meta["counts"][
        "casework_appointment"
    ] > (14 * TEST_SCALES["tiny"].files)


def test_every_row_passes_the_database_constraints_and_model_validation(meta):
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # the deferred foreign keys, checked now
    for model in (
        Beneficiary,
        Step,
        casework_models.Note,
        casework_models.Appointment,
        casework_models.Contract,
        casework_models.Orientation,
        casework_models.ReferentAssignment,
        casework_models.HouseholdMember,
        casework_models.Diagnostic,
        casework_models.Barrier,
        casework_models.Objective,
        casework_models.Action,
        casework_models.Share,
        AuditEvent,
    ):
        for obj in model.objects.order_by("?")[:30]:
            obj.full_clean()
    for beneficiary in Beneficiary.objects.all():
        assert beneficiary.search_text == search_key(
            beneficiary.last_name, beneficiary.birth_name, beneficiary.first_name
        )


def test_object_permissions_are_what_the_services_would_have_written(meta):
    drift = sync_grants(Beneficiary.objects.values_list("pk", flat=True), dry_run=True)
    assert drift.total == 0


def test_each_file_ends_its_latest_signed_contract_where_the_services_would_say(meta):
    columns = ("pk", "signed_contract_end", "signed_contracts_until")
    written = {pk: ends for pk, *ends in Beneficiary.objects.values_list(*columns)}
    files_refresh_contract_end(Beneficiary.objects.all())
    assert {pk: ends for pk, *ends in Beneficiary.objects.values_list(*columns)} == written
    assert sum(1 for end, _ in written.values() if end) > len(written) / 2


def test_each_file_carries_its_orientation_in_force_as_the_services_would(meta):
    columns = ("pk", "orientation_track", "orientation_decided_on")
    written = {pk: rest for pk, *rest in Beneficiary.objects.values_list(*columns)}
    files_refresh_orientation(Beneficiary.objects.all())
    assert {pk: rest for pk, *rest in Beneficiary.objects.values_list(*columns)} == written
    assert sum(1 for track, _ in written.values() if track) > len(written) / 2


def test_bench_users_log_in_with_the_bench_password(meta):
    for name in ("referent", "supervisor10", "auditor"):
        assert check_password(PASSWORD, persona(meta, name).password)


def test_referent_sees_exactly_the_files_they_follow(meta):
    referent = persona(meta, "referent")
    visible = set(visible_beneficiaries(referent).values_list("pk", flat=True))
    assert visible == set(Beneficiary.objects.followed_by(referent).values_list("pk", flat=True))
    assert len(visible) == meta["referent_files"] == TEST_SCALES["tiny"].files // TEST_SCALES["tiny"].referents


def test_supervisor10_sees_the_files_of_its_ten_structures(meta):
    supervisor = persona(meta, "supervisor10")
    structures = Structure.objects.filter(code__in=meta["supervisor10_structures"])
    assert len(supervised_structures(supervisor)) == 10
    visible = set(visible_beneficiaries(supervisor).values_list("pk", flat=True))
    assert visible == set(Beneficiary.objects.in_structures(structures).values_list("pk", flat=True))
    assert len(visible) == meta["supervisor10_files"]


def test_auditor_reads_no_file(meta):
    assert not visible_beneficiaries(persona(meta, "auditor")).exists()


def test_big_file_timeline_counts_500_items(meta):
    referent = persona(meta, "referent")
    beneficiary = file_page_data(referent, meta["big_file"])
    assert len(build_timeline(beneficiary, include_emergency_accesses=True)) == BIG_FILE_ENTRIES


def test_search_term_and_filters_match_the_meta(meta):
    term = meta["search_term"]
    for name in ("referent", "supervisor10"):
        scope = visible_beneficiaries(persona(meta, name))
        assert scope.matching(term["term"]).count() == term[name]
    supervisor = persona(meta, "supervisor10")
    request = RequestFactory().get("/dossiers/", meta["filters"])
    request.user = supervisor
    filterset = CaseloadFilterSet(meta["filters"], queryset=visible_beneficiaries(supervisor), request=request)
    assert filterset.is_valid(), filterset.errors
    assert filterset.qs.count() == meta["filters_count"] > 0


def test_team_dashboard_computes_non_zero_figures(meta):
    supervisor = persona(meta, "supervisor_team")
    structures = supervised_structures(supervisor)
    assert len(structures) == 4
    dashboard = team_dashboard(supervisor, structures, Deadlines.current())
    assert dashboard.file_count > 0
    totals = [table.total.counts for table in dashboard.tables]
    assert sum(sum(counts.values()) for counts in totals) > dashboard.file_count  # indicators too
    assert any(count for _track, count in dashboard.tracks)
    assert any(flow for flow in dashboard.flows)


def test_pages_answer_200_on_the_filled_data(meta, client):
    client.force_login(persona(meta, "referent"))
    assert client.get(reverse("casework:file_detail", kwargs={"public_id": meta["big_file"]})).status_code == 200
    assert client.get(reverse("casework:caseload")).status_code == 200
    client.force_login(persona(meta, "supervisor10"))
    response = client.get(reverse("casework:caseload"), {"page": meta["deep_page"]})
    assert response.status_code == 200
    assert response.context["page_obj"].number == meta["deep_page"]
    response = client.get(reverse("casework:caseload"), meta["filters"])
    assert response.status_code == 200
    assert response.context["page_obj"].paginator.count == meta["filters_count"]
    client.force_login(persona(meta, "supervisor_team"))
    assert client.get(reverse("team:dashboard")).status_code == 200


def test_every_page_of_the_benchmark_answers_through_the_probe(meta):
    """bench/pages.py's plan (plain paths and usernames), requested as bench/probe.py does in each tree that
    `make bench BASE=<rev>` compares: every page answers its status, and its statements are counted."""
    plan = pages.plan(meta)
    messages = [{"do": "start", "plan": plan}, {"do": "round"}, {"do": "count"}, {"do": "quit"}]
    replies = io.StringIO()
    probe.serve(io.StringIO("".join(json.dumps(message) + "\n" for message in messages)), replies)
    started, timed, counted = (json.loads(line) for line in replies.getvalue().splitlines())
    assert Path(started["code"]) == Path(probe.__file__).resolve().parent.parent
    assert len(timed["times_ms"]) == len(plan["pages"]) == len(counted["queries"])
    assert all(ms > 0 for ms in timed["times_ms"]) and all(count > 0 for count in counted["queries"])
    names = [page["name"] for page in plan["pages"]]
    assert {name for pair in pages.SAME_QUERIES for name in pair} <= set(names)
    # The writing pages wrote (the counted request was rolled back).
    written = Beneficiary.objects.get(public_id=plan["written_file"])
    assert Step.objects.filter(beneficiary=written, outcome="Inscrite au CACES.").count() == 1


def test_a_step_can_be_logged_and_an_event_recorded_after_the_fill(meta):
    referent = persona(meta, "referent")
    beneficiary = Beneficiary.objects.get(public_id=meta["big_file"])
    before = beneficiary.last_activity_at
    step = step_log(
        actor=referent, beneficiary=beneficiary, kind=Step.Kind.TRAINING, date=timezone.localdate(), status="done"
    )
    assert step.pk
    beneficiary.refresh_from_db()
    assert beneficiary.last_activity_at > before

    shard = referent.pk % settings.AUDIT_CHAIN_SHARDS
    last = (
        AuditEvent.objects.filter(chain_day=timezone.localdate(), chain_shard=shard)
        .order_by("-sequence")
        .values_list("sequence", "hash")
        .first()
    )
    event = audit_record(action=AuditEvent.Action.VIEW_FILE, user=referent, beneficiary=beneficiary)
    if last is not None:
        assert (event.sequence, event.previous_hash) == (last[0] + 1, last[1])
    # An event of the fill's oldest day still chains in order (retention removes whole days).
    oldest = AuditEvent.objects.order_by("occurred_at").first()
    assert oldest.occurred_at > timezone.now() - datetime.timedelta(days=366)
