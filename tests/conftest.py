"""Guard rails for the whole suite (as in les-emplois' tests/conftest.py).

- An undefined template variable fails the test instead of rendering as an empty string.
- With CI=true, PostgreSQL and Redis are required: a missing service is a failure, not a skip
  (config/settings/test.py refuses a non-PostgreSQL database; the fixture below checks Redis).
"""

import os

import pytest
from django.conf import settings
from django.core.cache import caches

from tests.personas import Personas, build_personas


class UndefinedTemplateVariable(str):
    def __mod__(self, other):
        raise AssertionError(f"Undefined template variable: {other!r}")

    def __bool__(self):
        # Lets `{% if var %}` on a missing variable stay falsy as Django intends.
        return False


@pytest.fixture(autouse=True)
def fail_on_undefined_template_variables(request, settings):
    # Django's own admin templates rely on undefined variables; tests of admin pages opt out.
    if request.node.get_closest_marker("ignore_unknown_template_variables"):
        return
    for template in settings.TEMPLATES:
        template.setdefault("OPTIONS", {})["string_if_invalid"] = UndefinedTemplateVariable("%s")


@pytest.fixture(autouse=True)
def empty_cache():
    """Each test starts from an empty cache, as it starts from an empty database: the sessions live in both
    (cached_db), and a row rolled back must not live on in the cache."""
    yield
    caches["default"].clear()


@pytest.fixture(scope="session", autouse=True)
def ci_requires_real_services():
    if os.environ.get("CI", "").lower() not in {"1", "true", "yes"}:
        return
    import redis

    try:
        redis.Redis.from_url(settings.CELERY_BROKER_URL, socket_connect_timeout=3).ping()
    except redis.RedisError as error:
        pytest.fail(f"CI=true but Redis is not reachable at {settings.CELERY_BROKER_URL}: {error}")


# What the audit trail adds to an audited request in the test suite: the chain's last link (SELECT),
# then the INSERT inside a savepoint (the test's transaction is open; in production the middleware runs
# after the request's transaction and the savepoint is not needed). audit/trail.py.
AUDIT_QUERIES = 4

# What a signed-in request's session adds in the test suite: no read (cached_db finds it in the cache),
# then its save, as Django's database engine writes it: the UPDATE inside a savepoint (in production,
# after the request's transaction, between a BEGIN and a COMMIT).
SESSION_QUERIES = 3

# What the header of every full page adds: the count of the user's unread notifications
# (team.context_processors.notifications). htmx partials render no header and do not pay it.
HEADER_QUERIES = 1


@pytest.fixture
def personas(db) -> Personas:
    """The shared world of people and files (tests/personas.py), written for this test. A module that
    needs more adds it on top, in a fixture of its own that takes `personas`."""
    return build_personas()


@pytest.fixture
def travel(monkeypatch):
    """Move Django's clock (`django.utils.timezone.now`, which `localdate` reads too) to a moment:
    `travel(moment)`. The clock is the one thing outside the app that the rules read."""
    from django.utils import timezone

    def to(moment):
        monkeypatch.setattr(timezone, "now", lambda: moment)

    return to
