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
from tests.casework.test_pathway_world import build_world, days

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
def world(django_db_setup, django_db_blocker):
    """Built once for the module (about 200 tests); each test runs in a savepoint on top of it."""
    with django_db_blocker.unblock(), transaction.atomic():
        yield _build()
        transaction.set_rollback(True)


def _build():
    w = build_world()
    w.signed = ContractFactory(beneficiary=w.file, start_date=days(-170), end_date=days(10))
    w.draft = ContractFactory(beneficiary=w.file, status=Contract.Status.DRAFT, signed_on=None)
    w.request = reorientation_request(
        actor=w.referent,
        beneficiary=w.file,
        track=Orientation.Track.PROFESSIONAL,
        organisme_referent=w.france_travail,
        reason="Projet professionnel",
    )
    w.objective = ObjectiveFactory(beneficiary=w.file)
    w.action = ActionFactory(objective=w.objective)
    w.barrier = BarrierFactory(diagnostic=DiagnosticFactory(beneficiary=w.file), kind=Barrier.Kind.HOUSING)
    return w


def url_of(name: str, world, public_id=None) -> str:
    file_id = public_id or world.file.public_id
    objects = {
        "contract_renew": [world.signed.public_id],
        "contract_sign": [world.draft.public_id],
        "reorientation_decide": [world.request.public_id],
        "objective_status": [world.objective.public_id],
        "action_create": [world.objective.public_id],
        "action_status": [world.action.public_id],
        "barrier_resolve": [world.barrier.diagnostic.public_id, world.barrier.kind],
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
def test_who_reaches_each_pathway_url(client, world, name, method, persona):
    _, rule = URLS[name]
    if persona != "anonymous":
        client.force_login(getattr(world, persona))

    response = getattr(client, method)(url_of(name, world))

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
        assert "Dumont" not in html and "DUMONT" not in html
    # Nothing was written by anyone.
    world.file.refresh_from_db()
    assert world.file.is_active
    assert world.file.contracts.count() == 2 and world.file.objectives.count() == 1


@pytest.mark.parametrize("name", [name for name, (methods, _) in URLS.items() if "get" in methods])
def test_status_changes_are_post_only(client, world, name):
    client.force_login(world.referent)
    for post_only in ("objective_status", "action_status"):
        assert client.get(url_of(post_only, world)).status_code == 405
    assert client.get(url_of(name, world)).status_code in {200, 403}


@pytest.mark.parametrize("name", list(URLS))
def test_a_file_that_does_not_exist_is_a_404(client, world, name):
    client.force_login(world.supervisor)
    methods, _ = URLS[name]

    for method in methods:
        assert getattr(client, method)(url_of(name, world, public_id=uuid.uuid4())).status_code == 404


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
def test_an_object_named_under_another_file_is_a_404(client, world, name):
    """The objects are looked up among the file's own: the supervisor sees both files, the object is real,
    but it does not belong to the file of the URL."""
    from tests.casework.factories import BeneficiaryFactory

    neighbour = BeneficiaryFactory(referent=world.colleague)
    client.force_login(world.supervisor)

    response = client.post(url_of(name, world, public_id=neighbour.public_id))

    assert response.status_code == 404
