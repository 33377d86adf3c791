"""The Django admin is for department admins only, superusers included in 'everyone else'."""

import pytest
from django.apps import apps
from django.contrib import admin
from django.urls import reverse

from accounts.models import Role
from casework.models import Beneficiary, Contract, Note, ReorientationRequest, SupportEndReason
from tests.accounts.factories import UserFactory, member

pytestmark = [pytest.mark.django_db, pytest.mark.ignore_unknown_template_variables]


def test_department_admin_reaches_the_admin(client):
    client.force_login(member(Role.DEPARTMENT_ADMIN))
    response = client.get(reverse("admin:index"))
    assert response.status_code == 200
    assert "Structures" in response.content.decode()


def test_department_admin_manages_structures_and_users(client):
    client.force_login(member(Role.DEPARTMENT_ADMIN))
    assert client.get(reverse("admin:accounts_structure_changelist")).status_code == 200
    assert client.get(reverse("admin:accounts_user_changelist")).status_code == 200
    assert client.get(reverse("admin:accounts_structure_add")).status_code == 200


@pytest.mark.parametrize("role", [Role.REFERENT, Role.SUPERVISOR, Role.AUDITOR])
def test_other_roles_are_kept_out_of_the_admin(client, role):
    client.force_login(member(role))
    response = client.get(reverse("admin:index"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("admin:login"))
    assert client.get(reverse("admin:accounts_user_changelist")).status_code == 302


def test_superuser_without_the_role_is_kept_out_of_the_admin(client):
    client.force_login(UserFactory(is_superuser=True, is_staff=True))
    assert client.get(reverse("admin:index")).status_code == 302


def test_department_admin_whose_membership_ended_is_kept_out(client):
    user = member(Role.DEPARTMENT_ADMIN)
    user.memberships.update(end_date="2020-01-01", start_date="2019-01-01")
    client.force_login(user)
    assert client.get(reverse("admin:index")).status_code == 302


# Reference lists a department admin keeps: no personal data, no link to a file.
CASEWORK_REFERENCE_MODELS = {SupportEndReason}


def test_no_beneficiary_data_in_the_admin():
    """The admin bypasses the permission layer, so the only casework models registered there are the
    reference lists; every model holding personal data stays out."""
    registered = {model for model in admin.site._registry if model._meta.app_label == "casework"}
    assert registered == CASEWORK_REFERENCE_MODELS

    personal = set(apps.get_app_config("casework").get_models()) - CASEWORK_REFERENCE_MODELS
    assert {Beneficiary, Note, Contract, ReorientationRequest} <= personal
    assert not personal & set(admin.site._registry)
    for model in CASEWORK_REFERENCE_MODELS:
        # A reference model points at no file nor at anything that does (its rows are not about a person).
        assert not [field for field in model._meta.get_fields() if field.is_relation and not field.auto_created]


def test_department_admin_cannot_grant_superuser_rights(client):
    client.force_login(member(Role.DEPARTMENT_ADMIN))
    target = UserFactory()
    html = client.get(reverse("admin:accounts_user_change", args=[target.pk])).content.decode()
    assert 'name="is_superuser"' not in html
    assert 'name="user_permissions"' not in html
