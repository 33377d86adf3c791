"""The header's menu (www.templatetags.casework.main_menu), written in Python, is the markup base.html
wrote until the menu was moved out of it (docs/performance.md): the reference below is that part of
base.html, rendered by Django's engine and compared, whitespace between tags aside, for every role, page
and number of unread notifications."""

import re
from types import SimpleNamespace

import pytest
from django.contrib.auth.models import AnonymousUser
from django.template import engines

from accounts.models import Role
from tests.accounts.factories import MembershipFactory, StructureFactory, UserFactory, member

pytestmark = pytest.mark.django_db

MENU_TEMPLATE = """{% load casework %}        {% if user.is_authenticated %}
        <button class="navbar-toggler border-white" type="button" data-bs-toggle="collapse" data-bs-target="#menu"
                aria-controls="menu" aria-expanded="false" aria-label="Ouvrir le menu">
          <span class="navbar-toggler-icon" style="filter: invert(1)"></span>
        </button>
        <div class="collapse navbar-collapse" id="menu">
          <ul class="navbar-nav me-auto">
            <li class="nav-item"><a class="nav-link" href="{% url 'home' %}"{% if request.resolver_match.url_name == 'home' %} aria-current="page"{% endif %}>Accueil</a></li>
            {% if user.is_referent or user.is_supervisor or user.is_department_admin %}
            <li class="nav-item"><a class="nav-link text-nowrap" href="{% url 'casework:caseload' %}"{% if request.resolver_match.url_name == 'caseload' %} aria-current="page"{% endif %}>Mes dossiers</a></li>
            {% endif %}
            {% if user.is_supervisor %}
            <li class="nav-item"><a class="nav-link text-nowrap" href="{% url 'team:dashboard' %}"{% if request.resolver_match.url_name == 'team_dashboard' or request.resolver_match.url_name == 'team_alerts' %} aria-current="page"{% endif %}>Mon équipe</a></li>
            {% endif %}
            {% if user.is_referent %}
            <li class="nav-item"><a class="nav-link text-nowrap" href="{% url 'casework:emergency_access' %}"{% if request.resolver_match.url_name == 'emergency_access' %} aria-current="page"{% endif %}>Accès exceptionnel</a></li>
            {% endif %}
            {% if user.is_supervisor %}
            <li class="nav-item"><a class="nav-link text-nowrap" href="{% url 'team:reassign' %}"{% if request.resolver_match.url_name == 'reassign' or request.resolver_match.url_name == 'covers' %} aria-current="page"{% endif %}>Réaffectations</a></li>
            {% endif %}
            <li class="nav-item"><a class="nav-link text-nowrap" href="{% url 'team:notifications' %}"{% if request.resolver_match.url_name == 'notifications' %} aria-current="page"{% endif %}>Notifications<span id="notifications-compte">{% if unread_notification_count %}{% include "team/includes/unread_badge.html" with count=unread_notification_count %}{% endif %}</span></a></li>
            {% if user.is_department_admin %}
            <li class="nav-item"><a class="nav-link" href="{% url 'imports:list' %}"{% if request.resolver_match.url_name == 'imports' or request.resolver_match.url_name == 'import_detail' %} aria-current="page"{% endif %}>Imports</a></li>
            <li class="nav-item"><a class="nav-link" href="{% url 'admin:index' %}">Administration</a></li>
            {% endif %}
            {% if user.is_auditor %}
            <li class="nav-item"><a class="nav-link text-nowrap" href="{% url 'audit:events' %}"{% if request.resolver_match.url_name == 'audit_events' %} aria-current="page"{% endif %}>Journal d'audit</a></li>
            <li class="nav-item"><a class="nav-link" href="{% url 'audit:exports' %}"{% if request.resolver_match.url_name == 'audit_exports' %} aria-current="page"{% endif %}>Exports</a></li>
            {% endif %}
          </ul>
          <div class="d-flex flex-column flex-lg-row align-items-lg-center gap-2">
            <p class="mb-0 small text-nowrap" id="utilisateur">
              <span class="fw-bold">{{ user.get_full_name|default:user.username }}</span>
              {% with first=user.active_memberships|first %}{% if first %}
              <br class="d-none d-lg-inline"><span class="d-inline-block text-truncate align-bottom" style="max-width: 18rem" title="{{ first.get_role_display }} – {{ first.structure.name }}">{{ first.get_role_display }} – {{ first.structure.name }}</span>
              {% if user.active_memberships|length > 1 %}<span> (+{{ user.active_memberships|length|add:"-1" }})</span>{% endif %}
              {% endif %}{% endwith %}
            </p>
            <form method="post" action="{% url 'logout' %}" class="mb-0">
              {% csrf_token %}
              <button type="submit" class="btn btn-sm btn-light">Se déconnecter</button>
            </form>
          </div>
        </div>
        {% endif %}
"""  # noqa: E501 (the template as it was)


def normalised(markup: str) -> str:
    return re.sub(r">\s+<", "><", re.sub(r"\s+", " ", str(markup))).strip()


def users():
    structure = StructureFactory(name='MDS <Nord> & "Sud"')
    many = member(Role.REFERENT, structure=structure, username="plusieurs", first_name="Zoé", last_name="O'Brien")
    MembershipFactory(user=many, role=Role.SUPERVISOR, structure=StructureFactory())
    MembershipFactory(user=many, role=Role.DEPARTMENT_ADMIN, structure=StructureFactory())
    return [
        member(Role.REFERENT, structure=structure, username="referente"),
        member(Role.SUPERVISOR, structure=structure, username="superviseur", first_name="", last_name=""),
        member(Role.DEPARTMENT_ADMIN, structure=structure, username="admin"),
        member(Role.AUDITOR, structure=structure, username="dpo"),
        many,
        UserFactory(username="sans-role"),
        AnonymousUser(),
    ]


PAGES = [None, "home", "caseload", "team_dashboard", "team_alerts", "emergency_access", "covers", "reassign"]
PAGES += ["notifications", "imports", "import_detail", "audit_events", "audit_exports", "file_detail"]


def test_the_menu_is_the_templates_markup():
    engine = engines["django"]
    ours, reference = engine.from_string("{% load casework %}{% main_menu %}"), engine.from_string(MENU_TEMPLATE)
    shown = 0
    for user in users():
        for page in PAGES:
            for unread in (0, 1, 3):
                request = SimpleNamespace(resolver_match=SimpleNamespace(url_name=page) if page else None)
                context = {
                    "user": user,
                    "request": request,
                    "unread_notification_count": lambda unread=unread: unread,
                    "csrf_token": "jeton<&>",
                }
                expected = reference.render(context)
                assert normalised(ours.render(context)) == normalised(expected), (user, page, unread)
                shown += bool(expected.strip())
    assert shown == 6 * len(PAGES) * 3  # everyone but the anonymous user has a menu


def test_the_current_page_is_marked_and_the_count_announced():
    user = member(Role.SUPERVISOR, username="superviseur")
    context = {
        "user": user,
        "request": SimpleNamespace(resolver_match=SimpleNamespace(url_name="team_alerts")),
        "unread_notification_count": lambda: 2,
    }
    html = engines["django"].from_string("{% load casework %}{% main_menu %}").render(context)
    assert 'href="/equipe/" aria-current="page">Mon équipe</a>' in html and html.count("aria-current") == 1
    assert '2<span class="visually-hidden"> non lues</span>' in html
