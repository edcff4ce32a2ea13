"""Creator settings: one module, every value from the environment.

Unset variables fall back to the *embedded default* (SPEC §2): SQLite, local
media, a Celery broker on the local filesystem, the local inbox folder and the
bundled development ComfyUI server. Production sets the variables listed in the
README and `manage.py check --deploy` is clean.
"""

import base64
import hashlib
from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
# Everything the embedded default writes at run time lives under var/ (ignored by git).
VAR_DIR = Path(environ.Env().str("VAR_DIR", default=str(BASE_DIR / "var")))

env = environ.Env()

DEBUG = env.bool("DEBUG", default=True)

SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    SECRET_KEY = "insecure-development-key-only-for-debug-mode-" + "x" * 20

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.sites",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "django_celery_beat",
    "allauth",
    "allauth.account",
    "allauth.socialaccount",
    "allauth.socialaccount.providers.google",
    "djstripe",
    "accounts",
    "billing",
    "drive",
    "generations",
    "workflows",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",  # Content-Security-Policy, see the block at the end
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Before anything reads the request: NUL and other text PostgreSQL cannot
    # store, and bodies over the DATA_UPLOAD_* limits, are a 400 here.
    "creator_site.request_guard.RequestGuardMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "creator_site.middleware.DomainErrorMiddleware",
]

ROOT_URLCONF = "creator_site.urls"
WSGI_APPLICATION = "creator_site.wsgi.application"
ASGI_APPLICATION = "creator_site.asgi.application"
SITE_ID = 1

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
                "creator_site.context_processors.site",
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    # Web, worker and beat share one file: WAL lets readers run beside the
    # writer, IMMEDIATE takes the write lock at BEGIN (no deadlock-prone lock
    # upgrades) and the busy timeout makes a second writer wait, not fail.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("DB_CONN_MAX_AGE", default=60))
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache and Celery ---------------------------------------------------------

REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "creator_site.cache.ReusingRedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", default="creator"),
        }
    }
else:
    # Embedded default: the cache must be shared by web and worker (progress,
    # rate limits), so it lives in the SQLite-friendly file cache.
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
        }
    }

BROKER_DIR = VAR_DIR / "broker"
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL or "filesystem://")
CELERY_BROKER_TRANSPORT_OPTIONS: dict = {}
if CELERY_BROKER_URL.startswith("filesystem://"):
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR / "queue"),
        "data_folder_out": str(BROKER_DIR / "queue"),
        "processed_folder": str(BROKER_DIR / "processed"),
        "store_processed": False,
    }
elif CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    # An unacknowledged message comes back after this long. It must exceed the
    # longest job, or a slow job is delivered twice (the claim makes the second
    # delivery a no-op, but it still costs a worker slot).
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=2 * 60 * 60),
    }
# Tests give each session its own queue, so no other worker can take its jobs.
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_TASK_DEFAULT_QUEUE", default="celery")
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_TRACK_STARTED = False
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=60 * 60)
CELERY_TASK_SOFT_TIME_LIMIT = CELERY_TASK_TIME_LIMIT - 60
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Workers log through LOGGING below (job and user ids included), not Celery's own format.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_WORKER_REDIRECT_STDOUTS = False
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TIMEZONE = "UTC"

# --- Auth and accounts ---------------------------------------------------------

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    # Accepted so imported accounts can log in; upgraded to Argon2 on login.
    "django.contrib.auth.hashers.BCryptSHA256PasswordHasher",
    "django.contrib.auth.hashers.BCryptPasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
PASSWORD_RESET_TIMEOUT = 60 * 60  # reset links are valid for one hour
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "dashboard"
ACCOUNT_LOGOUT_REDIRECT_URL = "landing"

ACCOUNT_ADAPTER = "accounts.adapters.AccountAdapter"
SOCIALACCOUNT_ADAPTER = "accounts.adapters.SocialAccountAdapter"
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_PREVENT_ENUMERATION = True
ACCOUNT_EMAIL_VERIFICATION = env.str("ACCOUNT_EMAIL_VERIFICATION", default="mandatory")
ACCOUNT_CONFIRM_EMAIL_ON_GET = False
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_LOGIN_ON_PASSWORD_RESET = False
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[Creator] "
ACCOUNT_DEFAULT_HTTP_PROTOCOL = "http" if DEBUG else "https"
# allauth's built-in limits, backed by the shared cache.
ACCOUNT_RATE_LIMITS = {
    "login_failed": env.str("LOGIN_FAILED_RATE_LIMIT", default="10/m/ip,5/5m/key"),
    "login": "30/m/ip",
    "signup": "20/m/ip",
    "reset_password": "20/m/ip,5/m/key",
    "reset_password_from_key": "20/m/ip",
    "confirm_email": "1/3m/key",
}

GOOGLE_CLIENT_ID = env.str("GOOGLE_CLIENT_ID", default="")
GOOGLE_CLIENT_SECRET = env.str("GOOGLE_CLIENT_SECRET", default="")
SOCIALACCOUNT_EMAIL_AUTHENTICATION = True
SOCIALACCOUNT_EMAIL_AUTHENTICATION_AUTO_CONNECT = True
SOCIALACCOUNT_STORE_TOKENS = False  # Drive tokens are kept encrypted by the drive app
SOCIALACCOUNT_PROVIDERS = {
    "google": {
        "SCOPE": ["openid", "email", "profile"],
        "AUTH_PARAMS": {"access_type": "online"},
        "OAUTH_PKCE_ENABLED": True,
        **(
            {"APPS": [{"client_id": GOOGLE_CLIENT_ID, "secret": GOOGLE_CLIENT_SECRET, "key": ""}]}
            if GOOGLE_CLIENT_ID
            else {}
        ),
    }
}

# --- Email ---------------------------------------------------------------------

_email = env.email_url("EMAIL_URL", default="consolemail://")
EMAIL_BACKEND = _email["EMAIL_BACKEND"]
EMAIL_HOST = _email.get("EMAIL_HOST") or "localhost"
EMAIL_PORT = _email.get("EMAIL_PORT") or 25
EMAIL_HOST_USER = _email.get("EMAIL_HOST_USER") or ""
EMAIL_HOST_PASSWORD = _email.get("EMAIL_HOST_PASSWORD") or ""
EMAIL_USE_TLS = bool(_email.get("EMAIL_USE_TLS", False))
EMAIL_USE_SSL = bool(_email.get("EMAIL_USE_SSL", False))
EMAIL_FILE_PATH = _email.get("EMAIL_FILE_PATH") or None
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Creator <no-reply@creator.local>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- Files ---------------------------------------------------------------------

STATIC_URL = "/static/"
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(VAR_DIR / "static")))
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(VAR_DIR / "media")))

AWS_STORAGE_BUCKET_NAME = env.str("AWS_STORAGE_BUCKET_NAME", default="")
AWS_S3_ENDPOINT_URL = env.str("AWS_S3_ENDPOINT_URL", default="") or None
AWS_S3_REGION_NAME = env.str("AWS_S3_REGION_NAME", default="") or None
AWS_ACCESS_KEY_ID = env.str("AWS_ACCESS_KEY_ID", default="") or None
AWS_SECRET_ACCESS_KEY = env.str("AWS_SECRET_ACCESS_KEY", default="") or None
AWS_QUERYSTRING_AUTH = True  # users reach files only through signed URLs
AWS_QUERYSTRING_EXPIRE = env.int("SIGNED_URL_MAX_AGE", default=60 * 60)
AWS_DEFAULT_ACL = None
AWS_S3_FILE_OVERWRITE = False
SIGNED_URL_MAX_AGE = AWS_QUERYSTRING_EXPIRE

STORAGES = {
    "default": (
        {"BACKEND": "storages.backends.s3.S3Storage"}
        if AWS_STORAGE_BUCKET_NAME
        else {"BACKEND": "django.core.files.storage.FileSystemStorage"}
    ),
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
# Request bodies without their files (images are checked against
# UPLOAD_MAX_BYTES below); request_guard answers overruns in the API's shape.
DATA_UPLOAD_MAX_MEMORY_SIZE = 12 * 1024 * 1024
DATA_UPLOAD_MAX_NUMBER_FIELDS = 1000
DATA_UPLOAD_MAX_NUMBER_FILES = 100
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024

# --- Product settings ----------------------------------------------------------

COMFYUI_URL = env.str("COMFYUI_URL", default="")
COMFYUI_CONNECT_TIMEOUT = env.float("COMFYUI_CONNECT_TIMEOUT", default=5)
COMFYUI_SILENCE_TIMEOUT = env.float("COMFYUI_SILENCE_TIMEOUT", default=60)
COMFYUI_TOTAL_TIMEOUT = env.float("COMFYUI_TOTAL_TIMEOUT", default=1800)
UPLOAD_MAX_BYTES = env.int("UPLOAD_MAX_BYTES", default=10 * 1024 * 1024)
UPLOAD_MAX_PIXELS = env.int("UPLOAD_MAX_PIXELS", default=40_000_000)
# Seconds to wait before retry 1, 2, … of a job after a transient failure.
GENERATION_RETRY_BACKOFF = env.list("GENERATION_RETRY_BACKOFF", cast=float, default=[2, 10, 30])
# A processing job whose worker has not written for this long is requeued.
GENERATION_STALE_SECONDS = env.float("GENERATION_STALE_SECONDS", default=600)
PROGRESS_WRITE_INTERVAL = env.float("PROGRESS_WRITE_INTERVAL", default=0.5)
# A job that finds every server busy asks again after this many seconds.
QUEUE_WAIT_SECONDS = env.float("QUEUE_WAIT_SECONDS", default=2)
INBOX_DIR = Path(env.str("INBOX_DIR", default=str(BASE_DIR / "inbox")))
TRIAL_DAYS = env.int("TRIAL_DAYS", default=7)
API_KEY_LAST_USED_RESOLUTION = timedelta(minutes=1)
# Where workflows gets the ComfyUI node catalogue it validates graphs against
# (a function returning `/object_info` or None). The engine owns the servers
# and imports workflows, so the site wires the reverse link here.
WORKFLOWS_OBJECT_INFO = "generations.servers.comfyui_object_info"

STRIPE_LIVE_MODE = env.bool("STRIPE_LIVE_MODE", default=False)
STRIPE_SECRET_KEY = env.str("STRIPE_SECRET_KEY", default="")
STRIPE_PUBLISHABLE_KEY = env.str("STRIPE_PUBLISHABLE_KEY", default="")
if env.str("STRIPE_API_HOST", default=""):
    # Only for tests and local stand-ins; dj-stripe warns when it is set.
    STRIPE_API_HOST = env.str("STRIPE_API_HOST")
# Recurring Stripe price per plan; overrides Plan.stripe_price_id in the admin.
STRIPE_PRICE_CREATOR = env.str("STRIPE_PRICE_CREATOR", default="")
STRIPE_PRICE_STUDIO = env.str("STRIPE_PRICE_STUDIO", default="")
DJSTRIPE_FOREIGN_KEY_TO_FIELD = "id"
# One generated migration instead of dj-stripe's long history: see that module.
MIGRATION_MODULES = {"djstripe": "billing.djstripe_migrations"}
DJSTRIPE_USE_NATIVE_JSONFIELD = True
DJSTRIPE_WEBHOOK_VALIDATION = "verify_signature"

# --- Watched folders (drive) -----------------------------------------------------

DRIVE_SCOPES = env.list("DRIVE_SCOPES", default=["https://www.googleapis.com/auth/drive"])
# Comma-separated Fernet keys, newest first (rotate: prepend, run
# `manage.py drive_reencrypt`, then drop the old key).
TOKEN_ENCRYPTION_KEYS = env.str("TOKEN_ENCRYPTION_KEYS", default="")
if not TOKEN_ENCRYPTION_KEYS:
    if not DEBUG:
        raise ImproperlyConfigured("TOKEN_ENCRYPTION_KEYS must be set when DEBUG is off.")
    # Development only: a key derived from SECRET_KEY, so `make run` needs no setup.
    TOKEN_ENCRYPTION_KEYS = base64.urlsafe_b64encode(
        hashlib.sha256(("drive-tokens:" + SECRET_KEY).encode()).digest()
    ).decode()
DRIVE_POLL_SECONDS = env.int("DRIVE_POLL_SECONDS", default=30)
DRIVE_POLL_FAST_SECONDS = env.int("DRIVE_POLL_FAST_SECONDS", default=10)
DRIVE_POLL_MAX_SECONDS = env.int("DRIVE_POLL_MAX_SECONDS", default=300)
DRIVE_BACKOFF_MAX_SECONDS = env.int("DRIVE_BACKOFF_MAX_SECONDS", default=3600)
DRIVE_RECONCILE_SECONDS = env.int("DRIVE_RECONCILE_SECONDS", default=3600)
# How often beat runs drive.tasks.polls_enqueue_due (the schedule migration
# drive 0002 creates; keep the two equal): polls are scheduled on its ticks.
DRIVE_POLL_TICK_SECONDS = env.float("DRIVE_POLL_TICK_SECONDS", default=3)
DRIVE_POLL_BATCH_SIZE = env.int("DRIVE_POLL_BATCH_SIZE", default=50)
DRIVE_POLL_CHUNK = env.int("DRIVE_POLL_CHUNK", default=20)
DRIVE_POLL_RECORD_DAYS = env.int("DRIVE_POLL_RECORD_DAYS", default=14)
DRIVE_API_ENDPOINT = env.str("DRIVE_API_ENDPOINT", default="")  # stand-ins only
GOOGLE_TOKEN_URI = env.str("GOOGLE_TOKEN_URI", default="")  # stand-ins only
GOOGLE_REVOKE_URI = env.str("GOOGLE_REVOKE_URI", default="")  # stand-ins only
DRIVE_TIMEOUT_SECONDS = env.float("DRIVE_TIMEOUT_SECONDS", default=30)
DRIVE_RETRY_DELAY_SECONDS = env.float("DRIVE_RETRY_DELAY_SECONDS", default=0.5)
# A poll or a delivery whose worker died is taken over after this long.
DRIVE_POLL_LEASE_SECONDS = env.int("DRIVE_POLL_LEASE_SECONDS", default=600)
DRIVE_DELIVERY_LEASE_SECONDS = env.int("DRIVE_DELIVERY_LEASE_SECONDS", default=600)
INBOX_ENABLED = env.bool("INBOX_ENABLED", default=DEBUG)
INBOX_POLL_SECONDS = env.float("INBOX_POLL_SECONDS", default=3)
# A file is taken once nothing has written to it for this long.
INBOX_STABLE_SECONDS = env.float("INBOX_STABLE_SECONDS", default=0.5)

# --- REST framework ------------------------------------------------------------

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "creator_site.api_errors.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
# Public API: requests per API key (per user for session calls) and
# job-creating requests per account, by tier.
API_REQUEST_RATES = {
    "free": env.str("API_RATE_FREE", default="60/min"),
    "creator": env.str("API_RATE_CREATOR", default="300/min"),
    "studio": env.str("API_RATE_STUDIO", default="1200/min"),
}
API_JOB_RATES = {
    "free": env.str("API_JOB_RATE_FREE", default="10/hour"),
    "creator": env.str("API_JOB_RATE_CREATOR", default="200/hour"),
    "studio": env.str("API_JOB_RATE_STUDIO", default="1000/hour"),
}
API_SYNC_WAIT_DEFAULT = env.int("API_SYNC_WAIT_DEFAULT", default=60)
API_SYNC_WAIT_MAX = env.int("API_SYNC_WAIT_MAX", default=120)
IMAGE_URL_TIMEOUT = env.float("IMAGE_URL_TIMEOUT", default=15.0)

SPECTACULAR_SETTINGS = {
    "TITLE": "Creator API",
    "DESCRIPTION": "Run AI image workflows on ComfyUI from your own code.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI and ReDoc served from our static files, not a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# --- Security ------------------------------------------------------------------

SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 60 * 60 * 24 * 365)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
# /health and /ready are probed over plain HTTP inside the cluster.
SECURE_REDIRECT_EXEMPT = [r"^health$", r"^ready$", r"^metrics$"]

# --- Notifications and outbound HTTP ---------------------------------------------
# Private/loopback destinations outbound requests (webhooks, image URLs) may still
# reach: IPs, networks or host:port ("10.0.0.5", "10.0.0.0/24", "127.0.0.1:8123").
# Leave empty in production.
OUTBOUND_ALLOWED_HOSTS = env.list("OUTBOUND_ALLOWED_HOSTS", default=[])
# Seconds before webhook retry 1, 2, …; after the last one the event is given up.
WEBHOOK_RETRY_DELAYS = env.list(
    "WEBHOOK_RETRY_DELAYS", cast=float, default=[10, 60, 300, 1800, 7200]
)
# Seconds one webhook attempt may take in all (connect, send, answer).
WEBHOOK_TIMEOUT = env.float("WEBHOOK_TIMEOUT", default=15)

# Prometheus scrapes /metrics with `Authorization: Bearer <METRICS_TOKEN>`.
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {
            "()": "creator_site.logs.ContextFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s %(message)s",
        },
        "json": {"()": "creator_site.logs.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            # LOG_FORMAT=json for log pipelines; plain lines otherwise.
            "formatter": env.str("LOG_FORMAT", default="plain"),
        }
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# --- Content-Security-Policy (django-csp) ------------------------------------------

from csp.constants import NONCE, NONE, SELF, UNSAFE_INLINE  # noqa: E402

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        # Scripts only from our static files. A page that must run an inline
        # script gives it nonce="{{ request.csp_nonce }}" (the API docs do);
        # the nonce is sent only on pages that use it.
        "script-src": [SELF, NONCE],
        # Inline styles stay allowed: templates size progress bars with
        # style="width: N%", htmx and ReDoc add <style> elements, and the 500
        # page (rendered without a request, so without a nonce) has its own.
        # CSS cannot run script; script-src is what this policy is for.
        "style-src": [SELF, UNSAFE_INLINE],
        # https: for avatars (any https URL the user gives) and presigned
        # S3 links to results; data: for Bootstrap's and Swagger UI's icons.
        "img-src": [SELF, "data:", "https:"],
        "font-src": [SELF, "data:"],
        "connect-src": [SELF],
        # ReDoc runs its search index in a worker it creates from a blob: URL.
        "worker-src": [SELF, "blob:"],
        "object-src": [NONE],
        "base-uri": [SELF],
        "frame-ancestors": [NONE],
        # No form-action: browsers apply it to the redirect after a POST, and
        # signing in with Google and paying with Stripe redirect off-site.
    },
}
