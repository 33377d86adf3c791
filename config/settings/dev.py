"""Developer settings: base.py's development defaults (SQLite, eager Celery, DEBUG on)."""

from config.settings.base import *  # noqa: F403
