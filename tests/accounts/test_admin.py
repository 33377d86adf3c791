"""The Django admin is for department admins only, superusers included in 'everyone else'."""

import pytest
from django.apps import apps
from django.contrib import admin
from django.urls import reverse

from accounts.models import Role, User
from audit.models import AuditEvent
from casework.models import Beneficiary, Contract, Note, ReorientationRequest, SupportEndReason
from imports.models import BeneficiaryImport, ImportColumnMapping
from team.models import CaseworkSettings
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
CASEWORK_REFERENCE_MODELS = {SupportEndReason, CaseworkSettings, ImportColumnMapping}
# The apps whose models are about files (everything but accounts).
FILE_APPS = ("casework", "audit", "imports", "team")


def test_no_beneficiary_data_in_the_admin():
    """The admin bypasses the permission layer, so the only models of the file apps registered there are
    the reference lists; every model holding personal data stays out."""
    registered = {model for model in admin.site._registry if model._meta.app_label in FILE_APPS}
    assert registered == CASEWORK_REFERENCE_MODELS

    models = {model for app in FILE_APPS for model in apps.get_app_config(app).get_models()}
    personal = models - CASEWORK_REFERENCE_MODELS
    assert {Beneficiary, Note, Contract, ReorientationRequest, AuditEvent, BeneficiaryImport} <= personal
    assert not personal & set(admin.site._registry)
    for model in CASEWORK_REFERENCE_MODELS:
        # A reference model points at no file nor at anything that does (its rows are not about a person);
        # the staff account that last changed it (CaseworkSettings.updated_by) holds no file.
        assert not [
            field
            for field in model._meta.get_fields()
            if field.is_relation and not field.auto_created and field.related_model is not User
        ]


def test_department_admin_cannot_grant_superuser_rights(client):
    client.force_login(member(Role.DEPARTMENT_ADMIN))
    target = UserFactory()
    html = client.get(reverse("admin:accounts_user_change", args=[target.pk])).content.decode()
    assert 'name="is_superuser"' not in html
    assert 'name="user_permissions"' not in html


def test_a_role_given_in_the_admin_is_recorded_as_a_permission_change(client):
    from audit.models import AuditEvent
    from tests.accounts.factories import StructureFactory

    admin_user = member(Role.DEPARTMENT_ADMIN, username="admin-dept")
    newcomer = UserFactory(username="nouvelle-referente")
    structure = StructureFactory(name="MDS Est")
    client.force_login(admin_user)

    response = client.post(
        reverse("admin:accounts_membership_add"),
        {"user": newcomer.pk, "structure": structure.pk, "role": Role.REFERENT, "start_date": "2026-01-05"},
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    event = AuditEvent.objects.get(action=AuditEvent.Action.PERMISSION_CHANGE)
    assert event.actor == admin_user and event.object_type == "accounts_membership"
    assert event.url_name == "admin:accounts_membership_add"


def test_a_refused_admin_form_records_nothing(client):
    from audit.models import AuditEvent

    client.force_login(member(Role.DEPARTMENT_ADMIN))
    response = client.post(reverse("admin:accounts_membership_add"), {"role": Role.REFERENT})
    assert response.status_code == 200
    assert not AuditEvent.objects.filter(url_name__startswith="admin:").exists()


# The admin dressed as the app, with a way back (issue 27) ------------------------------------------


def admin_pages(personas):
    return [
        reverse("admin:index"),
        reverse("admin:accounts_user_changelist"),
        reverse("admin:accounts_user_add"),
        reverse("admin:accounts_user_change", args=[personas.referent.pk]),
        reverse("admin:accounts_structure_changelist"),
        reverse("admin:casework_supportendreason_changelist"),
    ]


def test_every_admin_page_links_back_to_the_app(client, personas):
    client.force_login(personas.admin)
    for url in admin_pages(personas):
        response = client.get(url)
        assert response.status_code == 200, url
        html = response.content.decode()
        assert f'<a id="parcours-back" href="{reverse("home")}">Retour à Parcours</a>' in html, url


def test_the_admin_login_page_links_back_to_the_app_too(client, db):
    html = client.get(reverse("admin:login")).content.decode()
    assert "Retour à Parcours" in html


def test_the_admin_carries_the_app_name_the_departement_and_its_colours(client, personas, settings):
    settings.PARCOURS_DEPARTEMENT_NAME = "Département du Nord"
    settings.PARCOURS_PRIMARY_COLOR = "#123456"
    client.force_login(personas.admin)
    html = client.get(reverse("admin:accounts_structure_changelist")).content.decode()
    assert "<title>Sélectionnez l’objet structure à changer | Parcours – administration</title>" in html
    assert "Parcours – administration</a>" in html and "Département du Nord" in html
    assert "--header-bg: #123456;" in html
    assert "Django" not in html.split("<body")[1]
