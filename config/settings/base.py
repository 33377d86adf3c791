"""Settings shared by every environment.

Production runs on this module alone (DJANGO_SETTINGS_MODULE=config.settings.base) with
PARCOURS_ENV=production and its values in environment variables; nothing production-only lives
elsewhere. Without PARCOURS_ENV=production the defaults are safe for a developer's machine: a SQLite
file, Celery running tasks eagerly, DEBUG on.
"""

from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from config.settings.env import (
    env_bool,
    env_int,
    env_list,
    env_redis_url,
    env_str,
    redis_database,
    redis_url,
    redis_url_with_database,
)
from config.theme import checked_color

BASE_DIR = Path(__file__).resolve().parent.parent.parent

PARCOURS_ENV = env_str("PARCOURS_ENV", "development")
if PARCOURS_ENV not in {"development", "production"}:
    raise ImproperlyConfigured(f"PARCOURS_ENV must be 'development' or 'production', not {PARCOURS_ENV!r}.")
PRODUCTION = PARCOURS_ENV == "production"

DEBUG = env_bool("DEBUG", default=not PRODUCTION)
if PRODUCTION and DEBUG:
    raise ImproperlyConfigured("DEBUG cannot be on with PARCOURS_ENV=production.")

if PRODUCTION:
    SECRET_KEY = env_str("SECRET_KEY", required=True)
    ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", [])
    if not ALLOWED_HOSTS:
        raise ImproperlyConfigured("ALLOWED_HOSTS is required with PARCOURS_ENV=production.")
else:
    # Development only: never used when PARCOURS_ENV=production.
    SECRET_KEY = env_str("SECRET_KEY", "dev-only-not-secret-6f1c2b9e0d7a4c3f8e5b1a2d9c0e7f6a5b4c3d2e1f")
    ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    # Django's widget templates, for FORM_RENDERER below.
    "django.forms",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "guardian",
    "django_filters",
    "axes",
    "django_htmx",
    # Helpers without models; an app for its template filters (core/templatetags/formats.py).
    "core",
    "accounts",
    "casework",
    "audit",
    "imports",
    "team",
    "www",
    "demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    # request.htmx: whether htmx sent the request, and what for (a history restore, its target).
    "django_htmx.middleware.HtmxMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "accounts.middleware.SessionLifetimeMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "accounts.middleware.NoStoreForAuthenticatedMiddleware",
    # One audit event per audited request, written after the response (audit/middleware.py).
    "audit.middleware.AuditMiddleware",
    # AxesMiddleware must stay last: it turns a lockout into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "accounts.context_processors.parcours",
                # The unread notifications' count in the header: one indexed COUNT per full page.
                "team.context_processors.notifications",
            ],
        },
    },
]

# Widgets render with the project's templates too (casework/pickers/ holds the pickers' templates).
FORM_RENDERER = "django.forms.renderers.TemplatesSetting"

# Database: a SQLite file by default so that `make run` needs nothing installed; PostgreSQL in CI
# and production through DATABASE_URL (postgres://user:password@host:5432/name).
DATABASE_URL = env_str("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}")
if PRODUCTION and not DATABASE_URL.startswith(("postgres://", "postgresql://")):
    raise ImproperlyConfigured("DATABASE_URL must point to PostgreSQL with PARCOURS_ENV=production.")
DATABASES = {
    "default": dj_database_url.parse(
        DATABASE_URL,
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60 if PRODUCTION else 0, minimum=0),
        conn_health_checks=True,
    )
}
DATABASES["default"]["ATOMIC_REQUESTS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Short OLTP queries: PostgreSQL's JIT compiles the permission scope (EXISTS subqueries with a
    # high estimated cost) for longer than it takes to run it (250 ms of a 356 ms count, measured).
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("options", "-c jit=off")
    # No server-side binding (Django's `server_side_binding` option), although with psycopg's prepared
    # statements it would spare PostgreSQL the planning of the file page's joins (about 12 ms of a request,
    # measured): Django does not cap a statement's parameters to PostgreSQL's 65,535 when the server binds
    # them, so a large `pk__in` or a cascade delete fails (seen in the benchmark's import), and Django lists
    # known failures of it (#34255, parameters in GROUP BY). docs/performance.md, "The budget".
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    # Axes first: it refuses a locked-out username/IP pair before any password is checked.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# No django-guardian backend: it would answer `user.has_perm(perm, file)` from the grant rows without
# their expiry, the memberships or the scopes. Object permissions are read through casework.permissions
# only (docs/permissions.md), so `has_perm` on an object is always False. guardian.W001 asks for the
# backend.
SILENCED_SYSTEM_CHECKS = ["guardian.W001"]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Sessions end after SESSION_IDLE_MINUTES without a request (the cookie age, renewed on every
# request) and SESSION_MAX_HOURS after login whatever the activity (SessionLifetimeMiddleware).
SESSION_IDLE_MINUTES = env_int("SESSION_IDLE_MINUTES", 30, minimum=1)
SESSION_MAX_HOURS = env_int("SESSION_MAX_HOURS", 12, minimum=1)
SESSION_COOKIE_AGE = SESSION_IDLE_MINUTES * 60
SESSION_SAVE_EVERY_REQUEST = True
# Django's cached database sessions: read from the cache (CACHES, below), written to both, so that the
# database keeps them across a cache restart.
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"

# Failed logins (django-axes): after AXES_FAILURE_LIMIT failures for one username from one address,
# that pair is locked for AXES_COOLOFF_MINUTES. Locking the pair, not the username alone, keeps an
# attacker from locking a colleague out; the message is the same whether the account exists or not.
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("AXES_COOLOFF_MINUTES", 15, minimum=1))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_LOCKOUT_CALLABLE = "accounts.views.locked_out"
AXES_RESET_ON_SUCCESS = True
AXES_ENABLE_ACCESS_FAILURE_LOG = True
AXES_VERBOSE = False
# The client's address, for the lockout (django-axes) and the audit trail (audit.trail.client_address),
# both read through django-ipware with these settings so that they name the same address. With no proxy
# (AXES_PROXY_COUNT=0, the default) only the connection's address is trusted: X-Forwarded-For is the
# client's to forge. Behind N reverse proxies, each appends the address it received the request from, so
# the client's is the N-th from the right of X-Forwarded-For (the last proxy's own address is REMOTE_ADDR,
# not in the header): django-ipware counts the N - 1 proxies named in the header, and whatever a client put
# on the left of it is ignored (IPWARE_STRICT off: strict would reject such a header and fall back to the
# proxy's address, which a client could then borrow to lock out a colleague).
REVERSE_PROXY_COUNT = env_int("AXES_PROXY_COUNT", 0, minimum=0)
AXES_IPWARE_PROXY_COUNT = REVERSE_PROXY_COUNT - 1 if REVERSE_PROXY_COUNT else None
AXES_IPWARE_META_PRECEDENCE_ORDER = (
    ("HTTP_X_FORWARDED_FOR", "REMOTE_ADDR") if REVERSE_PROXY_COUNT else ("REMOTE_ADDR",)
)
AXES_IPWARE_PROXY_ORDER = "left-most"
AXES_IPWARE_PROXY_TRUSTED_IPS = None
IPWARE_STRICT = False

# django-guardian: object permissions go through casework.permissions only (docs/permissions.md).
# An emergency access (accès exceptionnel) to a file lasts this many hours.
EMERGENCY_ACCESS_HOURS = env_int("EMERGENCY_ACCESS_HOURS", 24, minimum=1)
# Plausibility bounds (issue 27): what a Département may widen or narrow, never code. The reason of an
# emergency access says why in words (not "x"); a cover lasts a leave, not years; a contract runs for
# months, not for the whole of a person's RSA.
EMERGENCY_REASON_MIN_LENGTH = env_int("EMERGENCY_REASON_MIN_LENGTH", 15, minimum=1)
COVER_MAX_DAYS = env_int("COVER_MAX_DAYS", 183, minimum=1)
CONTRACT_MAX_MONTHS = env_int("CONTRACT_MAX_MONTHS", 24, minimum=1)
# A note or a step can be corrected by its author for this many hours after writing it; after that it
# is immutable and can only be withdrawn with a reason (casework.services.common).
ENTRY_CORRECTION_HOURS = env_int("ENTRY_CORRECTION_HOURS", 48, minimum=0)
# The audit trail is chained per day and per shard of actors (audit/middleware.py): more shards, fewer
# writers waiting on the same chain. Changing it only affects the chains of the following events.
AUDIT_CHAIN_SHARDS = env_int("AUDIT_CHAIN_SHARDS", 8, minimum=1)
# Audit events are kept this many months (the CNIL's framework says 6 to 12), then the periodic purge
# removes whole expired days, at most AUDIT_PURGE_MAX_DAYS per run, and records that it did so.
AUDIT_RETENTION_MONTHS = env_int("AUDIT_RETENTION_MONTHS", 12, minimum=1)
AUDIT_PURGE_MAX_DAYS = env_int("AUDIT_PURGE_MAX_DAYS", 31, minimum=1)
# Audit exports (casework/audit_exports.py): downloadable this many days, then deleted; an export
# queued or running with no sign of life for AUDIT_EXPORT_STALE_SECONDS is enqueued again by the
# sweeper, at most AUDIT_EXPORT_MAX_ATTEMPTS times in all.
AUDIT_EXPORT_EXPIRY_DAYS = env_int("AUDIT_EXPORT_EXPIRY_DAYS", 7, minimum=1)
AUDIT_EXPORT_STALE_SECONDS = env_int("AUDIT_EXPORT_STALE_SECONDS", 600, minimum=1)
AUDIT_EXPORT_MAX_ATTEMPTS = env_int("AUDIT_EXPORT_MAX_ATTEMPTS", 5, minimum=1)
# Imports of the CAF/MSA monthly files (casework/imports/, docs/imports.md): a file bigger than
# IMPORT_MAX_BYTES is refused; rows are written IMPORT_BATCH_SIZE at a time (one transaction each); an
# import queued or running with no sign of life for IMPORT_STALE_SECONDS is enqueued again by the sweeper,
# at most IMPORT_MAX_ATTEMPTS times in all. New files wait for orientation in the queue of the structure
# whose code is IMPORT_INTAKE_STRUCTURE (the department's insertion service).
IMPORT_MAX_BYTES = env_int("IMPORT_MAX_BYTES", 200 * 1024 * 1024, minimum=1)
IMPORT_BATCH_SIZE = env_int("IMPORT_BATCH_SIZE", 1000, minimum=1)
IMPORT_STALE_SECONDS = env_int("IMPORT_STALE_SECONDS", 600, minimum=1)
IMPORT_MAX_ATTEMPTS = env_int("IMPORT_MAX_ATTEMPTS", 5, minimum=1)
IMPORT_INTAKE_STRUCTURE = env_str("IMPORT_INTAKE_STRUCTURE", "service-insertion")
ANONYMOUS_USER_NAME = None
GUARDIAN_RAISE_403 = False

LANGUAGE_CODE = "fr-fr"
TIME_ZONE = "Europe/Paris"
USE_I18N = True
USE_TZ = True
LANGUAGES = [("fr", "Français")]

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
# Files written by the app (exports) live outside the web root and are served only by views.
PRIVATE_MEDIA_ROOT = Path(env_str("PRIVATE_MEDIA_ROOT", str(BASE_DIR / "var" / "private")))

# The Département this instance serves (name, logo and colours of the interface).
PARCOURS_DEPARTEMENT_NAME = env_str("PARCOURS_DEPARTEMENT_NAME", "Département de démonstration")
PARCOURS_LOGO = env_str("PARCOURS_LOGO", "img/logo-departement.svg")
# The Département's postcodes begin with one of these (its number: "59"; overseas, three digits: "974";
# Corsica, "20"; a Département with communes served by a neighbour's post office lists that prefix too).
# An imported row whose postcode begins otherwise is imported with a warning. Empty: no check.
PARCOURS_DEPARTEMENT_POSTCODE_PREFIXES = env_list("PARCOURS_DEPARTEMENT_POSTCODE_PREFIXES", ["59"])
for _prefix in PARCOURS_DEPARTEMENT_POSTCODE_PREFIXES:
    if not (_prefix.isascii() and _prefix.isdigit() and 2 <= len(_prefix) <= 5):
        raise ImproperlyConfigured(
            f"PARCOURS_DEPARTEMENT_POSTCODE_PREFIXES holds postcode beginnings of 2 to 5 digits, not {_prefix!r}."
        )
PARCOURS_PRIMARY_COLOR = checked_color("PARCOURS_PRIMARY_COLOR", env_str("PARCOURS_PRIMARY_COLOR", "#1d4f73"))
PARCOURS_SECONDARY_COLOR = checked_color("PARCOURS_SECONDARY_COLOR", env_str("PARCOURS_SECONDARY_COLOR", "#7a3b69"))
# The app's address as people reach it, for the links of e-mails (notifications): required in production.
PARCOURS_BASE_URL = env_str("PARCOURS_BASE_URL", "" if PRODUCTION else "http://127.0.0.1:8000").rstrip("/")
if PRODUCTION and not PARCOURS_BASE_URL.startswith("https://"):
    raise ImproperlyConfigured("PARCOURS_BASE_URL (https://...) is required with PARCOURS_ENV=production.")
# Demo accounts' password (seed_demo); the seed refuses to run in production.
DEMO_PASSWORD = env_str("DEMO_PASSWORD", "parcours-demo")

# Celery: a broker URL (redis://127.0.0.1:6379/0) sends tasks to a worker; without one, tasks run
# eagerly in the web process, which is fine for a laptop and refused in production.
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "")
if PRODUCTION and not CELERY_BROKER_URL:
    raise ImproperlyConfigured("CELERY_BROKER_URL is required with PARCOURS_ENV=production.")
CELERY_RESULT_BACKEND = env_str("CELERY_RESULT_BACKEND", CELERY_BROKER_URL) or None
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Longer than the longest task: a task not acknowledged within it is delivered again.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 4 * 3600, minimum=60)}
CELERY_RESULT_EXPIRES = timedelta(days=1)
CELERY_TIMEZONE = TIME_ZONE
# Periodic tasks (run `celery -A config beat` beside the worker, see docs/operations.md).
CELERY_BEAT_SCHEDULE = {
    "purge-expired-grants": {"task": "casework.tasks.purge_expired_grants", "schedule": timedelta(hours=1)},
    "purge-expired-audit-events": {
        "task": "casework.tasks.purge_expired_audit_events",
        "schedule": timedelta(hours=6),
    },
    "sweep-audit-exports": {"task": "casework.tasks.sweep_audit_exports", "schedule": timedelta(minutes=5)},
    # Covers during an absence (intérim): notices when one starts or ends (access follows the dates).
    "update-covers": {"task": "casework.supervision_tasks.covers_update", "schedule": timedelta(minutes=15)},
    # Imports of the CAF/MSA files: enqueue again those a lost message or a dead worker left behind.
    "sweep-imports": {"task": "casework.import_tasks.sweep_imports", "schedule": timedelta(minutes=5)},
    "delete-expired-audit-exports": {
        "task": "casework.tasks.delete_expired_audit_exports",
        "schedule": timedelta(hours=1),
    },
}

# The cache (Django's cache framework), which holds the sessions: Redis in production, at CACHE_URL, by
# default the Celery broker's Redis server with the next database index (/1 when the broker is /0); never
# the broker's own database, whose queues a clear of the cache would empty. Local memory on a developer's
# machine unless CACHE_URL is set (and in the tests, config/settings/test.py).
_BROKER_REDIS = (
    redis_url("CELERY_BROKER_URL", CELERY_BROKER_URL)
    if CELERY_BROKER_URL.startswith(("redis://", "rediss://"))
    else ""
)
CACHE_URL = env_redis_url(
    "CACHE_URL",
    redis_url_with_database(_BROKER_REDIS, redis_database(_BROKER_REDIS)[2] + 1)
    if PRODUCTION and _BROKER_REDIS
    else "",
    apart_from=_BROKER_REDIS,
)
if PRODUCTION and not CACHE_URL:
    raise ImproperlyConfigured("CACHE_URL (redis://host:6379/1) is required with PARCOURS_ENV=production.")
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": CACHE_URL}
    if CACHE_URL
    else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
}

EMAIL_BACKEND = env_str(
    "EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend" if PRODUCTION else "django.core.mail.backends.console.EmailBackend",
)
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25, minimum=1)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", default=False)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "parcours@localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# Security headers; the HTTPS ones are on in production and pass `check --deploy`.
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
CSRF_COOKIE_HTTPONLY = True
if PRODUCTION:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 365 * 24 * 3600, minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", default=True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    if env_bool("SECURE_PROXY_SSL_HEADER", default=False):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Logs go to stderr; they never carry personal data (no request bodies, no beneficiary fields).
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"axes": {"level": "WARNING"}},
}
