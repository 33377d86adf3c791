"""Sessions: Django's cached database engine (the cache in front, the database behind), an idle limit of
SESSION_IDLE_MINUTES and an end at logout. The absolute limit (SESSION_MAX_HOURS) is in test_auth.py."""

import time

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.core.cache import caches
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role
from tests.accounts.factories import DEFAULT_PASSWORD, member

pytestmark = pytest.mark.django_db

SESSION_TABLE = Session._meta.db_table


def login(client, user):
    response = client.post(reverse("login"), {"username": user.username, "password": DEFAULT_PASSWORD})
    assert response.status_code == 302
    return client.cookies[settings.SESSION_COOKIE_NAME].value


def session_statements(client, path) -> list[str]:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(path).status_code == 200
    return [query["sql"].split()[0] for query in queries.captured_queries if SESSION_TABLE in query["sql"]]


def test_sessions_are_djangos_cached_database_sessions():
    assert settings.SESSION_ENGINE == "django.contrib.sessions.backends.cached_db"
    assert settings.SESSION_COOKIE_AGE == settings.SESSION_IDLE_MINUTES * 60
    assert settings.SESSION_SAVE_EVERY_REQUEST


def test_a_signed_in_request_reads_its_session_from_the_cache_and_writes_it_back(client):
    key = login(client, member(Role.REFERENT))
    assert Session.objects.filter(session_key=key).exists()
    # Read from the cache, saved to the database (its expiry pushed back: the idle limit counts from here).
    assert session_statements(client, reverse("home")) == ["UPDATE"]


def test_the_session_outlives_a_cache_restart(client):
    user = member(Role.REFERENT)
    login(client, user)
    caches["default"].clear()
    response = client.get(reverse("home"))
    assert response.status_code == 200
    assert response.context["user"] == user
    assert session_statements(client, reverse("home")) == ["UPDATE"]  # back in the cache


def test_a_session_ends_after_the_idle_limit(client, settings):
    settings.SESSION_COOKIE_AGE = 1  # seconds without a request
    key = login(client, member(Role.REFERENT))
    assert client.get(reverse("home")).status_code == 200
    time.sleep(1.2)
    response = client.get(reverse("home"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))
    assert not Session.objects.filter(session_key=key, expire_date__gt=timezone.now()).exists()


def test_each_request_pushes_the_idle_limit_back(client, settings):
    settings.SESSION_COOKIE_AGE = 2
    login(client, member(Role.REFERENT))
    for _ in range(3):
        time.sleep(0.8)
        assert client.get(reverse("home")).status_code == 200


def test_logout_ends_the_session_in_the_cache_and_the_database(client):
    user = member(Role.REFERENT)
    key = login(client, user)
    assert client.post(reverse("logout")).status_code == 302
    assert not Session.objects.filter(session_key=key).exists()
    # The old cookie, replayed, opens nothing.
    client.cookies[settings.SESSION_COOKIE_NAME] = key
    response = client.get(reverse("home"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_a_logout_in_another_browser_tab_ends_this_one(client):
    user = member(Role.REFERENT)
    key = login(client, user)
    other_tab = Client()
    other_tab.cookies[settings.SESSION_COOKIE_NAME] = key
    assert other_tab.post(reverse("logout")).status_code == 302
    response = client.get(reverse("home"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))
