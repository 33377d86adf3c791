"""The session engine (accounts/sessions.py): Django's database sessions with their read and update
written once. Each test holds it to what Django's own engine does with the same rows."""

import datetime

import pytest
from django.conf import settings
from django.contrib.sessions.backends.base import UpdateError
from django.contrib.sessions.backends.db import SessionStore as DjangoSessionStore
from django.contrib.sessions.exceptions import SessionInterrupted
from django.contrib.sessions.middleware import SessionMiddleware
from django.contrib.sessions.models import Session
from django.db import connection
from django.http import HttpResponse
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role
from accounts.sessions import SessionStore
from tests.accounts.factories import member

pytestmark = pytest.mark.django_db


def test_it_is_the_engine_in_use(client):
    assert settings.SESSION_ENGINE == "accounts.sessions"
    client.force_login(member(Role.REFERENT))
    assert isinstance(client.session, SessionStore)


def test_it_reads_what_djangos_engine_wrote_and_django_reads_what_it_wrote():
    theirs = DjangoSessionStore()
    theirs["panier"] = {"dossiers": [1, 2], "é": "à"}
    theirs.create()
    ours = SessionStore(theirs.session_key)
    assert ours.load() == {"panier": {"dossiers": [1, 2], "é": "à"}}

    ours["panier"] = "autre"
    ours.set_expiry(600)
    ours.save()
    again = DjangoSessionStore(theirs.session_key)
    assert again["panier"] == "autre"
    row = Session.objects.get(session_key=theirs.session_key)
    assert abs((row.expire_date - timezone.now()).total_seconds() - 600) < 5


def test_an_expired_or_unknown_session_reads_empty_and_drops_its_key():
    expired = DjangoSessionStore()
    expired["a"] = 1
    expired.create()
    Session.objects.filter(session_key=expired.session_key).update(
        expire_date=timezone.now() - datetime.timedelta(seconds=1)
    )
    for key in (expired.session_key, "x" * 32):
        store = SessionStore(key)
        assert store.load() == {}
        assert store.session_key is None
        # As with Django's engine: a save then creates a new session under a new key.
        store["b"] = 2
        store.save()
        assert store.session_key not in (None, key)
        assert SessionStore(store.session_key)["b"] == 2


def test_saving_a_session_deleted_meanwhile_raises_update_error():
    store = SessionStore()
    store["a"] = 1
    store.create()
    SessionStore(store.session_key).load()
    Session.objects.filter(session_key=store.session_key).delete()
    store["a"] = 2
    with pytest.raises(UpdateError):
        store.save()
    assert not Session.objects.filter(session_key=store.session_key).exists()


def test_a_request_whose_session_was_deleted_meanwhile_is_interrupted(client, rf):
    """SessionMiddleware turns the UpdateError into SessionInterrupted (a 400), as with Django's engine."""
    client.force_login(member(Role.REFERENT))
    key = client.cookies[settings.SESSION_COOKIE_NAME].value
    request = rf.get("/")
    request.COOKIES[settings.SESSION_COOKIE_NAME] = key
    middleware = SessionMiddleware(lambda request: HttpResponse())
    middleware.process_request(request)
    request.session["touched"] = True
    Session.objects.filter(session_key=key).delete()  # a logout in another tab
    with pytest.raises(SessionInterrupted):
        middleware.process_response(request, HttpResponse())


def test_a_request_reads_and_writes_its_session_in_one_statement_each(client):
    client.force_login(member(Role.REFERENT))
    client.get(reverse("home"))
    with CaptureQueriesContext(connection) as queries:
        assert client.get(reverse("home")).status_code == 200
    table = Session._meta.db_table
    statements = [query["sql"] for query in queries.captured_queries]
    ours = [index for index, sql in enumerate(statements) if table in sql]
    assert [statements[index].split()[0] for index in ours] == ["SELECT", "UPDATE"], statements
    # No transaction of its own around the update (Django's engine puts it in a savepoint, or between a
    # BEGIN and a COMMIT outside a transaction).
    update = ours[1]
    assert not statements[update - 1].startswith("SAVEPOINT")
    assert update + 1 == len(statements) or not statements[update + 1].startswith("RELEASE SAVEPOINT")


def test_the_session_keeps_a_signed_in_user_and_logout_ends_it(client):
    user = member(Role.REFERENT)
    client.force_login(user)
    assert client.get(reverse("home")).status_code == 200
    key = client.cookies[settings.SESSION_COOKIE_NAME].value
    assert SessionStore(key)["_auth_user_id"] == str(user.pk)
    client.post(reverse("logout"))
    assert not Session.objects.filter(session_key=key).exists()
    assert client.get(reverse("home")).status_code == 302
