"""Developer settings: base.py's development defaults (SQLite, eager Celery, DEBUG on)."""

from config.settings.base import *  # noqa: F403

# Static files come straight from static/ and the apps (whitenoise's finders); no collectstatic.
STATIC_ROOT = None
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True

# The benchmark's management commands (bench_import, bench_audit_export); not installed in production.
INSTALLED_APPS = [*INSTALLED_APPS, "bench"]  # noqa: F405
