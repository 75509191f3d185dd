"""Waymark settings: one module, driven by environment variables.

With nothing set, Waymark runs on SQLite under var/ with kombu's filesystem broker, so a new
user needs nothing but Python. Production sets DEBUG=0, SECRET_KEY, ALLOWED_HOSTS, DATABASE_URL
(PostgreSQL) and CELERY_BROKER_URL (Redis or RabbitMQ).
"""

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("WAYMARK_VAR_DIR", BASE_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)


def env(name: str, default: str = "") -> str:
    """The variable's value; unset and empty both mean the default."""
    return os.environ.get(name) or default


def envbool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def envint(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default


def envlist(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in env(name, default).split(",") if item.strip()]


# --- Core -------------------------------------------------------------------------------------
DEBUG = envbool("DEBUG", True)
SECRET_KEY = env("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Production (DEBUG=0) refuses to start without one: "
            "set SECRET_KEY to a long random string (e.g. python -c 'import secrets; "
            "print(secrets.token_urlsafe(50))')."
        )
    SECRET_KEY = "waymark-dev-only-insecure-key-do-not-use-in-production"

ALLOWED_HOSTS = envlist("ALLOWED_HOSTS", "127.0.0.1,localhost" + (",testserver" if DEBUG else ""))
SITE_URL = env("SITE_URL", "http://127.0.0.1:8000").rstrip("/")
CSRF_TRUSTED_ORIGINS = envlist("CSRF_TRUSTED_ORIGINS", SITE_URL)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI and Redoc as static files: the API docs need no CDN
    "django_celery_beat",
    "anymail",
    "django_htmx",
    "template_partials",
    "contacts",
    "segments",
    "journeys",
    "channels",
    "events",
    "scoring",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
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
                "config.context_processors.navigation",
            ],
        },
    },
]

# --- Database ---------------------------------------------------------------------------------
DATABASE_URL = env("DATABASE_URL", f"sqlite:///{VAR_DIR / 'waymark.sqlite3'}")
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=envint("CONN_MAX_AGE", 0))}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web server read while the worker writes; IMMEDIATE serializes writers
    # (SQLite has no row locks), so claims behave like SELECT ... FOR UPDATE.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
elif envbool("DATABASE_POOL", False):
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
if env("CACHE_URL").startswith("redis://"):
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                          "LOCATION": env("CACHE_URL")}}

# --- Auth ---------------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# --- I18N, time -----------------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"  # django-celery-beat misfires when TIME_ZONE and CELERY_TIMEZONE differ
USE_I18N = True
USE_TZ = True

# --- Static and uploaded files --------------------------------------------------------------
STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env("STATIC_ROOT", str(VAR_DIR / "staticfiles")))
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env("MEDIA_ROOT", str(VAR_DIR / "media")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
DATA_UPLOAD_MAX_MEMORY_SIZE = envint("DATA_UPLOAD_MAX_MEMORY_SIZE", 10 * 1024 * 1024)
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

# --- Email ------------------------------------------------------------------------------------
EMAIL_BACKEND = env(
    "EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend"
    if env("EMAIL_HOST")
    else "django.core.mail.backends.console.EmailBackend",
)
EMAIL_HOST = env("EMAIL_HOST", "127.0.0.1")
EMAIL_PORT = envint("EMAIL_PORT", 25)
EMAIL_HOST_USER = env("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = envbool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = envbool("EMAIL_USE_SSL", False)
EMAIL_TIMEOUT = envint("EMAIL_TIMEOUT", 30)
# SMTP connections a send batch opens at once (one per 10 messages, up to this many).
WAYMARK_SMTP_CONNECTIONS = envint("WAYMARK_SMTP_CONNECTIONS", 4)
# Hosted providers (EMAIL_BACKEND=anymail.backends.<esp>.EmailBackend): their settings and the
# shared secret their webhooks authenticate with (https://anymail.dev).
ANYMAIL = {key.removeprefix("ANYMAIL_"): value for key, value in os.environ.items() if key.startswith("ANYMAIL_")}
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", "Waymark <noreply@localhost>")
SERVER_EMAIL = env("SERVER_EMAIL", DEFAULT_FROM_EMAIL)

# --- Celery -----------------------------------------------------------------------------------
CELERY_BROKER_URL = env("CELERY_BROKER_URL", "filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    _broker_dir = VAR_DIR / "broker"
    for _folder in ("queue", "processed", "control"):
        (_broker_dir / _folder).mkdir(parents=True, exist_ok=True)
    # data_folder_in and data_folder_out must be the same folder, or nothing is ever delivered.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
        "polling_interval": 0.1,
    }
elif CELERY_BROKER_URL.startswith("redis"):
    # Must exceed the longest task; journeys wait in the database, never in ETAs.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ALWAYS_EAGER = envbool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TASK_DEFAULT_QUEUE = env("CELERY_TASK_DEFAULT_QUEUE", "celery")  # web and workers must agree
# Celery closes database connections around every task unless this is set; config.celery closes
# them as requests do instead (CONN_MAX_AGE), so this only switches Celery's own closing off.
CELERY_DB_REUSE_MAX = 2**62
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_BEAT_SCHEDULE = {
    "every-2-seconds-journey-tick": {
        "task": "journeys.tasks.tick",
        "schedule": 2.0,
    },
    "every-15-seconds-enter-segment-journeys": {
        "task": "journeys.tasks.enter_segments",
        "schedule": 15.0,
    },
    "every-5-minutes-decide-ab-winners": {
        "task": "journeys.tasks.decide_ab_winners",
        "schedule": 300.0,
    },
    "every-minute-dispatch-pending-events": {
        "task": "journeys.tasks.dispatch_pending",
        "schedule": 60.0,
    },
    "every-minute-refresh-due-segments": {
        "task": "segments.tasks.refresh_due",
        "schedule": 60.0,
    },
    "every-5-seconds-send-queued-email": {
        "task": "channels.tasks.send_queued",
        "schedule": 5.0,
    },
    "every-minute-sweep-stale-email-claims": {
        "task": "channels.tasks.sweep_stale_claims",
        "schedule": 60.0,
    },
    "every-5-seconds-send-queued-webhooks": {
        "task": "channels.tasks.send_queued_webhooks",
        "schedule": 5.0,
    },
    "every-minute-sweep-stale-webhook-claims": {
        "task": "channels.tasks.sweep_stale_webhook_claims",
        "schedule": 60.0,
    },
    "every-minute-resume-stalled-imports": {
        "task": "contacts.tasks.resume_stalled_imports",
        "schedule": 60.0,
    },
}

# --- REST API ---------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "contacts.auth.APIKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["contacts.auth.ScopedModelPermissions"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.SearchFilter",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Waymark API",
    "DESCRIPTION": "People: contacts, leads, accounts, opportunities, interactions, tasks and sales queues, "
    "consent and topics, custom attributes and imports. Segments. Email: emails, content blocks, brand and "
    "sender profiles, deliveries, and outgoing webhooks (endpoints and their deliveries). Journeys: journeys, "
    "their runs and steps, and the journey settings. Triggers: the catalog, firing events, custom triggers "
    "and the trigger event log. Forms: web forms with their fields, consents and submissions, and landing "
    "pages. Authenticate with an API key: `Authorization: Api-Key <key>`.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # The docs pages load Swagger UI and Redoc from our static files, never from a CDN; and Swagger UI
    # does not send the schema to validator.swagger.io.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
}

# --- Waymark ----------------------------------------------------------------------------------
WAYMARK_IMPORT_CHUNK_SIZE = envint("WAYMARK_IMPORT_CHUNK_SIZE", 2000)
# Files with at most this many rows import inside the request; larger ones run in the worker.
WAYMARK_IMPORT_INLINE_ROWS = envint("WAYMARK_IMPORT_INLINE_ROWS", 1000)

# Continuous segments are re-checked person by person as people change; a full refresh this
# often catches what re-checks cannot see (time windows moving, segments they refer to).
WAYMARK_CONTINUOUS_FULL_REFRESH_SECONDS = envint("WAYMARK_CONTINUOUS_FULL_REFRESH_SECONDS", 900)

# Outgoing webhooks. They only go to public addresses; list internal hosts that may receive them
# (names, IPs or networks, e.g. "crm.internal,10.0.0.0/8,127.0.0.1").
WAYMARK_WEBHOOK_ALLOWED_HOSTS = envlist("WAYMARK_WEBHOOK_ALLOWED_HOSTS")
# Seconds to wait before each retry (jittered); a message fails after the last one.
WAYMARK_WEBHOOK_RETRY_SCHEDULE = [int(s) for s in envlist("WAYMARK_WEBHOOK_RETRY_SCHEDULE", "10,60,300,1800")]
WAYMARK_WEBHOOK_MAX_RETRY_AFTER = envint("WAYMARK_WEBHOOK_MAX_RETRY_AFTER", 86400)  # cap on a receiver's Retry-After
WAYMARK_WEBHOOK_CONCURRENCY = envint("WAYMARK_WEBHOOK_CONCURRENCY", 8)  # requests in flight per batch
WAYMARK_WEBHOOK_ROTATION_GRACE_HOURS = envint("WAYMARK_WEBHOOK_ROTATION_GRACE_HOURS", 24)
# PEM file of the certificate authorities trusted for https:// receivers (empty: the system's).
WAYMARK_WEBHOOK_CA_BUNDLE = env("WAYMARK_WEBHOOK_CA_BUNDLE")

# Triggers fired through the API: the fair-use rate per trigger key (a custom trigger's own limit
# wins). Shared across processes only with CACHE_URL=redis://….
WAYMARK_TRIGGER_RATE_PER_MINUTE = envint("WAYMARK_TRIGGER_RATE_PER_MINUTE", 60_000)

# Hosted forms: rate limits ("<count>/<s|m|h>"), body size, the shortest human fill time, an
# optional captcha verifier (dotted path to a callable taking the request) and, behind a proxy,
# the request header holding the client's address (e.g. HTTP_X_FORWARDED_FOR).
WAYMARK_FORM_RATE_PER_IP = env("WAYMARK_FORM_RATE_PER_IP", "10/m")
WAYMARK_FORM_RATE_PER_FORM = env("WAYMARK_FORM_RATE_PER_FORM", "600/m")
WAYMARK_FORM_MAX_BODY_BYTES = envint("WAYMARK_FORM_MAX_BODY_BYTES", 65536)
WAYMARK_FORM_MIN_FILL_SECONDS = envint("WAYMARK_FORM_MIN_FILL_SECONDS", 2)
WAYMARK_FORM_CAPTCHA_VERIFIER = env("WAYMARK_FORM_CAPTCHA_VERIFIER", "")
WAYMARK_CLIENT_IP_HEADER = env("WAYMARK_CLIENT_IP_HEADER", "")

# --- Security (production) --------------------------------------------------------------------
SESSION_COOKIE_SECURE = envbool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = envbool("CSRF_COOKIE_SECURE", not DEBUG)
SECURE_SSL_REDIRECT = envbool("SECURE_SSL_REDIRECT", not DEBUG)
SECURE_HSTS_SECONDS = envint("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = envbool("SECURE_HSTS_INCLUDE_SUBDOMAINS", not DEBUG)
SECURE_HSTS_PRELOAD = envbool("SECURE_HSTS_PRELOAD", not DEBUG)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
if envbool("SECURE_PROXY_SSL_HEADER", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
X_FRAME_OPTIONS = "DENY"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "INFO")},
}
