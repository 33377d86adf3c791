"""Every list of the app answers a hostile `page` or filter value with a page, never a 500.

What a curious user, a crawler or a fuzzer types into the address bar: huge and negative integers,
letters, a NUL byte (`%00`), very long strings, choices that do not exist, the same key twice, ids that
are not UUIDs, impossible dates and dates at the ends of the calendar. Each list is asked, by someone
who may read it, for each of its parameters with each of these values; the answer must be a page (200,
with the error at the field or the last page), a 400 page, a redirection, or the 404 of an id that
names nothing — never a server error. The test client re-raises a view's exception, so a 500 shows
here with its traceback.
"""

from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from django.db import transaction
from django.urls import reverse

from tests.test_permission_matrix import matrix_world

pytestmark = pytest.mark.django_db

ACCEPTED = {200, 302, 303, 400, 404}

HOSTILE_VALUES = {
    "huge": "99999999999999999999",
    "negative": "-1",
    "letters": "abc",
    "nul": "\x00",
    "long": "é9" * 2500,
    "unknown-choice": "inconnu",
    "invalid-uuid": "00000000-0000-0000-0000-00000000000g",
    "bad-date": "2024-13-45",
    # The ends of the calendar: a midnight of the year 1 has no UTC value, the 31/12/9999 no next day.
    "first-day": "0001-01-01",
    "last-day": "9999-12-31",
    "repeated": ["1", "abc"],
}


@dataclass(frozen=True)
class Listing:
    """A list of the app: who may read it, its URL, its parameters, and how it is asked for."""

    url_name: str
    persona: str
    params: tuple[str, ...]
    args: Callable = lambda world: ()
    method: str = "get"
    # Parameters sent with every request (the export's format), so that the hostile one is read.
    base: dict = field(default_factory=dict)


AUDIT_FILTERS = ("du", "au", "utilisateur", "structure", "beneficiaire", "action", "type_objet", "objet")
CASELOAD_FILTERS = (
    "vue",
    "statut",
    "sdd",
    "orientation",
    "structure",
    "referent",
    "commune",
    "contrat",
    "inactivite",
    "absence",
    "alerte",
    "accompagnement",
    "tri",
)

LISTINGS = {
    "caseload": Listing("casework:caseload", "supervisor", ("page", *CASELOAD_FILTERS)),
    "caseload-referent": Listing("casework:caseload", "referent", ("page", "vue", "referent")),
    # The search posts the caseload's filters (read as the list reads them): the term and a few of them.
    "caseload-search": Listing(
        "casework:caseload_search", "supervisor", ("q", "vue", "structure", "tri"), method="post"
    ),
    "team-dashboard": Listing("team:dashboard", "supervisor", ("page",)),
    "team-dashboard-export": Listing("team:dashboard_export", "supervisor", ("format",)),
    "team-alerts": Listing("team:alerts", "supervisor", ("page", "indicateur", "referent", "tri")),
    "team-alerts-export": Listing(
        "team:alerts_export", "supervisor", ("format", "indicateur", "referent", "tri"), base={"format": "csv"}
    ),
    "reassign": Listing("team:reassign", "supervisor", ("page", "referent", "dossier")),
    "covers": Listing("team:covers", "supervisor", ("page",)),
    "notifications": Listing("team:notifications", "referent", ("page",)),
    "audit-events": Listing("audit:events", "auditor", ("page", *AUDIT_FILTERS)),
    "audit-exports": Listing("audit:exports", "auditor", ("page", *AUDIT_FILTERS)),
    "imports": Listing("imports:list", "admin", ("page",)),
    "import-detail": Listing(
        "imports:detail", "admin", ("page",), args=lambda world: (world.entries["import"].public_id,)
    ),
    "access-report": Listing(
        "audit:access_report", "auditor", ("page", "du", "au"), args=lambda world: (world.file.public_id,)
    ),
    "access-report-export": Listing(
        "audit:access_report_export", "auditor", ("du", "au"), args=lambda world: (world.file.public_id,)
    ),
    "file-timeline": Listing(
        "casework:file_detail", "referent", ("page", "type"), args=lambda world: (world.file.public_id,)
    ),
    # The pickers' searches (as the user types): which picker, its term, the values ticked so far.
    "note-recipients": Listing(
        "casework:note_recipients_search",
        "referent",
        ("champ", "recherche_shared_with_users", "shared_with_users"),
        args=lambda world: (world.file.public_id,),
        base={"champ": "shared_with_users"},
    ),
    "share-targets": Listing(
        "casework:share_target_search",
        "referent",
        ("champ", "recherche_shared_with_structure", "shared_with_structure"),
        args=lambda world: (world.file.public_id,),
        base={"champ": "shared_with_structure"},
    ),
}


def cases():
    for listing_key, listing in LISTINGS.items():
        for parameter in listing.params:
            for value_key in HOSTILE_VALUES:
                yield pytest.param(listing_key, parameter, value_key, id=f"{listing_key}-{parameter}-{value_key}")


@pytest.fixture(scope="module")
def personas(django_db_setup, django_db_blocker):
    """The shared personas as the permission matrix writes on them (the file with one entry of each kind,
    an import, an export, a cover, a notification), built once for the module; each test runs in a
    savepoint on top of it."""
    with django_db_blocker.unblock(), transaction.atomic():
        yield matrix_world("plain")
        transaction.set_rollback(True)


@pytest.mark.parametrize(("listing_key", "parameter", "value_key"), list(cases()))
def test_a_hostile_parameter_gets_a_page(client, personas, listing_key, parameter, value_key):
    listing = LISTINGS[listing_key]
    client.force_login(personas.users[listing.persona])
    url = reverse(listing.url_name, args=listing.args(personas))
    data = {**listing.base, parameter: HOSTILE_VALUES[value_key]}
    response = getattr(client, listing.method)(url, data)
    assert response.status_code in ACCEPTED, response.status_code


def test_every_list_is_walked():
    """A list added to the app without a line here fails: its URL names are those of the lists above."""
    walked = {listing.url_name for listing in LISTINGS.values()}
    assert walked >= {
        "casework:caseload",
        "casework:caseload_search",
        "team:dashboard",
        "team:alerts",
        "team:reassign",
        "team:covers",
        "team:notifications",
        "audit:events",
        "audit:exports",
        "imports:list",
        "imports:detail",
        "audit:access_report",
        "casework:file_detail",
        "casework:note_recipients_search",
        "casework:share_target_search",
    }
