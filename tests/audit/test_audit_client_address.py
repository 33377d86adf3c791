"""The address an audit event records is the one the client cannot choose, and the one the lockout
(django-axes) keys on: a forged X-Forwarded-For is never recorded."""

import pytest
from axes.helpers import get_client_ip_address
from axes.models import AccessAttempt
from django.test import RequestFactory
from django.urls import reverse

from accounts.models import Role
from audit.models import AuditEvent
from audit.trail import client_address
from tests.accounts.factories import DEFAULT_PASSWORD, member
from tests.config.test_settings import PRODUCTION_ENV, load_settings

pytestmark = pytest.mark.django_db

CLIENT = "203.0.113.7"
PROXY = "10.0.0.2"
FORGED = "198.51.100.66"


@pytest.fixture
def no_proxy(settings):
    # What config/settings/base.py sets with AXES_PROXY_COUNT=0 (the default).
    settings.AXES_IPWARE_PROXY_COUNT = None
    settings.AXES_IPWARE_META_PRECEDENCE_ORDER = ("REMOTE_ADDR",)


@pytest.fixture
def one_proxy(settings):
    # What config/settings/base.py sets with AXES_PROXY_COUNT=1 (checked below).
    settings.AXES_IPWARE_PROXY_COUNT = 0
    settings.AXES_IPWARE_META_PRECEDENCE_ORDER = ("HTTP_X_FORWARDED_FOR", "REMOTE_ADDR")


def test_proxy_settings_follow_axes_proxy_count():
    code = "import config.settings.base as s; print(s.AXES_IPWARE_PROXY_COUNT, s.AXES_IPWARE_META_PRECEDENCE_ORDER)"
    expected = {
        "0": "None ('REMOTE_ADDR',)",
        "1": "0 ('HTTP_X_FORWARDED_FOR', 'REMOTE_ADDR')",
        "2": "1 ('HTTP_X_FORWARDED_FOR', 'REMOTE_ADDR')",
    }
    for count, printed in expected.items():
        result = load_settings(**PRODUCTION_ENV, AXES_PROXY_COUNT=count, code=code)
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == printed


def _request(forwarded=None, remote=CLIENT):
    headers = {"HTTP_X_FORWARDED_FOR": forwarded} if forwarded is not None else {}
    return RequestFactory().get("/", REMOTE_ADDR=remote, **headers)


@pytest.mark.usefixtures("no_proxy")
@pytest.mark.parametrize("forwarded", [None, FORGED, f"{FORGED}, 192.0.2.1", "n'importe quoi"])
def test_without_proxy_the_connection_address_is_recorded_whatever_the_header(forwarded):
    request = _request(forwarded)
    assert client_address(request) == get_client_ip_address(request) == CLIENT


@pytest.mark.usefixtures("one_proxy")
@pytest.mark.parametrize(
    "forwarded",
    [CLIENT, f"{FORGED}, {CLIENT}", f"{FORGED}, 192.0.2.1, {CLIENT}", f"n'importe quoi, {CLIENT}"],
)
def test_behind_one_proxy_the_address_it_added_is_recorded(forwarded):
    request = _request(forwarded, remote=PROXY)
    assert client_address(request) == get_client_ip_address(request) == CLIENT


@pytest.mark.usefixtures("one_proxy")
def test_behind_one_proxy_a_request_without_the_header_records_the_connection():
    request = _request(remote=PROXY)
    assert client_address(request) == get_client_ip_address(request) == PROXY


def test_behind_two_proxies_the_client_is_second_from_the_right(settings):
    settings.AXES_IPWARE_PROXY_COUNT = 1
    settings.AXES_IPWARE_META_PRECEDENCE_ORDER = ("HTTP_X_FORWARDED_FOR", "REMOTE_ADDR")
    request = _request(f"{FORGED}, {CLIENT}, 10.0.0.1", remote=PROXY)
    assert client_address(request) == get_client_ip_address(request) == CLIENT


@pytest.mark.usefixtures("no_proxy")
def test_a_forged_header_is_not_recorded_on_an_audited_page(client):
    user = member(Role.REFERENT)
    client.force_login(user)
    assert client.get(reverse("casework:caseload"), HTTP_X_FORWARDED_FOR=FORGED, REMOTE_ADDR=CLIENT).status_code == 200
    event = AuditEvent.objects.get(action=AuditEvent.Action.VIEW_LIST)
    assert event.ip_address == CLIENT


@pytest.mark.usefixtures("one_proxy")
def test_failed_logins_behind_a_proxy_name_the_same_address_in_the_trail_and_the_lockout(client, settings):
    member(Role.REFERENT, username="camille")
    for attempt in range(settings.AXES_FAILURE_LIMIT):
        client.post(
            reverse("login"),
            {"username": "camille", "password": "mauvais"},
            HTTP_X_FORWARDED_FOR=f"198.51.100.{attempt}, {CLIENT}",
            REMOTE_ADDR=PROXY,
        )
    failures = AuditEvent.objects.filter(action=AuditEvent.Action.LOGIN_FAILED)
    assert {event.ip_address for event in failures} == {CLIENT}
    assert list(AccessAttempt.objects.values_list("ip_address", flat=True)) == [CLIENT]
    # A new forged address on the left does not lift the lock on this client.
    locked = client.post(
        reverse("login"),
        {"username": "camille", "password": DEFAULT_PASSWORD},
        HTTP_X_FORWARDED_FOR=f"192.0.2.200, {CLIENT}",
        REMOTE_ADDR=PROXY,
    )
    assert locked.status_code == 429
