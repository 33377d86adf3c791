"""Production settings fail loudly on a missing or bad value instead of falling back to a default."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from config.settings.env import env_bool, env_int, env_list
from config.theme import checked_color, contrast_ratio

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION_ENV = {
    "PARCOURS_ENV": "production",
    "SECRET_KEY": "k" * 20 + "0123456789abcdefghijklmnopqrstuvwxyz",
    "ALLOWED_HOSTS": "parcours.example.org",
    "DATABASE_URL": "postgres://parcours@db.example.org/parcours",
    "CELERY_BROKER_URL": "redis://127.0.0.1:6379/0",
    "PARCOURS_BASE_URL": "https://parcours.example.org",
}


def load_settings(
    code="import config.settings.base as s; print(s.DEBUG, s.SESSION_COOKIE_SECURE, s.SECURE_HSTS_SECONDS)", **env
):
    """Import the production settings module in a clean interpreter with the given environment (and print
    what `code` prints of it)."""
    clean = {key: value for key, value in os.environ.items() if key not in PRODUCTION_ENV and key != "DEBUG"}
    clean.update({key: value for key, value in env.items() if value is not None})
    return subprocess.run(  # noqa: S603
        [sys.executable, "-c", code], cwd=ROOT, env=clean, capture_output=True, text=True, check=False
    )


def test_production_settings_load_with_every_required_value():
    result = load_settings(**PRODUCTION_ENV)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "True", str(365 * 24 * 3600)]


@pytest.mark.parametrize("missing", ["SECRET_KEY", "ALLOWED_HOSTS", "CELERY_BROKER_URL", "PARCOURS_BASE_URL"])
def test_production_refuses_to_start_without(missing):
    result = load_settings(**{**PRODUCTION_ENV, missing: None})
    assert result.returncode != 0
    assert missing in result.stderr


def test_production_refuses_debug():
    result = load_settings(**PRODUCTION_ENV, DEBUG="true")
    assert result.returncode != 0
    assert "DEBUG cannot be on" in result.stderr


def test_production_refuses_a_base_url_without_https():
    result = load_settings(**{**PRODUCTION_ENV, "PARCOURS_BASE_URL": "http://parcours.example.org"})
    assert result.returncode != 0
    assert "PARCOURS_BASE_URL" in result.stderr


def test_production_refuses_sqlite():
    result = load_settings(**{**PRODUCTION_ENV, "DATABASE_URL": "sqlite:///db.sqlite3"})
    assert result.returncode != 0
    assert "PostgreSQL" in result.stderr


def test_a_typo_in_a_boolean_is_refused(monkeypatch):
    monkeypatch.setenv("SOME_FLAG", "ture")
    with pytest.raises(ImproperlyConfigured, match="SOME_FLAG"):
        env_bool("SOME_FLAG", default=False)


def test_integers_are_checked(monkeypatch):
    monkeypatch.setenv("SESSION_IDLE_MINUTES", "trente")
    with pytest.raises(ImproperlyConfigured):
        env_int("SESSION_IDLE_MINUTES", 30)
    monkeypatch.setenv("SESSION_IDLE_MINUTES", "0")
    with pytest.raises(ImproperlyConfigured):
        env_int("SESSION_IDLE_MINUTES", 30, minimum=1)
    monkeypatch.setenv("SESSION_IDLE_MINUTES", "45")
    assert env_int("SESSION_IDLE_MINUTES", 30, minimum=1) == 45


def test_lists_are_split_on_commas(monkeypatch):
    monkeypatch.setenv("ALLOWED_HOSTS", "a.example.org, b.example.org,")
    assert env_list("ALLOWED_HOSTS", []) == ["a.example.org", "b.example.org"]


def test_theme_colour_must_be_readable_with_white_text():
    assert checked_color("PARCOURS_PRIMARY_COLOR", "#1D4F73") == "#1d4f73"
    with pytest.raises(ImproperlyConfigured, match="contrast"):
        checked_color("PARCOURS_PRIMARY_COLOR", "#ffd966")
    with pytest.raises(ImproperlyConfigured, match="#rrggbb"):
        checked_color("PARCOURS_PRIMARY_COLOR", "blue")


def test_contrast_ratio_matches_the_wcag_formula():
    assert contrast_ratio("#000000", "#ffffff") == pytest.approx(21.0)
    assert contrast_ratio("#767676", "#ffffff") == pytest.approx(4.54, abs=0.01)


CACHE_LOCATION = "import config.settings.base as s; print(s.CACHES['default'].get('LOCATION', 'locmem'))"


def test_production_caches_in_the_brokers_redis_server_in_the_next_database():
    result = load_settings(code=CACHE_LOCATION, **PRODUCTION_ENV)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "redis://127.0.0.1:6379/1"
    result = load_settings(
        code=CACHE_LOCATION, **{**PRODUCTION_ENV, "CELERY_BROKER_URL": "redis://:s3cret@redis:6379"}
    )
    assert result.stdout.strip() == "redis://:s3cret@redis:6379/1"


def test_production_takes_cache_url_when_given():
    result = load_settings(code=CACHE_LOCATION, **PRODUCTION_ENV, CACHE_URL="rediss://cache.example.org:6380/3")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "rediss://cache.example.org:6380/3"


@pytest.mark.parametrize(
    ("cache_url", "message"),
    [
        ("redis://127.0.0.1:6379/0", "another Redis database than the Celery broker's"),
        ("redis://127.0.0.1:6379", "another Redis database than the Celery broker's"),
        ("memcached://127.0.0.1:11211", "CACHE_URL must be a Redis URL"),
        ("redis://127.0.0.1:6379/un", "CACHE_URL must be a Redis URL"),
        ("redis://:s3cret@127.0.0.1:port/1", "CACHE_URL has an invalid port"),
    ],
)
def test_a_bad_cache_url_is_refused(cache_url, message):
    result = load_settings(code=CACHE_LOCATION, **PRODUCTION_ENV, CACHE_URL=cache_url)
    assert result.returncode != 0
    assert message in result.stderr
    assert "s3cret" not in result.stderr


def test_production_without_a_redis_broker_needs_cache_url():
    env = {**PRODUCTION_ENV, "CELERY_BROKER_URL": "amqp://guest@rabbit//"}
    result = load_settings(code=CACHE_LOCATION, **env)
    assert result.returncode != 0
    assert "CACHE_URL (redis://host:6379/1) is required" in result.stderr
    assert load_settings(code=CACHE_LOCATION, **env, CACHE_URL="redis://cache:6379/0").stdout.strip() == (
        "redis://cache:6379/0"
    )


def test_development_caches_in_local_memory_unless_cache_url_is_set():
    env = {"CELERY_BROKER_URL": "redis://127.0.0.1:6379/0"}
    assert load_settings(code=CACHE_LOCATION, **env).stdout.strip() == "locmem"
    assert load_settings(code=CACHE_LOCATION, **env, CACHE_URL="redis://127.0.0.1:6379/2").stdout.strip() == (
        "redis://127.0.0.1:6379/2"
    )


def test_the_departements_postcode_prefixes_are_digits():
    code = "import config.settings.base as s; print(s.PARCOURS_DEPARTEMENT_POSTCODE_PREFIXES)"
    assert load_settings(code, **PRODUCTION_ENV, PARCOURS_DEPARTEMENT_POSTCODE_PREFIXES="974, 976").stdout.strip() == (
        "['974', '976']"
    )
    refused = load_settings(code, **PRODUCTION_ENV, PARCOURS_DEPARTEMENT_POSTCODE_PREFIXES="59,Nord")
    assert refused.returncode != 0
    assert "PARCOURS_DEPARTEMENT_POSTCODE_PREFIXES" in refused.stderr
