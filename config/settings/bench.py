"""Settings of the benchmark (`make bench`, `make loadtest`; docs/performance.md).

Production's code paths on a separate PostgreSQL database: DEBUG off (templates cached, no query
log kept by Django), the same middleware, sessions, audit trail and ATOMIC_REQUESTS. What differs is
what a benchmark cannot or should not pay: static files come from the finders (no collectstatic),
passwords use a fast hasher (the bench users share one password; a login would otherwise cost a
second of CPU) and e-mails stay in memory.
"""

import os

from django.core.exceptions import ImproperlyConfigured

from config.settings.base import *  # noqa: F403
from config.settings.base import CACHE_URL, DATABASES

if DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
    raise ImproperlyConfigured("The benchmark runs on PostgreSQL only: set DATABASE_URL=postgres:///... .")
if not DATABASES["default"]["NAME"].startswith("parcours_bench_"):
    raise ImproperlyConfigured("The benchmark settings only open a benchmark database (parcours_bench_<scale>).")

DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
STATIC_ROOT = None
WHITENOISE_USE_FINDERS = True
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
# Background work runs in the measuring process unless a broker is given.
CELERY_TASK_ALWAYS_EAGER = not os.environ.get("CELERY_BROKER_URL")
# Persistent connections, as in production (DATABASE_CONN_MAX_AGE defaults to 60 there).
DATABASES["default"]["CONN_MAX_AGE"] = 60
# Sessions are read from the cache, as in production: Redis (database 1 of the local server unless
# CACHE_URL names another), shared by the load test's gunicorn workers as by production's.
if not CACHE_URL:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://127.0.0.1:6379/1"}
    }

# The benchmark's management commands (bench_import, bench_audit_export); not installed in production.
INSTALLED_APPS = [*INSTALLED_APPS, "bench"]  # noqa: F405
