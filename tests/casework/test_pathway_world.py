"""What the pathway tests (tests/casework/test_pathway_*.py) add to the shared personas, and helpers they share.

The shared personas (tests/personas.py), and: the referent's file in the RSA for 400 days, oriented toward
the social track at the MDS Nord (decided by its supervisor), shared with the CCAS's referent (who reads it
but may not act on it); a France Travail agency to reorient it to. The colleague of the same structure and
the MDS Sud's referent do not see it; the MDS Nord's supervisor supervises it.
"""

import datetime

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from accounts.models import Structure
from casework.models import Beneficiary, Orientation
from casework.permissions import can_change, visible_beneficiaries
from tests.accounts.factories import StructureFactory
from tests.casework.factories import OrientationFactory
from tests.personas import Personas, share_with_recipient

pytestmark = pytest.mark.django_db

PERSONAS = ("referent", "colleague", "other", "supervisor", "other_supervisor", "recipient", "auditor")


def with_pathway(personas: Personas) -> Personas:
    """The personas' file on its pathway: `personas.orientation`, `personas.share`, `personas.france_travail`."""
    p = personas
    p.france_travail = StructureFactory(
        name="France Travail Roubaix", code="ft-roubaix", kind=Structure.Kind.FRANCE_TRAVAIL, department=None
    )
    Beneficiary.objects.filter(pk=p.file.pk).update(rsa_entry_date=timezone.localdate() - datetime.timedelta(days=400))
    p.orientation = OrientationFactory(
        beneficiary=p.file,
        track=Orientation.Track.SOCIAL,
        organisme_referent=p.nord,
        decided_by=p.supervisor,
        decided_on=timezone.localdate() - datetime.timedelta(days=300),
    )
    share_with_recipient(p)  # and reads the file again
    return p


def today() -> datetime.date:
    return timezone.localdate()


def days(n: int) -> datetime.date:
    """Today plus n days (n < 0: in the past)."""
    return today() + datetime.timedelta(days=n)


def file_url(beneficiary) -> str:
    return reverse("casework:file_detail", args=[beneficiary.public_id])


def messages_of(response) -> list[str]:
    return [message.message for message in get_messages(response.wsgi_request)]


def field_errors(response, field: str) -> list[str]:
    return response.context["form"].errors.get(field, [])


def htmx(**headers) -> dict:
    return {"HTTP_HX_REQUEST": "true", **headers}


@pytest.fixture(name="personas")
def personas_on_a_pathway(personas):
    """The shared personas with_pathway; the other pathway modules import this fixture."""
    return with_pathway(personas)


def test_the_world_is_what_it_says(personas):
    sees = {
        persona
        for persona in PERSONAS
        if visible_beneficiaries(getattr(personas, persona)).filter(pk=personas.file.pk)
    }
    assert sees == {"referent", "supervisor", "recipient"}
    assert {persona for persona in sees if can_change(getattr(personas, persona), personas.file)} == {
        "referent",
        "supervisor",
    }
    assert personas.file.rsa_entry_date == timezone.localdate() - datetime.timedelta(days=400)
    assert personas.file.orientation_track == Orientation.Track.SOCIAL
