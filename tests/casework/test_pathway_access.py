"""Who reaches each pathway URL: 404 for a file out of scope (whether it exists or not), 403 for a file
one reads but may not act on (or, for the orientation decision, that one does not supervise), and the
login page for anonymous visitors. Each URL, each method, each persona."""

import uuid

import pytest
from django.db import transaction
from django.urls import reverse

from casework.models import Barrier, Contract, Orientation
from casework.services.pathway import reorientation_request
from tests.casework.factories import (
    ActionFactory,
    BarrierFactory,
    ContractFactory,
    DiagnosticFactory,
    ObjectiveFactory,
)
from tests.casework.test_pathway_world import days, with_pathway
from tests.personas import build_personas

pytestmark = pytest.mark.django_db

# Who may act: "change" is the file's referent and the supervisors of its structure (can_change);
# "decide" is the supervisors of its structure only (the orientation decision).
CHANGE, DECIDE = "change", "decide"
ALLOWED = {CHANGE: {"referent", "supervisor"}, DECIDE: {"supervisor"}}
READERS = {"referent", "supervisor", "recipient"}
PERSONAS = ("anonymous", "referent", "colleague", "other", "supervisor", "other_supervisor", "recipient", "auditor")

# url name -> (methods, rule)
URLS = {
    "contract_create": (("get", "post"), CHANGE),
    "contract_renew": (("get", "post"), CHANGE),
    "contract_sign": (("get", "post"), CHANGE),
    "orientation_decide": (("get", "post"), DECIDE),
    "reorientation_request": (("get", "post"), CHANGE),
    "reorientation_decide": (("get", "post"), DECIDE),
    "objective_create": (("get", "post"), CHANGE),
    "objective_status": (("post",), CHANGE),
    "action_create": (("get", "post"), CHANGE),
    "action_status": (("post",), CHANGE),
    "diagnostic_create": (("get", "post"), CHANGE),
    "barrier_resolve": (("get", "post"), CHANGE),
    "support_end": (("get", "post"), CHANGE),
}


@pytest.fixture(scope="module")
def personas(django_db_setup, django_db_blocker):
    """The shared personas with their pathway, and an object of each kind the URLs name, built once for the
    module (about 200 tests); each test runs in a savepoint on top of it."""
    with django_db_blocker.unblock(), transaction.atomic():
        yield with_objects_of_each_kind(with_pathway(build_personas()))
        transaction.set_rollback(True)


def with_objects_of_each_kind(p):
    """A signed contract and a draft, a reorientation request, an objective with an action, a barrier."""
    p.signed = ContractFactory(beneficiary=p.file, start_date=days(-170), end_date=days(10))
    p.draft = ContractFactory(beneficiary=p.file, status=Contract.Status.DRAFT, signed_on=None)
    p.request = reorientation_request(
        actor=p.referent,
        beneficiary=p.file,
        track=Orientation.Track.PROFESSIONAL,
        organisme_referent=p.france_travail,
        reason="Projet professionnel",
    )
    p.objective = ObjectiveFactory(beneficiary=p.file)
    p.action = ActionFactory(objective=p.objective)
    p.barrier = BarrierFactory(diagnostic=DiagnosticFactory(beneficiary=p.file), kind=Barrier.Kind.HOUSING)
    return p


def url_of(name: str, personas, public_id=None) -> str:
    file_id = public_id or personas.file.public_id
    objects = {
        "contract_renew": [personas.signed.public_id],
        "contract_sign": [personas.draft.public_id],
        "reorientation_decide": [personas.request.public_id],
        "objective_status": [personas.objective.public_id],
        "action_create": [personas.objective.public_id],
        "action_status": [personas.action.public_id],
        "barrier_resolve": [personas.barrier.diagnostic.public_id, personas.barrier.kind],
    }
    return reverse(f"casework:{name}", args=[file_id, *objects.get(name, [])])


def expected(persona: str, rule: str):
    if persona == "anonymous":
        return "login"
    if persona not in READERS:
        return 404
    return "ok" if persona in ALLOWED[rule] else 403


CASES = [
    pytest.param(name, method, persona, id=f"{name}-{method}-{persona}")
    for name, (methods, _rule) in URLS.items()
    for method in methods
    for persona in PERSONAS
]


@pytest.mark.parametrize(("name", "method", "persona"), CASES)
def test_who_reaches_each_pathway_url(client, personas, name, method, persona):
    _, rule = URLS[name]
    if persona != "anonymous":
        client.force_login(getattr(personas, persona))

    response = getattr(client, method)(url_of(name, personas))

    outcome = expected(persona, rule)
    if outcome == "login":
        assert response.status_code == 302
        assert response["Location"].startswith(f"{reverse('login')}?next=")
    elif outcome == "ok":
        # An empty POST is a form with errors (200), never a write; the successful writes are in the other
        # test_pathway_*.py files.
        assert response.status_code == 200
    else:
        assert response.status_code == outcome
    if outcome != "ok":
        html = response.content.decode()
        assert "Zidane" not in html and "ZIDANE" not in html
    # Nothing was written by anyone.
    personas.file.refresh_from_db()
    assert personas.file.is_active
    assert personas.file.contracts.count() == 2 and personas.file.objectives.count() == 1


@pytest.mark.parametrize("name", [name for name, (methods, _) in URLS.items() if "get" in methods])
def test_status_changes_are_post_only(client, personas, name):
    client.force_login(personas.referent)
    for post_only in ("objective_status", "action_status"):
        assert client.get(url_of(post_only, personas)).status_code == 405
    assert client.get(url_of(name, personas)).status_code in {200, 403}


@pytest.mark.parametrize("name", list(URLS))
def test_a_file_that_does_not_exist_is_a_404(client, personas, name):
    client.force_login(personas.supervisor)
    methods, _ = URLS[name]

    for method in methods:
        assert getattr(client, method)(url_of(name, personas, public_id=uuid.uuid4())).status_code == 404


@pytest.mark.parametrize(
    "name",
    [
        name
        for name in URLS
        if name
        in {
            "contract_renew",
            "contract_sign",
            "reorientation_decide",
            "objective_status",
            "action_create",
            "action_status",
            "barrier_resolve",
        }
    ],
)
def test_an_object_named_under_another_file_is_a_404(client, personas, name):
    """The objects are looked up among the file's own: the supervisor sees both files, the object is real,
    but it does not belong to the file of the URL."""
    from tests.casework.factories import BeneficiaryFactory

    neighbour = BeneficiaryFactory(referent=personas.colleague)
    client.force_login(personas.supervisor)

    response = client.post(url_of(name, personas, public_id=neighbour.public_id))

    assert response.status_code == 404
