"""Object permissions are answered by casework.permissions only: no authentication backend answers
`user.has_perm(perm, file)` from the grant rows (guardian's would ignore their expiry)."""

import datetime

import pytest
from django.conf import settings
from django.utils import timezone

from accounts.models import Role
from casework.models import BeneficiaryUserObjectPermission
from casework.permissions import visible_beneficiaries
from casework.services import beneficiary_share
from tests.accounts.factories import StructureFactory, member
from tests.casework.factories import BeneficiaryFactory

pytestmark = pytest.mark.django_db

PERMISSION = "casework.view_beneficiary"


@pytest.fixture
def shared_file():
    """A file followed by a referent of one structure, shared by name with a referent of another."""
    referent = member(Role.REFERENT, structure=StructureFactory(name="MDS Nord"))
    other = member(Role.REFERENT, structure=StructureFactory(name="MDS Sud"))
    file = BeneficiaryFactory(referent=referent)
    beneficiary_share(
        actor=referent,
        beneficiary=file,
        user=other,
        reason="Relais logement",
        ends_at=timezone.now() + datetime.timedelta(days=1),
    )
    return file, referent, other


def test_guardian_backend_is_not_installed():
    assert "guardian.backends.ObjectPermissionBackend" not in settings.AUTHENTICATION_BACKENDS


def test_an_expired_grant_gives_no_object_permission(shared_file):
    file, _referent, other = shared_file
    grant = BeneficiaryUserObjectPermission.objects.get(user=other, content_object=file)
    grant.expires_at = timezone.now() - datetime.timedelta(minutes=1)
    grant.save()
    assert not visible_beneficiaries(other).filter(pk=file.pk).exists()
    assert not other.has_perm(PERMISSION, file)


def test_a_valid_grant_is_answered_by_casework_permissions_only(shared_file):
    file, referent, other = shared_file
    for user in (referent, other):
        assert BeneficiaryUserObjectPermission.objects.filter(user=user, content_object=file).exists()
        assert visible_beneficiaries(user).filter(pk=file.pk).exists()
        assert not user.has_perm(PERMISSION, file)
