"""The first pages: home page per role, themed layout, French error pages."""

import re

import pytest
from django.test import RequestFactory
from django.urls import reverse

from accounts.models import Role
from accounts.views import server_error
from tests.accounts.factories import StructureFactory, member

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        (Role.REFERENT, "Consigner les étapes du parcours"),
        (Role.SUPERVISOR, "Revoir la charge de"),
        (Role.DEPARTMENT_ADMIN, "Gérer les comptes, les structures"),
        (Role.AUDITOR, "Consulter et exporter le journal des accès"),
    ],
)
def test_home_page_tells_each_role_what_it_can_do(client, role, expected):
    client.force_login(member(role))
    html = client.get(reverse("home")).content.decode()
    assert expected in html


def test_home_page_lists_every_structure_of_a_user(client):
    user = member(Role.REFERENT, structure=StructureFactory(name="MDS Nord"))
    from tests.accounts.factories import MembershipFactory

    MembershipFactory(user=user, role=Role.SUPERVISOR, structure=StructureFactory(name="MDS Sud"))
    client.force_login(user)
    html = client.get(reverse("home")).content.decode()
    assert "MDS Nord" in html and "MDS Sud" in html
    assert "(+1)" in html


def test_only_department_admins_see_the_administration_link(client):
    client.force_login(member(Role.REFERENT))
    assert "Administration" not in client.get(reverse("home")).content.decode()
    client.force_login(member(Role.DEPARTMENT_ADMIN))
    assert reverse("admin:index") in client.get(reverse("home")).content.decode()


def test_layout_carries_the_departement_theme(client, settings):
    settings.PARCOURS_DEPARTEMENT_NAME = "Département du Nord"
    settings.PARCOURS_PRIMARY_COLOR = "#123456"
    client.force_login(member(Role.REFERENT))
    html = client.get(reverse("home")).content.decode()
    assert "Département du Nord" in html
    assert "--parcours-primary: #123456" in html
    assert "vendor/bootstrap-5.3.8/css/bootstrap.min.css" in html
    # Every stylesheet and script is served by the app itself, never by a CDN.
    assert not re.findall(r'(?:src|href)="(?:https?:)?//', html)


def test_unknown_page_gets_a_french_404(client):
    client.force_login(member(Role.REFERENT))
    response = client.get("/cette-page-n-existe-pas/")
    assert response.status_code == 404
    assert "Page introuvable" in response.content.decode()


def test_unknown_page_gets_the_same_french_404_for_anonymous_visitors(client):
    response = client.get("/cette-page-n-existe-pas/")
    assert response.status_code == 404
    assert "Page introuvable" in response.content.decode()


def test_server_error_page_is_french_and_needs_no_database(django_assert_num_queries):
    request = RequestFactory().get("/")
    with django_assert_num_queries(0):
        response = server_error(request)
    assert response.status_code == 500
    assert "Une erreur est survenue" in response.content.decode()


def test_403_page_is_french(client):
    from accounts.views import permission_denied

    request = RequestFactory().get("/")
    request.user = member(Role.REFERENT)
    response = permission_denied(request)
    assert response.status_code == 403
    assert "Accès refusé" in response.content.decode()
