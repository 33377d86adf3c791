"""Signing in and out: French pages, one message for every failure, lockout after repeated
failures, sessions that end after inactivity and after a maximum duration."""

import re
import time

import pytest
from django.urls import reverse

from accounts.middleware import SESSION_LOGIN_AT
from accounts.models import Role
from tests.accounts.factories import DEFAULT_PASSWORD, UserFactory, member

pytestmark = pytest.mark.django_db

FAILURE_MESSAGE = "Identifiant ou mot de passe incorrect."


def without_csrf_token(content: bytes) -> str:
    return re.sub(r'"X-CSRFToken": "[^"]*"', "", content.decode())


def login(client, username, password=DEFAULT_PASSWORD):
    return client.post(reverse("login"), {"username": username, "password": password})


def test_login_page_is_in_french_and_labelled(client):
    response = client.get(reverse("login"))
    html = response.content.decode()
    assert response.status_code == 200
    assert '<html lang="fr">' in html
    assert '<label class="form-label" for="id_username">Identifiant</label>' in html
    assert '<label class="form-label" for="id_password">Mot de passe</label>' in html


def test_anonymous_visitor_is_sent_to_the_login_page(client):
    response = client.get(reverse("home"))
    assert response.status_code == 302
    assert response.url == f"{reverse('login')}?next=/"


def test_referent_signs_in_and_sees_who_they_are(client):
    user = member(Role.REFERENT, username="camille", first_name="Camille")
    response = login(client, "camille")
    assert response.status_code == 302
    assert response.url == reverse("home")
    home = client.get(reverse("home"))
    html = home.content.decode()
    structure = user.memberships.get().structure
    assert "Bonjour Camille" in html
    assert structure.name in html
    assert "Référent·e insertion" in html
    assert "Consigner les étapes du parcours" in html


def test_wrong_password_and_unknown_account_get_the_same_answer(client):
    member(Role.REFERENT, username="camille")
    wrong_password = login(client, "camille", "pas-le-bon-mot-de-passe")
    unknown_account = login(client, "personne", "pas-le-bon-mot-de-passe")
    assert wrong_password.status_code == unknown_account.status_code == 200
    wrong_errors = wrong_password.context["form"].non_field_errors()
    unknown_errors = unknown_account.context["form"].non_field_errors()
    assert wrong_errors == unknown_errors
    assert FAILURE_MESSAGE in wrong_errors[0]


def test_deactivated_account_gets_the_same_answer_as_a_wrong_password(client):
    member(Role.REFERENT, username="parti", is_active=False)
    response = login(client, "parti")
    assert FAILURE_MESSAGE in response.context["form"].non_field_errors()[0]
    assert "_auth_user_id" not in client.session


def test_repeated_failures_lock_the_username_from_that_address(client, settings):
    member(Role.REFERENT, username="camille")
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert login(client, "camille", "mauvais").status_code == 200
    locked = login(client, "camille", "mauvais")
    assert locked.status_code == 429
    assert "Connexion temporairement bloquée" in locked.content.decode()
    # Even the right password is refused while the lock holds.
    assert login(client, "camille").status_code == 429
    assert "_auth_user_id" not in client.session


def test_lockout_page_is_the_same_for_an_unknown_account(client, settings):
    member(Role.REFERENT, username="camille")
    for username in ("camille", "personne"):
        for _ in range(settings.AXES_FAILURE_LIMIT - 1):
            login(client, username, "mauvais")
    existing = login(client, "camille", "mauvais")
    unknown = login(client, "personne", "mauvais")
    assert existing.status_code == unknown.status_code == 429
    assert without_csrf_token(existing.content) == without_csrf_token(unknown.content)


def test_lock_does_not_reach_a_colleague(client, settings):
    member(Role.REFERENT, username="camille")
    member(Role.REFERENT, username="dominique")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        login(client, "camille", "mauvais")
    assert login(client, "dominique").status_code == 302


def test_logout_is_a_post_and_ends_the_session(client):
    member(Role.REFERENT, username="camille")
    login(client, "camille")
    assert client.get(reverse("logout")).status_code == 405
    response = client.post(reverse("logout"))
    assert response.status_code == 302
    assert response.url == reverse("login")
    assert client.get(reverse("home")).status_code == 302


def test_session_expires_after_inactivity(client, settings):
    member(Role.REFERENT, username="camille")
    login(client, "camille")
    assert settings.SESSION_COOKIE_AGE == settings.SESSION_IDLE_MINUTES * 60 == 30 * 60
    assert settings.SESSION_SAVE_EVERY_REQUEST
    client.get(reverse("home"))
    assert 0 < client.session.get_expiry_age() <= 30 * 60


def test_session_ends_after_the_maximum_duration_whatever_the_activity(client, settings):
    member(Role.REFERENT, username="camille")
    login(client, "camille")
    session = client.session
    session[SESSION_LOGIN_AT] = time.time() - settings.SESSION_MAX_HOURS * 3600 - 1
    session.save()
    response = client.get(reverse("home"))
    assert response.status_code == 302
    assert response.url == reverse("login")
    assert "_auth_user_id" not in client.session


def test_session_within_the_maximum_duration_goes_on(client, settings):
    member(Role.REFERENT, username="camille")
    login(client, "camille")
    session = client.session
    session[SESSION_LOGIN_AT] = time.time() - settings.SESSION_MAX_HOURS * 3600 + 60
    session.save()
    assert client.get(reverse("home")).status_code == 200


def test_pages_for_a_signed_in_user_are_not_stored(client):
    client.force_login(member(Role.REFERENT))
    response = client.get(reverse("home"))
    assert "no-store" in response["Cache-Control"]


def test_user_without_membership_is_told_so(client):
    client.force_login(UserFactory())
    response = client.get(reverse("home"))
    assert "Vous n'êtes rattaché·e à aucune structure" in response.content.decode()


def test_passwords_are_validated(settings):
    from django.contrib.auth.password_validation import validate_password
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        validate_password("parcours")
    validate_password("une phrase de passe assez longue")
