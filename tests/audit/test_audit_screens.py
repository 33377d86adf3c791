"""The auditor's screens (search of the trail, one event and the events around it) and a file's access
report, on screen and in CSV (issue 5)."""

import csv
import datetime
import io
import itertools
import re
import zoneinfo

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role
from audit.filters import AROUND_COUNT, AuditEventFilterSet
from audit.models import AuditEvent
from tests.accounts.factories import StructureFactory, member
from tests.casework.factories import BeneficiaryFactory, NoteFactory
from tests.conftest import AUDIT_QUERIES, HEADER_QUERIES, SESSION_QUERIES

pytestmark = pytest.mark.django_db

PARIS = zoneinfo.ZoneInfo("Europe/Paris")
EVENTS_URL = reverse("audit:events")
DETAIL_LINK = re.compile(r'href="/audit/evenements/(\d+)/"')
EMERGENCY_REASON = "La personne est à l'accueil, sa référente est en congé : besoin de son contrat."

_links = itertools.count(1)


def paris(*args) -> datetime.datetime:
    return datetime.datetime(*args, tzinfo=PARIS)


def make_event(*, at=None, action=AuditEvent.Action.VIEW_FILE, actor=None, **fields) -> AuditEvent:
    """An event as the middleware would have written it at `at` (the screens read the trail, they do
    not verify its chain: verify_audit's tests are in test_audit.py)."""
    at = at or timezone.now()
    fields.setdefault("status_code", 200)
    if actor is not None:
        memberships = actor.active_memberships
        fields.setdefault("actor_username", actor.username)
        fields.setdefault("actor_structures", ", ".join(sorted(m.structure.name for m in memberships)))
        fields.setdefault("actor_roles", ", ".join(sorted(m.role for m in memberships)))
    return AuditEvent.objects.create(
        occurred_at=at,
        chain_day=timezone.localdate(at),
        chain_shard=0,
        sequence=1_000_000 + next(_links),
        previous_hash="0" * 64,
        hash="f" * 64,
        actor=actor,
        action=action,
        ip_address="10.0.0.1",
        **fields,
    )


def listed(response) -> set[int]:
    return {int(pk) for pk in DETAIL_LINK.findall(response.content.decode())}


def report_url(file, name="audit:access_report") -> str:
    return reverse(name, args=[file.public_id])


def csv_rows(response) -> list[list[str]]:
    content = b"".join(response.streaming_content).decode("utf-8")
    assert content.startswith("\ufeff")
    return list(csv.reader(io.StringIO(content[1:]), delimiter=";"))


# --- Who may open what ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["events", "event_detail", "access_report", "access_report_export"])
def test_anonymous_is_sent_to_the_login_page(client, personas, name):
    event = make_event(actor=personas.referent, beneficiary=personas.file)
    args = {"events": [], "event_detail": [event.pk]}.get(name, [personas.file.public_id])

    response = client.get(reverse(f"audit:{name}", args=args))

    assert response.status_code == 302 and response.url.startswith(reverse("login"))


@pytest.mark.parametrize(
    ("persona", "status"),
    [("auditor", 200), ("referent", 403), ("supervisor", 403), ("admin", 403), ("other", 403)],
)
def test_only_auditors_read_the_trail(client, personas, persona, status):
    event = make_event(actor=personas.referent, beneficiary=personas.file)
    client.force_login(getattr(personas, persona))

    assert client.get(EVENTS_URL).status_code == status
    assert client.get(reverse("audit:event_detail", args=[event.pk])).status_code == status


def test_an_unknown_event_is_a_404_for_an_auditor_and_a_403_for_anybody_else(client, personas):
    url = reverse("audit:event_detail", args=[982345678])
    client.force_login(personas.auditor)
    assert client.get(url).status_code == 404
    client.force_login(personas.referent)
    assert client.get(url).status_code == 403


@pytest.mark.parametrize(
    ("persona", "status"),
    [
        ("auditor", 200),  # reads no file, but answers the beneficiary's request
        ("supervisor", 200),  # supervises the file's structure
        ("other_supervisor", 404),
        ("referent", 403),  # sees the file, not who else looked at it
        ("other", 404),
        ("admin", 404),  # administers the app, reads no file
    ],
)
@pytest.mark.parametrize("name", ["audit:access_report", "audit:access_report_export"])
def test_who_reads_the_access_report(client, personas, persona, status, name):
    client.force_login(getattr(personas, persona))

    assert client.get(report_url(personas.file, name)).status_code == status


def test_the_access_report_of_an_unknown_file_is_a_404_even_for_an_auditor(client, personas):
    client.force_login(personas.auditor)
    response = client.get(reverse("audit:access_report", args=["0c4b4d55-3d2e-4d7c-9a39-1f4a3c9b2e10"]))
    assert response.status_code == 404


def test_auditors_find_the_trail_in_the_menu_and_supervisors_the_report_on_the_file_page(client, personas):
    client.force_login(personas.auditor)
    home = client.get(reverse("home")).content.decode()
    assert f'href="{EVENTS_URL}"' in home and f'href="{reverse("audit:exports")}"' in home

    client.force_login(personas.supervisor)
    page = client.get(reverse("casework:file_detail", args=[personas.file.public_id])).content.decode()
    assert f'href="{report_url(personas.file)}"' in page and f'href="{EVENTS_URL}"' not in page

    client.force_login(personas.referent)
    page = client.get(reverse("casework:file_detail", args=[personas.file.public_id])).content.decode()
    assert report_url(personas.file) not in page and "Journal d&#x27;audit" not in page


# --- The search -------------------------------------------------------------------------------------


@pytest.fixture
def trail(personas):
    """Events in March 2025 (Paris time), well apart from the ones the tests' own requests add today."""
    t = type("Trail", (), {})()
    t.late_on_9 = make_event(at=paris(2025, 3, 9, 23, 30), actor=personas.referent, beneficiary=personas.file)
    t.early_on_10 = make_event(at=paris(2025, 3, 10, 0, 30), actor=personas.other, beneficiary=personas.other_file)
    t.note = make_event(
        at=paris(2025, 3, 11, 9),
        action=AuditEvent.Action.VIEW_NOTE,
        actor=personas.referent,
        beneficiary=personas.file,
        object_type="note",
        object_id="42",
    )
    t.emergency = make_event(
        at=paris(2025, 3, 12, 14),
        action=AuditEvent.Action.EMERGENCY_ACCESS,
        actor=personas.other,
        beneficiary=personas.file,
        reason=EMERGENCY_REASON,
    )
    t.login = make_event(at=paris(2025, 3, 12, 15), action=AuditEvent.Action.LOGIN, actor=personas.supervisor)
    return t


def test_the_search_lists_every_event_with_who_what_and_which_file(client, personas, trail):
    client.force_login(personas.auditor)

    response = client.get(EVENTS_URL, {"du": "2025-03-01", "au": "2025-03-31"})

    assert listed(response) == {
        trail.late_on_9.pk,
        trail.early_on_10.pk,
        trail.note.pk,
        trail.emergency.pk,
        trail.login.pk,
    }
    page = response.content.decode()
    assert "5 événements" in page
    assert "11/03/2025 09:00:00" in page  # Paris time
    assert "referente" in page and "MDS Nord" in page and "Référent·e insertion" in page
    assert "Consultation d&#x27;une note" in page and "note 42" in page
    assert "ZIDANE Zoé" in page and "2345678" in page and report_url(personas.file) in page
    assert "Accès exceptionnel" in page and "10.0.0.1" in page


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        # Days are Paris days: 23:30 on the 9th is the 9th, 00:30 on the 10th (23:30 UTC on the 9th) the 10th.
        ({"du": "2025-03-10", "au": "2025-03-10"}, ["early_on_10"]),
        ({"du": "2025-03-09", "au": "2025-03-09"}, ["late_on_9"]),
        ({"du": "2025-03-12", "au": "2025-03-31"}, ["emergency", "login"]),
        ({"au": "2025-03-10"}, ["late_on_9", "early_on_10"]),
        ({"utilisateur": "REFERENTE"}, ["late_on_9", "note"]),
        ({"beneficiaire": "2345678"}, ["late_on_9", "note", "emergency"]),
        # (the tests' own logins are today's: a period keeps them out)
        ({"action": ["emergency_access", "login"], "au": "2025-12-31"}, ["emergency", "login"]),
        ({"type_objet": "note", "objet": "42"}, ["note"]),
        ({"objet": "43"}, []),
        ({"utilisateur": "personne"}, []),
    ],
)
def test_filters_narrow_the_search(client, personas, trail, filters, expected):
    client.force_login(personas.auditor)

    response = client.get(EVENTS_URL, filters)

    assert response.status_code == 200
    assert listed(response) == {getattr(trail, name).pk for name in expected}


def test_the_search_filters_by_structure_at_that_time_and_by_file_public_id(client, personas, trail):
    client.force_login(personas.auditor)

    by_structure = client.get(EVENTS_URL, {"structure": personas.sud.pk})
    by_public_id = client.get(EVENTS_URL, {"beneficiaire": str(personas.other_file.public_id)})

    assert listed(by_structure) == {trail.early_on_10.pk, trail.emergency.pk}
    assert listed(by_public_id) == {trail.early_on_10.pk}


def test_the_search_by_structure_matches_its_whole_name_only(client, personas):
    """A structure is one of the names of the actor's structures at that moment: not a part of another
    name, and a name with a comma of its own is matched whole (the list is split at the commas)."""
    client.force_login(personas.auditor)
    lille = StructureFactory(name="CCAS de Lille")
    antenna = StructureFactory(name="CCAS de Lille, antenne sud")
    events = {
        "alone": make_event(actor_structures="CCAS de Lille"),
        "first_of_two": make_event(actor_structures="CCAS de Lille, Maison des solidarités"),
        "last_of_two": make_event(actor_structures="Agence, CCAS de Lille"),
        "antenna": make_event(actor_structures="CCAS de Lille, antenne sud"),
        "antenna_among_others": make_event(actor_structures="Agence, CCAS de Lille, antenne sud, Zeta"),
        "longer_name": make_event(actor_structures="CCAS de Lille-Sud"),
        "antenna_parts_apart": make_event(actor_structures="antenne sud, CCAS de Lille"),
        "none": make_event(actor_structures=""),
    }

    def found(structure) -> set[str]:
        pks = listed(client.get(EVENTS_URL, {"structure": structure.pk}))
        return {name for name, event in events.items() if event.pk in pks}

    # The antenna's own events name "CCAS de Lille" too, split at its comma: the same as the regular
    # expression on the whole text, which the search keeps for a name with a comma.
    assert found(lille) == {
        "alone",
        "first_of_two",
        "last_of_two",
        "antenna",
        "antenna_among_others",
        "antenna_parts_apart",
    }
    assert found(antenna) == {"antenna", "antenna_among_others"}


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the index is PostgreSQL's (migration 0016)")
def test_the_search_by_structure_can_read_the_index_of_the_names(personas):
    """The filter writes the very expression migration 0016 indexes, so the planner can use the index."""
    queryset = AuditEventFilterSet({"structure": personas.sud.pk}, queryset=AuditEvent.objects.all()).qs
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        sql, params = queryset.query.sql_with_params()
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "audit_structure_names" in plan


@pytest.mark.parametrize(
    ("filters", "field", "message"),
    [
        ({"du": "2025-03-12", "au": "2025-03-10"}, "au", "La date de fin doit être le même jour que la date de début"),
        ({"du": "2025-02-30"}, "du", "Saisissez une date valide."),
        ({"action": "effacer"}, "action", "Sélectionnez un choix valide"),
        ({"structure": "999999"}, "structure", "Sélectionnez un choix valide"),
        ({"du": "0001-01-01"}, "du", "Choisissez une date entre le 01/01/1900 et le 31/12/9998."),
        ({"au": "9999-12-31"}, "au", "Choisissez une date entre le 01/01/1900 et le 31/12/9998."),
    ],
)
def test_an_invalid_filter_says_why_at_the_field_and_lists_nothing(client, personas, trail, filters, field, message):
    client.force_login(personas.auditor)

    response = client.get(EVENTS_URL, filters)

    assert response.status_code == 200
    assert listed(response) == set()
    page = response.content.decode().replace("&#x27;", "'")
    assert f'id="id_{field}-erreur"' in page and message in page
    assert "Un filtre n'est pas valide" in page
    assert "Exporter ces événements" not in page


@pytest.mark.parametrize("count", [5, 60])
def test_the_search_runs_a_constant_number_of_queries(client, personas, django_assert_max_num_queries, count):
    actors = [member(Role.REFERENT, structure=personas.nord) for _ in range(3)]
    files = BeneficiaryFactory.create_batch(3)
    for i in range(count):
        make_event(
            at=paris(2025, 4, 1, 8) + datetime.timedelta(minutes=i), actor=actors[i % 3], beneficiary=files[i % 3]
        )
    client.force_login(personas.auditor)
    # User, BEGIN, memberships, COUNT (up to 10,001 events), the page's rows with their file, the structures
    # of the filter, COMMIT, then the session's save.
    with django_assert_max_num_queries(7 + SESSION_QUERIES + AUDIT_QUERIES + HEADER_QUERIES):
        response = client.get(
            EVENTS_URL, {"du": "2025-04-01", "au": "2025-04-30", "beneficiaire": "", "utilisateur": ""}
        )
    assert f"{count} événements" in response.content.decode()
    assert len(listed(response)) == min(count, 50)


def test_the_search_pages_keep_the_filters(client, personas):
    for i in range(55):
        make_event(at=paris(2025, 4, 1, 8) + datetime.timedelta(minutes=i), actor=personas.referent)
    client.force_login(personas.auditor)

    first = client.get(EVENTS_URL, {"du": "2025-04-01", "au": "2025-04-01"})
    second = client.get(EVENTS_URL, {"du": "2025-04-01", "au": "2025-04-01", "page": 2})

    assert "?du=2025-04-01&amp;au=2025-04-01&amp;page=2" in first.content.decode()
    assert len(listed(first)) == 50 and len(listed(second)) == 5
    assert listed(first).isdisjoint(listed(second))


@pytest.fixture
def count_limit(monkeypatch):
    """The search counts up to 4 events (10,000 in the app): 5 events are "more than 4"."""
    monkeypatch.setattr("audit.views.screens.EVENTS_COUNT_LIMIT", 4)
    monkeypatch.setattr("audit.views.screens.EVENTS_PAGE_SIZE", 2)
    return 4


def test_beyond_the_count_limit_the_search_says_more_than_and_pages_through_the_most_recent(
    client, personas, count_limit
):
    events = [make_event(at=paris(2025, 4, 1, 8) + datetime.timedelta(minutes=i)) for i in range(5)]
    client.force_login(personas.auditor)

    pages = [client.get(EVENTS_URL, {"au": "2025-04-30", "page": number}) for number in (1, 2, 3)]

    page = pages[0].content.decode()
    assert "Plus de 4 événements correspondant aux filtres" in page
    assert "Les pages présentent les 4 plus récents" in page
    assert "Tous les événements correspondant aux filtres ci-dessus (plus de 4)" in page
    assert "?au=2025-04-30&amp;page=2" in page and "page=3" not in page
    # Newest first, each once: the 4 most recent over two pages; page 3 does not exist and shows the last.
    assert [listed(response) for response in pages] == [
        {events[4].pk, events[3].pk},
        {events[2].pk, events[1].pk},
        {events[2].pk, events[1].pk},
    ]
    recorded = AuditEvent.objects.filter(action=AuditEvent.Action.VIEW_AUDIT).latest("pk")
    assert recorded.details == {"count": 4, "count_exact": False, "filters": {"au": ["2025-04-30"], "page": ["3"]}}


def test_a_narrower_search_shows_the_exact_count(client, personas, count_limit):
    for i in range(5):
        make_event(at=paris(2025, 4, 1, 8) + datetime.timedelta(minutes=i), action=AuditEvent.Action.VIEW_FILE)
    make_event(at=paris(2025, 4, 2, 8), action=AuditEvent.Action.DOWNLOAD)
    make_event(at=paris(2025, 4, 2, 9), action=AuditEvent.Action.EMERGENCY_ACCESS)
    client.force_login(personas.auditor)

    for filters, text in [
        ({"au": "2025-04-01"}, "Plus de 4 événements"),
        ({"au": "2025-04-30", "action": ["download", "emergency_access"]}, "2 événements"),
        ({"du": "2025-04-02", "au": "2025-04-02"}, "2 événements"),
        ({"au": "2025-04-30", "action": "emergency_access"}, "1 événement correspondant"),
    ]:
        page = client.get(EVENTS_URL, filters).content.decode()
        assert text in page
        assert ("Les pages présentent" in page) == text.startswith("Plus de")
    recorded = AuditEvent.objects.filter(action=AuditEvent.Action.VIEW_AUDIT).latest("pk")
    assert recorded.details["count"] == 1 and "count_exact" not in recorded.details


def test_the_count_is_written_as_french_does(client, personas, monkeypatch):
    monkeypatch.setattr("audit.views.screens.EVENTS_PAGE_SIZE", 1000)
    for i in range(1000):
        make_event(at=paris(2025, 4, 1, 8) + datetime.timedelta(seconds=i))
    client.force_login(personas.auditor)

    page = client.get(EVENTS_URL, {"au": "2025-04-30"}).content.decode()

    assert "1\xa0000 événements correspondant aux filtres" in page


def test_the_search_is_itself_recorded_with_its_filters_and_count_not_its_results(client, personas, trail):
    client.force_login(personas.auditor)

    client.get(EVENTS_URL, {"du": "2025-03-01", "au": "2025-03-31", "action": ["view_file", "view_note"]})

    event = AuditEvent.objects.get(action=AuditEvent.Action.VIEW_AUDIT)
    assert event.actor == personas.auditor and event.url_name == "audit:events"
    assert event.details == {
        "count": 3,
        "filters": {"du": ["2025-03-01"], "au": ["2025-03-31"], "action": ["view_file", "view_note"]},
    }
    assert event.beneficiary is None


def test_the_page_offers_to_export_the_events_found_with_the_same_filters(client, personas, trail):
    client.force_login(personas.auditor)

    page = client.get(EVENTS_URL, {"du": "2025-03-01", "action": ["login", "view_note"], "objet": ""}).content.decode()

    form = page[page.index(f'<form method="post" action="{reverse("audit:exports")}"') :]
    form = form[: form.index("</form>")]
    hidden = re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', form)
    hidden = sorted(field for field in hidden if field[0] != "csrfmiddlewaretoken")
    assert hidden == [("action", "login"), ("action", "view_note"), ("du", "2025-03-01")]
    assert 'value="csv"' in form and "CSV (tableur)" in form and 'value="jsonl"' in form and "JSON Lines" in form
    assert "Exporter ces événements" in form


# --- One event and the events around it -------------------------------------------------------------


def test_an_event_is_shown_whole(client, personas, trail):
    client.force_login(personas.auditor)

    response = client.get(reverse("audit:event_detail", args=[trail.emergency.pk]))

    page = response.content.decode()
    assert response.status_code == 200
    assert EMERGENCY_REASON.replace("'", "&#x27;") in page
    assert "f" * 64 in page and "0" * 64 in page and f"maillon {trail.emergency.sequence}" in page
    assert "referent-sud" in page and "MDS Sud" in page and "Accès exceptionnel" in page


def test_the_details_are_pretty_printed(client, personas):
    event = make_event(
        actor=personas.referent,
        action=AuditEvent.Action.VIEW_LIST,
        details={"count": 3, "filters": {"statut": ["open"]}},
    )
    client.force_login(personas.auditor)

    page = client.get(reverse("audit:event_detail", args=[event.pk])).content.decode()

    assert "{\n  &quot;count&quot;: 3,\n  &quot;filters&quot;: {\n    &quot;statut&quot;: [" in page


def test_the_events_around_are_those_of_the_same_user_and_of_the_same_file(client, personas):
    start = paris(2025, 5, 2, 9)
    mine = [
        make_event(at=start + datetime.timedelta(minutes=i), actor=personas.referent) for i in range(AROUND_COUNT + 3)
    ]
    on_file = [
        make_event(
            at=start + datetime.timedelta(minutes=i, seconds=30), actor=personas.other, beneficiary=personas.file
        )
        for i in range(4)
    ]
    make_event(at=start + datetime.timedelta(minutes=2), actor=personas.other, beneficiary=personas.other_file)
    middle = make_event(
        at=start + datetime.timedelta(minutes=2, seconds=10), actor=personas.referent, beneficiary=personas.file
    )
    client.force_login(personas.auditor)

    response = client.get(reverse("audit:event_detail", args=[middle.pk]))

    by_user = [event.pk for event in response.context["actor_events"]]
    by_file = [event.pk for event in response.context["file_events"]]
    assert by_user == [
        mine[0].pk,
        mine[1].pk,
        mine[2].pk,
        middle.pk,
        *(event.pk for event in mine[3 : 3 + AROUND_COUNT]),
    ]
    assert by_file == [on_file[0].pk, on_file[1].pk, middle.pk, on_file[2].pk, on_file[3].pk]
    linked = listed(response)
    assert {mine[0].pk, on_file[3].pk} <= linked and middle.pk not in linked


def test_reading_an_event_is_recorded(client, personas, trail):
    client.force_login(personas.auditor)

    client.get(reverse("audit:event_detail", args=[trail.note.pk]))

    event = AuditEvent.objects.get(action=AuditEvent.Action.VIEW_AUDIT)
    assert (event.object_type, event.object_id, event.url_name) == (
        "audit_event",
        str(trail.note.pk),
        "audit:event_detail",
    )


# --- The access report ------------------------------------------------------------------------------


def test_the_access_report_lists_who_accessed_the_file_when_and_why(client, personas, trail):
    share = make_event(
        at=paris(2025, 3, 13, 10),
        action=AuditEvent.Action.SHARE,
        actor=personas.referent,
        beneficiary=personas.file,
        reason="Partage avec le CCAS pour l'aide au logement.",
    )
    client.force_login(personas.supervisor)

    response = client.get(report_url(personas.file))

    page = response.content.decode()
    events = list(response.context["page_obj"])
    assert [event.pk for event in events] == [share.pk, trail.emergency.pk, trail.note.pk, trail.late_on_9.pk]
    assert "ZIDANE Zoé" in page and "CAF n° 2345678" in page
    assert "referente</span> – Rita Ferrand" in page and "MDS Nord" in page
    assert "Partage avec le CCAS pour l&#x27;aide au logement." in page
    assert "du 09/03/2025 au" in page and "par" in page and "superviseur" in page
    assert "@media print" in page and "window.print()" in page


def test_emergency_accesses_stand_out_with_a_badge_and_their_reason(client, personas, trail):
    client.force_login(personas.auditor)

    page = client.get(report_url(personas.file)).content.decode()

    row = page[page.index('class="table-warning access-report-emergency"') :]
    row = row[: row.index("</tr>")]
    assert "Accès exceptionnel</span>" in row
    assert EMERGENCY_REASON.replace("'", "&#x27;") in row and "referent-sud" in row
    assert page.count('access-report-emergency"') == 1


def test_the_access_report_shows_none_of_the_file_content(client, personas):
    note = NoteFactory(beneficiary=personas.file, author=personas.referent, body="MARQUEUR-CONFIDENTIEL-5531")
    make_event(
        action=AuditEvent.Action.VIEW_NOTE,
        actor=personas.referent,
        beneficiary=personas.file,
        object_type="note",
        object_id=note.pk,
    )
    client.force_login(personas.supervisor)

    page = client.get(report_url(personas.file)).content.decode()
    rows = csv_rows(client.get(report_url(personas.file, "audit:access_report_export")))

    assert "Consultation d&#x27;une note" in page
    assert "MARQUEUR-CONFIDENTIEL-5531" not in page
    assert all("MARQUEUR-CONFIDENTIEL-5531" not in cell for row in rows for cell in row)


def test_the_access_report_period_is_in_paris_days(client, personas, trail):
    client.force_login(personas.auditor)

    response = client.get(report_url(personas.file), {"du": "2025-03-10", "au": "2025-03-12"})

    assert [event.pk for event in response.context["page_obj"]] == [trail.emergency.pk, trail.note.pk]
    assert "du 10/03/2025 au 12/03/2025" in response.content.decode()


def test_an_invalid_period_says_why_at_the_field(client, personas, trail):
    client.force_login(personas.auditor)

    response = client.get(report_url(personas.file), {"du": "2025-03-12", "au": "2025-03-10"})

    assert response.status_code == 200 and list(response.context["page_obj"]) == []
    assert 'id="id_au-erreur"' in response.content.decode()
    export = client.get(report_url(personas.file, "audit:access_report_export"), {"du": "demain"})
    assert export.status_code == 302 and export.url == report_url(personas.file) + "?du=demain"


def test_a_supervisor_does_not_read_the_name_of_a_sensitive_structure_they_do_not_belong_to(client, personas):
    csapa = StructureFactory(name="CSAPA Les Tilleuls", is_sensitive=True)
    nurse = member(Role.REFERENT, structure=csapa, username="infirmier")
    make_event(action=AuditEvent.Action.VIEW_FILE, actor=nurse, beneficiary=personas.file)

    client.force_login(personas.supervisor)
    supervisor_page = client.get(report_url(personas.file)).content.decode()
    client.force_login(personas.auditor)
    auditor_page = client.get(report_url(personas.file)).content.decode()

    assert "CSAPA" not in supervisor_page and "Structure partenaire" in supervisor_page
    assert "CSAPA Les Tilleuls" in auditor_page


@pytest.mark.parametrize("count", [5, 110])
def test_the_access_report_runs_a_constant_number_of_queries(client, personas, django_assert_max_num_queries, count):
    actors = [member(Role.REFERENT, structure=personas.nord) for _ in range(3)]
    for i in range(count):
        make_event(
            at=paris(2025, 4, 1, 8) + datetime.timedelta(minutes=i), actor=actors[i % 3], beneficiary=personas.file
        )
    client.force_login(personas.supervisor)
    # User, BEGIN, memberships, the file, COUNT, the sensitive structures, the page's rows with their user,
    # the first event's date, COMMIT, then the session's save.
    with django_assert_max_num_queries(9 + SESSION_QUERIES + AUDIT_QUERIES + HEADER_QUERIES):
        response = client.get(report_url(personas.file))
    assert len(response.context["page_obj"]) == min(count, 100)
    assert f"{count} accès" in response.content.decode()


def test_reading_the_access_report_is_recorded_with_its_count(client, personas, trail):
    client.force_login(personas.supervisor)

    client.get(report_url(personas.file), {"du": "2025-03-10"})
    client.get(report_url(personas.file, "audit:access_report_export"))

    page_event, export_event = AuditEvent.objects.filter(action=AuditEvent.Action.ACCESS_REPORT).order_by("pk")
    assert page_event.beneficiary == personas.file and page_event.actor == personas.supervisor
    assert page_event.details == {"count": 2, "filters": {"du": ["2025-03-10"]}}
    # The export lists the report's own reading just before it (it is an access to the trail of this file).
    assert export_event.details == {"count": 4, "format": "csv"}
    assert export_event.url_name == "audit:access_report_export"


def test_the_csv_holds_exactly_the_report_rows_and_defuses_formulas(client, personas, trail):
    make_event(
        at=paris(2025, 3, 14, 8, 5),
        action=AuditEvent.Action.SHARE,
        actor=personas.referent,
        beneficiary=personas.file,
        reason='=HYPERLINK("http://exemple.org";"clic")',
    )
    make_event(at=paris(2025, 3, 14, 9), actor=personas.referent, beneficiary=personas.file, reason="@SOMME(A1:A9)")
    make_event(at=paris(2025, 4, 20, 9), actor=personas.referent, beneficiary=personas.file)  # outside the period
    client.force_login(personas.auditor)

    response = client.get(
        report_url(personas.file, "audit:access_report_export"), {"du": "2025-03-01", "au": "2025-03-31"}
    )

    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert (
        response["Content-Disposition"] == f'attachment; filename="acces-2345678-{timezone.localdate():%Y-%m-%d}.csv"'
    )
    rows = csv_rows(response)
    assert rows[0] == [
        "Date et heure",
        "Identifiant",
        "Nom",
        "Structures à ce moment",
        "Rôles à ce moment",
        "Action",
        "Motif",
        "Adresse IP",
        "Réponse",
        "Écran",
    ]
    assert [row[0] for row in rows[1:]] == [
        "14/03/2025 09:00:00",
        "14/03/2025 08:05:00",
        "12/03/2025 14:00:00",
        "11/03/2025 09:00:00",
        "09/03/2025 23:30:00",
    ]
    assert rows[1][6] == "'@SOMME(A1:A9)"
    assert rows[2][6] == '\'=HYPERLINK("http://exemple.org";"clic")' and rows[2][5] == "Partage"
    assert rows[3][1:7] == [
        "referent-sud",
        personas.other.get_full_name(),
        "MDS Sud",
        "Référent·e insertion",
        "Accès exceptionnel",
        EMERGENCY_REASON,
    ]
    assert rows[5][7:] == ["10.0.0.1", "accepté", "—"]


@pytest.mark.parametrize(
    "typed",
    [
        "2345678",
        "CAF 2345678",  # as the trail's rows and the file page show it
        "caf n° 2345678",  # as the event's page and the access report show it
        "CAF2345678",
        " 234 56 78 ",  # read out in groups
        "Zidane",
        "zoe zidane",  # accents and case aside
        "ZIDANE Zoé",
        "{public_id}",
    ],
)
def test_the_search_by_file_accepts_the_formats_the_app_shows(client, personas, trail, typed):
    client.force_login(personas.auditor)

    response = client.get(EVENTS_URL, {"beneficiaire": typed.format(public_id=personas.file.public_id)})

    assert listed(response) == {trail.late_on_9.pk, trail.note.pk, trail.emergency.pk}


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("MSA 2345678", []),  # the number is a CAF one
        ("2345679", []),
        ("Zidane Xena", []),  # every word must be in the same file's names
        ("z", []),  # too short to name anybody
        ("Xavier", ["early_on_10"]),
    ],
)
def test_the_search_by_file_finds_only_the_file_named(client, personas, trail, typed, expected):
    client.force_login(personas.auditor)

    response = client.get(EVENTS_URL, {"beneficiaire": typed})

    assert listed(response) == {getattr(trail, name).pk for name in expected}


def test_the_search_by_file_says_which_formats_it_accepts(client, personas):
    client.force_login(personas.auditor)

    page = client.get(EVENTS_URL).content.decode()

    assert "n° allocataire, nom ou identifiant du dossier" in page
    assert 'aria-describedby="id_beneficiaire-aide"' in page and "« CAF 2620084 »" in page
