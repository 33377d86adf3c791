"""The pathway's invariants are held by the database itself, not only by forms: a script, an import
or a bug writing through the ORM (or raw SQL) is refused too."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models.deletion import ProtectedError
from django.utils import timezone

from casework.models import Action, Beneficiary, Contract, Note, Orientation, ReferentAssignment
from tests.accounts.factories import StructureFactory, UserFactory
from tests.casework.factories import (
    ActionFactory,
    BarrierFactory,
    BeneficiaryFactory,
    ContractFactory,
    NoteFactory,
    OrientationFactory,
    ReferentAssignmentFactory,
    StepFactory,
)

pytestmark = pytest.mark.django_db


def refused_by_database(create):
    with pytest.raises(IntegrityError), transaction.atomic():
        create()


def test_duplicate_allocataire_number_for_the_same_organism_is_refused():
    BeneficiaryFactory(organism="caf", allocataire_number="1234567")
    refused_by_database(lambda: BeneficiaryFactory(organism="caf", allocataire_number="1234567"))


def test_same_allocataire_number_at_caf_and_msa_are_two_people():
    BeneficiaryFactory(organism="caf", allocataire_number="1234567")
    BeneficiaryFactory(organism="msa", allocataire_number="1234567")
    assert Beneficiary.objects.filter(allocataire_number="1234567").count() == 2


def test_duplicate_allocataire_number_gets_a_french_validation_message():
    BeneficiaryFactory(organism="caf", allocataire_number="7654321")
    duplicate = BeneficiaryFactory.build(organism="caf", allocataire_number="7654321")
    with pytest.raises(ValidationError) as error:
        duplicate.full_clean()
    assert "Ce numéro allocataire existe déjà pour cet organisme." in str(error.value)


def test_empty_allocataire_number_is_refused():
    refused_by_database(lambda: BeneficiaryFactory(allocataire_number=""))


def test_unknown_rsa_status_is_refused():
    refused_by_database(lambda: BeneficiaryFactory(rsa_status="maybe"))


def test_ended_support_needs_an_end_date():
    refused_by_database(lambda: BeneficiaryFactory(is_active=False, support_ended_on=None))


def test_current_referent_without_structure_is_refused():
    refused_by_database(lambda: BeneficiaryFactory(current_referent=UserFactory(), current_structure=None))


def test_assignment_that_ends_before_it_starts_is_refused():
    now = timezone.now()
    refused_by_database(lambda: ReferentAssignmentFactory(started_at=now, ended_at=now - datetime.timedelta(days=1)))


def test_a_file_has_at_most_one_current_assignment():
    beneficiary = BeneficiaryFactory()
    ReferentAssignmentFactory(beneficiary=beneficiary)
    refused_by_database(lambda: ReferentAssignmentFactory(beneficiary=beneficiary))


def test_ended_assignments_may_accumulate():
    beneficiary = BeneficiaryFactory()
    start = timezone.now() - datetime.timedelta(days=100)
    for offset in (0, 10, 20):
        ReferentAssignmentFactory(
            beneficiary=beneficiary,
            started_at=start + datetime.timedelta(days=offset),
            ended_at=start + datetime.timedelta(days=offset + 5),
        )
    ReferentAssignmentFactory(beneficiary=beneficiary)
    assert ReferentAssignment.objects.filter(beneficiary=beneficiary).count() == 4


def test_contract_that_ends_before_it_starts_is_refused():
    today = timezone.localdate()
    refused_by_database(lambda: ContractFactory(start_date=today, end_date=today - datetime.timedelta(days=1)))


def test_contract_that_ends_the_day_it_starts_is_refused():
    today = timezone.localdate()
    refused_by_database(lambda: ContractFactory(start_date=today, end_date=today))


def test_signed_contract_needs_a_signature_date():
    refused_by_database(lambda: ContractFactory(status=Contract.Status.SIGNED, signed_on=None))


def test_draft_contract_needs_no_signature_date():
    contract = ContractFactory(status=Contract.Status.DRAFT, signed_on=None)
    assert contract.pk


def test_contract_end_before_start_gets_a_french_validation_message():
    today = timezone.localdate()
    contract = ContractFactory.build(
        beneficiary=BeneficiaryFactory(), author=UserFactory(), start_date=today, end_date=today
    )
    with pytest.raises(ValidationError) as error:
        contract.full_clean()
    assert "Un contrat ne peut pas se terminer avant de commencer." in str(error.value)


def test_a_contract_is_renewed_once_at_most():
    first = ContractFactory(expired=True)
    ContractFactory(beneficiary=first.beneficiary, renews=first)
    refused_by_database(lambda: ContractFactory(beneficiary=first.beneficiary, renews=first))


def test_decided_orientation_needs_a_decision_date():
    refused_by_database(lambda: OrientationFactory(status=Orientation.Status.DECIDED, decided_on=None))


def test_a_file_has_at_most_one_orientation_in_force():
    beneficiary = BeneficiaryFactory()
    OrientationFactory(beneficiary=beneficiary)
    refused_by_database(lambda: OrientationFactory(beneficiary=beneficiary))
    OrientationFactory(beneficiary=beneficiary, status=Orientation.Status.SUPERSEDED)


def test_done_action_needs_a_date():
    refused_by_database(lambda: ActionFactory(status=Action.Status.DONE, done_on=None))


def test_unknown_step_status_is_refused():
    refused_by_database(lambda: StepFactory(status="forgotten"))


def test_a_barrier_appears_once_per_diagnostic():
    barrier = BarrierFactory()
    refused_by_database(lambda: BarrierFactory(diagnostic=barrier.diagnostic, kind=barrier.kind))


def test_empty_note_is_refused():
    refused_by_database(lambda: NoteFactory(body=""))


def test_note_longer_than_the_limit_is_refused():
    refused_by_database(lambda: NoteFactory(body="x" * (Note.MAX_LENGTH + 1)))


def test_unknown_note_visibility_is_refused():
    refused_by_database(lambda: NoteFactory(visibility="public"))


def test_new_note_is_private_by_default():
    assert NoteFactory().visibility == Note.Visibility.PRIVATE


def test_deleting_a_beneficiary_with_a_pathway_is_refused():
    note = NoteFactory()
    with pytest.raises(ProtectedError):
        note.beneficiary.delete()


def test_deleting_a_structure_that_holds_history_is_refused():
    structure = StructureFactory()
    ReferentAssignmentFactory(structure=structure)
    with pytest.raises(ProtectedError):
        structure.delete()


def test_beneficiaries_get_a_random_public_id():
    first, second = BeneficiaryFactory(), BeneficiaryFactory()
    assert first.public_id != second.public_id
    assert first.public_id.version == 4
