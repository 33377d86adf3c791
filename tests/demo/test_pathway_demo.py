"""The demo data holds pathway stories: reorientation requests waiting for a supervisor, and an ended
support with its reason (casework/demo.py, `_seed_pathway_stories`)."""

import io

import pytest
from django.core.management import call_command
from django.db import transaction

from accounts.models import User
from casework.models import Beneficiary, Orientation, ReorientationRequest
from casework.permissions import may_decide_orientation

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def seeded(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock(), transaction.atomic():
        output = io.StringIO()
        call_command("seed_demo", stdout=output)
        yield output.getvalue()
        transaction.set_rollback(True)


def test_reorientation_requests_wait_for_the_supervisor(seeded):
    pending = ReorientationRequest.objects.filter(status=ReorientationRequest.Status.PENDING).select_related(
        "beneficiary", "requested_by"
    )
    supervisor = User.objects.get(username="superviseur.nord")

    assert sorted(request.requested_by.username for request in pending) == [
        "referent.sud",
        "referente.nord",
        "referente.nord",
    ]
    for request in pending:
        assert request.requested_by == request.beneficiary.current_referent
        assert request.reason
        in_force = request.beneficiary.orientations.get(status=Orientation.Status.DECIDED)
        assert in_force.track != request.proposed_track
    assert sum(may_decide_orientation(supervisor, request.beneficiary) for request in pending) == 2
    assert "3 demandes de réorientation en attente" in seeded


def test_one_support_ended_with_a_reason_and_a_summary(seeded):
    ended = Beneficiary.objects.get(support_end_reason__isnull=False)

    assert not ended.is_active
    assert ended.support_end_reason.code == "reprise-emploi"
    assert ended.support_end_summary
    assert ended.current_referent.username == "referente.nord"
    assert ended.rsa_status == Beneficiary.RsaStatus.OPEN


def test_a_second_run_adds_no_story(seeded):
    before = (ReorientationRequest.objects.count(), Beneficiary.objects.filter(is_active=False).count())

    call_command("seed_demo", stdout=io.StringIO())

    assert (ReorientationRequest.objects.count(), Beneficiary.objects.filter(is_active=False).count()) == before
