import datetime

import factory
from django.utils import timezone

from accounts.models import Role
from casework.models import (
    Action,
    Appointment,
    Barrier,
    Beneficiary,
    Contract,
    Diagnostic,
    HouseholdMember,
    Note,
    Objective,
    Orientation,
    ReferentAssignment,
    Step,
    Theme,
)
from casework.services.common import files_refresh_contract_end, files_refresh_orientation
from tests.accounts.factories import MembershipFactory, StructureFactory, UserFactory


def _today():
    return timezone.localdate()


class BeneficiaryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Beneficiary
        skip_postgeneration_save = True

    organism = Beneficiary.Organism.CAF
    allocataire_number = factory.Sequence(lambda n: f"{1000000 + n}")
    first_name = factory.Faker("first_name", locale="fr_FR")
    last_name = factory.Faker("last_name", locale="fr_FR")
    birth_date = factory.Faker("date_of_birth", minimum_age=18, maximum_age=64)
    sex = Beneficiary.Sex.FEMALE
    postcode = "59000"
    commune = "Lille"
    insee_code = "59350"
    rsa_status = Beneficiary.RsaStatus.OPEN
    sdd = True
    rsa_entry_date = factory.LazyFunction(lambda: _today() - datetime.timedelta(days=200))

    class Params:
        closed = factory.Trait(
            rsa_status=Beneficiary.RsaStatus.CLOSED,
            is_active=False,
            support_ended_on=factory.LazyFunction(_today),
        )

    @factory.post_generation
    def referent(obj, create, extracted, **kwargs):
        """`BeneficiaryFactory(referent=user)` assigns the file to that user in their first structure."""
        if not create or extracted is None:
            return
        from casework.services import beneficiary_assign_referent

        membership = extracted.memberships.filter(role=Role.REFERENT).first() or MembershipFactory(user=extracted)
        beneficiary_assign_referent(
            actor=None, beneficiary=obj, referent=extracted, structure=membership.structure, reason="Test"
        )
        obj.refresh_from_db()


class HouseholdMemberFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = HouseholdMember

    beneficiary = factory.SubFactory(BeneficiaryFactory)
    relationship = HouseholdMember.Relationship.CHILD
    first_name = factory.Faker("first_name", locale="fr_FR")
    last_name = factory.SelfAttribute("beneficiary.last_name")
    is_dependent = True


class ReferentAssignmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ReferentAssignment

    beneficiary = factory.SubFactory(BeneficiaryFactory)
    referent = factory.SubFactory(UserFactory)
    structure = factory.SubFactory(StructureFactory)
    started_at = factory.LazyFunction(lambda: timezone.now() - datetime.timedelta(days=30))


class OrientationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Orientation
        skip_postgeneration_save = True  # the hook writes the file, not the orientation

    beneficiary = factory.SubFactory(BeneficiaryFactory)
    track = Orientation.Track.SOCIAL
    organisme_referent = factory.SubFactory(StructureFactory)
    status = Orientation.Status.DECIDED
    decided_on = factory.LazyFunction(lambda: _today() - datetime.timedelta(days=60))

    @factory.post_generation
    def orientation_in_force(orientation, create, extracted, **kwargs):
        # As orientation_decide does: the file's denormalised track and decision day of its orientation.
        if create:
            files_refresh_orientation(Beneficiary.objects.filter(pk=orientation.beneficiary_id))


class ContractFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Contract
        skip_postgeneration_save = True  # the hook writes the file, not the contract

    beneficiary = factory.SubFactory(BeneficiaryFactory)
    kind = Contract.Kind.CONTRAT_ENGAGEMENT
    status = Contract.Status.SIGNED
    start_date = factory.LazyFunction(lambda: _today() - datetime.timedelta(days=30))
    end_date = factory.LazyAttribute(lambda c: c.start_date + datetime.timedelta(days=180))
    signed_on = factory.SelfAttribute("start_date")
    weekly_hours = 15
    beneficiary_agreed = True
    author = factory.SubFactory(UserFactory)

    class Params:
        expired = factory.Trait(
            start_date=factory.LazyFunction(lambda: _today() - datetime.timedelta(days=400)),
            end_date=factory.LazyFunction(lambda: _today() - datetime.timedelta(days=35)),
        )

    @factory.post_generation
    def signed_contract_end(contract, create, extracted, **kwargs):
        # As the contract services do: the file's denormalised end of its latest signed contract.
        if create:
            files_refresh_contract_end(Beneficiary.objects.filter(pk=contract.beneficiary_id))


class StepFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Step

    beneficiary = factory.SubFactory(BeneficiaryFactory)
    kind = Step.Kind.FIRST_APPOINTMENT
    date = factory.LazyFunction(_today)
    status = Step.Status.DONE
    author = factory.SubFactory(UserFactory)


class ObjectiveFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Objective

    beneficiary = factory.SubFactory(BeneficiaryFactory)
    theme = Theme.EMPLOYMENT
    title = "Trouver un emploi dans la logistique"
    author = factory.SubFactory(UserFactory)


class ActionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Action

    objective = factory.SubFactory(ObjectiveFactory)
    title = "S'inscrire à une formation CACES"
    author = factory.SubFactory(UserFactory)


class AppointmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Appointment

    beneficiary = factory.SubFactory(BeneficiaryFactory)
    scheduled_at = factory.LazyFunction(lambda: timezone.now() + datetime.timedelta(days=7))
    location = "MDS Nord, bureau 3"
    author = factory.SubFactory(UserFactory)


class DiagnosticFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Diagnostic

    beneficiary = factory.SubFactory(BeneficiaryFactory)
    carried_out_on = factory.LazyFunction(_today)
    author = factory.SubFactory(UserFactory)


class BarrierFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Barrier

    diagnostic = factory.SubFactory(DiagnosticFactory)
    kind = Barrier.Kind.MOBILITY


class NoteFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Note

    beneficiary = factory.SubFactory(BeneficiaryFactory)
    author = factory.SubFactory(UserFactory)
    body = "Entretien de suivi : la personne a repris contact avec l'organisme de formation."
