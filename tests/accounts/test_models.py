import datetime

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import Membership, Role
from tests.accounts.factories import MembershipFactory, StructureFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_membership_that_ends_before_it_starts_is_refused():
    today = timezone.localdate()
    with pytest.raises(IntegrityError), transaction.atomic():
        MembershipFactory(start_date=today, end_date=today - datetime.timedelta(days=1))


def test_the_same_open_role_twice_in_a_structure_is_refused():
    membership = MembershipFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        MembershipFactory(user=membership.user, structure=membership.structure, role=membership.role)


def test_a_user_may_belong_to_several_structures_with_several_roles():
    user = UserFactory()
    MembershipFactory(user=user, role=Role.REFERENT)
    MembershipFactory(user=user, role=Role.SUPERVISOR)
    assert len(user.active_memberships) == 2
    assert user.is_referent and user.is_supervisor
    assert not user.is_department_admin and not user.is_auditor


def test_ended_and_future_memberships_grant_no_role():
    user = UserFactory()
    MembershipFactory(user=user, role=Role.DEPARTMENT_ADMIN, ended=True)
    MembershipFactory(user=user, role=Role.AUDITOR, start_date=timezone.localdate() + datetime.timedelta(days=3))
    assert user.active_memberships == []
    assert not user.is_department_admin and not user.is_auditor


def test_active_memberships_on_a_given_day():
    membership = MembershipFactory(start_date=datetime.date(2025, 1, 1), end_date=datetime.date(2025, 6, 30))
    assert Membership.objects.active(on=datetime.date(2025, 6, 30)).get() == membership
    assert not Membership.objects.active(on=datetime.date(2025, 7, 1)).exists()
    assert not Membership.objects.active(on=datetime.date(2024, 12, 31)).exists()


def test_structure_without_department_is_an_external_partner():
    assert StructureFactory(external=True).is_external_partner
    assert not StructureFactory().is_external_partner


def test_unknown_role_is_refused():
    with pytest.raises(IntegrityError), transaction.atomic():
        MembershipFactory(role="boss")


def test_active_memberships_are_todays_with_their_structure_and_department(django_assert_num_queries):
    """`user.active_memberships` (one query, cached on the user) holds today's memberships, with
    structure and department loaded; a membership ending today still counts, one starting tomorrow or
    ended yesterday does not."""
    from tests.accounts.factories import DepartmentFactory

    today = timezone.localdate()
    user, other = UserFactory(), UserFactory()
    department = DepartmentFactory(name="Action sociale")
    MembershipFactory(user=user, role=Role.SUPERVISOR, structure=StructureFactory(name="B", department=department))
    MembershipFactory(user=user, role=Role.REFERENT, structure=StructureFactory(name="A", department=None))
    MembershipFactory(user=user, role=Role.AUDITOR, end_date=today)
    MembershipFactory(user=user, role=Role.DEPARTMENT_ADMIN, ended=True)
    MembershipFactory(user=user, role=Role.REFERENT, start_date=today + datetime.timedelta(days=1))
    MembershipFactory(user=other, role=Role.REFERENT)
    expected = list(Membership.objects.active().filter(user=user).select_related("structure__department"))
    with django_assert_num_queries(1):
        memberships = user.active_memberships
        assert [(m.pk, m.role, m.structure.name) for m in memberships] == [
            (m.pk, m.role, m.structure.name) for m in expected
        ]
        assert [m.structure.department for m in memberships] == [m.structure.department for m in expected]
    with django_assert_num_queries(0):  # cached for the request
        assert user.active_memberships is memberships
    assert len(memberships) == 3 and {m.role for m in memberships} == {Role.SUPERVISOR, Role.REFERENT, Role.AUDITOR}
