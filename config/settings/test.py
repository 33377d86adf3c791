"""Settings for the test suite.

With CI=true the suite must run on PostgreSQL and a real Redis: a missing service is a failure,
never a skip (tests/conftest.py checks Redis; this module checks the database URL).
"""

import os
import tempfile
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from config.settings.base import *  # noqa: F403
from config.settings.base import DATABASES
from config.settings.env import env_bool

CI = env_bool("CI", default=False)
if CI and DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
    raise ImproperlyConfigured("CI=true: the test suite must run on PostgreSQL; set DATABASE_URL=postgres:///test.")
if CI and not os.environ.get("CELERY_BROKER_URL"):
    raise ImproperlyConfigured("CI=true: the test suite needs Redis; set CELERY_BROKER_URL=redis://127.0.0.1:6379/0.")

# Fast hashing: the suite creates many users.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Static files come straight from static/ and the apps (also for the browser tests' live server).
STATIC_ROOT = None
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
# Tests call tasks eagerly unless they start a real worker (tests/test_celery_smoke.py).
CELERY_TASK_ALWAYS_EAGER = True
# Files the suite writes (audit exports) go to a temporary directory, never to the checkout's var/.
PRIVATE_MEDIA_ROOT = Path(
    os.environ.get("PRIVATE_MEDIA_ROOT") or Path(tempfile.gettempdir()) / "parcours-tests" / "private"
)

# Local memory, whatever CACHE_URL says: a test's sessions never reach a shared Redis (tests/conftest.py
# clears it after each test).
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# The benchmark's management commands (bench_import, bench_audit_export); not installed in production.
INSTALLED_APPS = [*INSTALLED_APPS, "bench"]  # noqa: F405
