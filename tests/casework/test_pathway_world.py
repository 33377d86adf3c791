"""The world the pathway tests (tests/casework/test_pathway_*.py) write on, and helpers they share.

A file followed by a referent of the MDS Nord, oriented toward the social track, shared with a referent
of a CCAS (who reads it but may not act on it); a colleague of the same structure and a referent of the
MDS Sud do not see it; a supervisor of the MDS Nord supervises it.
"""

import datetime
from types import SimpleNamespace

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role, Structure
from casework.models import Orientation
from casework.permissions import can_change, visible_beneficiaries
from casework.services import beneficiary_share
from tests.accounts.factories import DepartmentFactory, StructureFactory, member
from tests.casework.factories import BeneficiaryFactory, OrientationFactory

pytestmark = pytest.mark.django_db

PERSONAS = ("referent", "colleague", "other", "supervisor", "other_supervisor", "recipient", "auditor")


def build_world() -> SimpleNamespace:
    social = DepartmentFactory(name="Action sociale", code="action-sociale")
    nord = StructureFactory(name="MDS Nord", code="mds-nord", department=social)
    sud = StructureFactory(name="MDS Sud", code="mds-sud", department=social)
    ccas = StructureFactory(name="CCAS de Tourcoing", code="ccas", kind=Structure.Kind.CCAS, department=None)
    france_travail = StructureFactory(
        name="France Travail Roubaix", code="ft-roubaix", kind=Structure.Kind.FRANCE_TRAVAIL, department=None
    )
    w = SimpleNamespace(nord=nord, sud=sud, ccas=ccas, france_travail=france_travail)
    w.referent = member(Role.REFERENT, structure=nord, username="referente", first_name="Rita", last_name="Ferrand")
    w.colleague = member(Role.REFERENT, structure=nord, username="collegue", first_name="Colin", last_name="Lebon")
    w.other = member(Role.REFERENT, structure=sud, username="autre", first_name="Odile", last_name="Martin")
    w.supervisor = member(Role.SUPERVISOR, structure=nord, username="superviseur", first_name="Sam", last_name="Roux")
    w.other_supervisor = member(Role.SUPERVISOR, structure=sud, username="superviseur-sud")
    w.recipient = member(Role.REFERENT, structure=ccas, username="ccas", first_name="Cécile", last_name="Blanc")
    w.auditor = member(Role.AUDITOR, structure=nord, username="dpo")
    w.file = BeneficiaryFactory(
        referent=w.referent,
        first_name="Hélène",
        last_name="Dumont",
        rsa_entry_date=timezone.localdate() - datetime.timedelta(days=400),
    )
    w.orientation = OrientationFactory(
        beneficiary=w.file,
        track=Orientation.Track.SOCIAL,
        organisme_referent=nord,
        decided_by=w.supervisor,
        decided_on=timezone.localdate() - datetime.timedelta(days=300),
    )
    beneficiary_share(actor=w.referent, beneficiary=w.file, user=w.recipient, reason="Relais CCAS")
    w.other_file = BeneficiaryFactory(referent=w.other)
    w.file.refresh_from_db()
    return w


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


@pytest.fixture
def world():
    return build_world()


def test_the_world_is_what_it_says(world):
    sees = {persona for persona in PERSONAS if visible_beneficiaries(getattr(world, persona)).filter(pk=world.file.pk)}
    assert sees == {"referent", "supervisor", "recipient"}
    assert {persona for persona in sees if can_change(getattr(world, persona), world.file)} == {
        "referent",
        "supervisor",
    }
