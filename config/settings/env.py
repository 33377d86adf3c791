"""Typed readers for environment variables.

Each helper raises ImproperlyConfigured on a value it cannot read, so that a typo in a production
setting stops the process at start-up instead of silently falling back to a default.
"""

import os
from urllib.parse import urlsplit, urlunsplit

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str | None = None, *, required: bool = False) -> str:
    value = os.environ.get(name)
    if value is None or value == "":
        if required:
            raise ImproperlyConfigured(f"The environment variable {name} is required.")
        if default is None:
            return ""
        return default
    return value


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    normalized = value.strip().lower()
    if normalized in _TRUE:
        return True
    if normalized in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (true/false), not {value!r}.")


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    try:
        number = int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, not {value!r}.") from None
    if minimum is not None and number < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, not {number}.")
    return number


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if value is None:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


def redis_url(name: str, value: str) -> str:
    """`value` if it is a Redis URL (redis://[:password@]host[:port][/N], rediss://... for TLS; database 0
    when no index is given); ImproperlyConfigured otherwise, naming the variable."""
    parts = urlsplit(value)
    database = parts.path.removeprefix("/")
    if parts.scheme not in {"redis", "rediss"} or not parts.hostname or not (database == "" or database.isdigit()):
        raise ImproperlyConfigured(f"{name} must be a Redis URL such as redis://host:6379/1, not {_shown(value)!r}.")
    try:
        parts.port  # noqa: B018 (a port that is not a number, or out of range, raises here)
    except ValueError:
        raise ImproperlyConfigured(f"{name} has an invalid port: {_shown(value)!r}.") from None
    return value


def redis_database(url: str) -> tuple[str, int, int]:
    """(host, port, database index) of a Redis URL checked by `redis_url`."""
    parts = urlsplit(url)
    return parts.hostname or "", parts.port or 6379, int(parts.path.removeprefix("/") or 0)


def redis_url_with_database(url: str, database: int) -> str:
    """The same Redis server (and credentials), another database index."""
    return urlunsplit(urlsplit(url)._replace(path=f"/{database}"))


def env_redis_url(name: str, default: str = "", *, apart_from: str = "") -> str:
    """A Redis URL from the environment (or `default`), checked; "" when neither is set. `apart_from`: a
    Redis URL this one must not share a database with (the Celery broker's, whose queues a cache clear
    would empty)."""
    value = env_str(name, default)
    if not value:
        return ""
    redis_url(name, value)
    if apart_from and redis_database(value) == redis_database(apart_from):
        raise ImproperlyConfigured(
            f"{name} must use another Redis database than the Celery broker's (e.g. /1 when the broker is /0)."
        )
    return value


def _shown(url: str) -> str:
    """A URL as an error message may show it: without its password."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.replace(f":{parts.password}@", ":***@", 1)))
