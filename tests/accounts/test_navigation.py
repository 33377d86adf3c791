"""The header's menu (templates/includes/main_menu.html): the links each role opens, the current page
marked by its full URL name, the unread notifications, who is signed in, the logout form."""

import re

import pytest
from django.urls import reverse

from accounts.models import Role
from team.models import Notification
from tests.accounts.factories import MembershipFactory, StructureFactory, UserFactory, member
from tests.casework.factories import BeneficiaryFactory

pytestmark = pytest.mark.django_db

EVERYONE = ["Accueil", "Notifications"]


def menu(client, user, url=None) -> str:
    client.force_login(user)
    response = client.get(url or reverse("home"))
    assert response.status_code == 200
    html = response.content.decode()
    return html[html.index('<div class="collapse navbar-collapse" id="menu">') : html.index("</header>")]


def links(html: str) -> list[str]:
    """The menu's links, by their text (the unread count left out)."""
    found = re.findall(r'<li class="nav-item"><a [^>]*>(.*?)</a></li>', html, re.S)
    return [re.sub(r"<span.*", "", text, flags=re.S) for text in found]


def current(html: str) -> list[str]:
    return [
        re.sub(r"<span.*", "", text, flags=re.S) for text in re.findall(r'aria-current="page">(.*?)</a>', html, re.S)
    ]


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        (Role.REFERENT, ["Accueil", "Mes dossiers", "Accès exceptionnel", "Notifications"]),
        (Role.SUPERVISOR, ["Accueil", "Mes dossiers", "Mon équipe", "Réaffectations", "Notifications"]),
        (Role.DEPARTMENT_ADMIN, ["Accueil", "Mes dossiers", "Notifications", "Imports", "Administration"]),
        (Role.AUDITOR, ["Accueil", "Notifications", "Journal d'audit", "Exports"]),
    ],
)
def test_each_role_sees_the_links_it_opens(client, role, expected):
    assert links(menu(client, member(role))) == expected


def test_someone_without_a_role_in_force_sees_the_links_of_everyone(client):
    assert links(menu(client, UserFactory())) == EVERYONE


def test_anonymous_visitors_get_no_menu(client):
    html = client.get(reverse("login")).content.decode()
    assert 'id="menu"' not in html and "Se déconnecter" not in html


@pytest.mark.parametrize(
    ("role", "url_name", "marked"),
    [
        (Role.REFERENT, "home", "Accueil"),
        (Role.REFERENT, "casework:caseload", "Mes dossiers"),
        (Role.REFERENT, "casework:emergency_access", "Accès exceptionnel"),
        (Role.REFERENT, "team:notifications", "Notifications"),
        (Role.SUPERVISOR, "team:dashboard", "Mon équipe"),
        (Role.SUPERVISOR, "team:alerts", "Mon équipe"),
        (Role.SUPERVISOR, "team:reassign", "Réaffectations"),
        (Role.SUPERVISOR, "team:covers", "Réaffectations"),
        (Role.DEPARTMENT_ADMIN, "imports:list", "Imports"),
        (Role.AUDITOR, "audit:events", "Journal d'audit"),
        (Role.AUDITOR, "audit:exports", "Exports"),
    ],
)
def test_the_current_page_is_marked_by_its_full_url_name(client, role, url_name, marked):
    assert current(menu(client, member(role), reverse(url_name))) == [marked]


def test_a_page_outside_the_menu_marks_no_link(client):
    referent = member(Role.REFERENT)
    file = BeneficiaryFactory(referent=referent)
    assert current(menu(client, referent, reverse("casework:file_detail", args=[file.public_id]))) == []


def test_a_page_not_found_shows_the_menu_without_a_current_link(client):
    referent = member(Role.REFERENT)
    client.force_login(referent)
    response = client.get("/pas-de-page-ici/")
    html = response.content.decode()
    assert response.status_code == 404 and "Se déconnecter" in html and "aria-current" not in html


@pytest.mark.parametrize(("unread", "announced"), [(0, None), (1, "1 non lue"), (3, "3 non lues")])
def test_the_unread_notifications_are_counted_and_announced(client, unread, announced):
    referent = member(Role.REFERENT)
    for index in range(unread):
        Notification.objects.create(recipient=referent, kind=Notification.Kind.FILE_ASSIGNED, message=f"N{index}")
    html = menu(client, referent)
    count = re.search(r'<span id="notifications-compte">(.*?)</a>', html, re.S).group(1)
    spoken = re.sub(r"<[^>]+>", "", count).strip()
    assert spoken == (announced or "") and ("badge" in count) == bool(unread)


def test_who_is_signed_in_with_their_first_role_and_the_number_of_others(client):
    structure = StructureFactory(name='MDS <Nord> & "Sud"')
    user = member(Role.REFERENT, structure=structure, first_name="Zoé", last_name="O'Brien <b>")
    MembershipFactory(user=user, role=Role.SUPERVISOR, structure=StructureFactory())
    html = menu(client, user)
    who = html[html.index('id="utilisateur"') : html.index("</p>")]
    assert "Zoé O&#x27;Brien &lt;b&gt;" in who and "<b>" not in who
    assert "Référent·e insertion – MDS &lt;Nord&gt; &amp; &quot;Sud&quot;" in who
    assert "(+1)" in who


def test_a_user_without_a_full_name_is_shown_by_username_and_logs_out_by_post(client):
    html = menu(client, member(Role.AUDITOR, username="dpo", first_name="", last_name=""))
    assert '<span class="fw-bold">dpo</span>' in html and "(+" not in html
    assert f'<form method="post" action="{reverse("logout")}"' in html
    assert 'name="csrfmiddlewaretoken"' in html
