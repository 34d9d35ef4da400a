"""Settings for MetaGen, read from the environment by one django-environ reader.

With no environment at all this is the embedded default of DESIGN.md (SQLite, local-disk object
storage, Celery over its filesystem transport), which is what the README's run command uses.
Production sets the variables listed in README.md (docker-compose.yml wires every one of them).
"""

from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import environ
from botocore.config import Config as BotoConfig
from csp.constants import NONE, SELF
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()

DEBUG = env.bool("DJANGO_DEBUG", default=False)
# A development key is only acceptable while DEBUG is on; production must set its own.
SECRET_KEY = (
    env.str("DJANGO_SECRET_KEY", default="insecure-development-key-never-use-in-production")
    if DEBUG
    else env.str("DJANGO_SECRET_KEY")
)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])
# Releases freeze this address into their citation, datasheet and croissant.json: production
# must name it (metagen.checks, releases.services.release_site_url_problem).
SITE_URL_EXPLICIT = bool(env.str("SITE_URL", default=""))
SITE_URL = env.str("SITE_URL", default="") or "http://localhost:8000"

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
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "allauth",
    "allauth.account",
    "axes",
    "csp",
    "metagen",
    "accounts",
    "consent",
    "donations",
    "processing",
    "releases",
    "rewards",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_permissions_policy.PermissionsPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    # Last, as axes requires: turns a lockout flagged during authentication into its response.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "metagen.urls"
WSGI_APPLICATION = "metagen.wsgi.application"
ASGI_APPLICATION = "metagen.asgi.application"

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
                "django.template.context_processors.i18n",
                "accounts.context_processors.roles",
                "consent.context_processors.consent_renewal",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'metagen.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    # The web process and the worker process share the file: WAL lets them read while one
    # writes, and IMMEDIATE transactions wait for the lock instead of failing mid-way.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

CACHES = {"default": env.cache_url("CACHE_URL", default="locmemcache://")}
if CACHES["default"]["BACKEND"] == "django.core.cache.backends.redis.RedisCache":
    # A Redis outage is a cache miss, not a 500 (metagen/cache.py); short socket timeouts so
    # an unreachable Redis costs a page milliseconds, not the client's default wait.
    CACHES["default"]["BACKEND"] = "metagen.cache.TolerantRedisCache"
    CACHES["default"].setdefault("OPTIONS", {}).update(
        {"socket_connect_timeout": 1, "socket_timeout": 1}
    )

# --- Accounts -------------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    # First: refuses any authentication while the account or address is locked out (axes).
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "donations:dashboard"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_CONFIRM_EMAIL_ON_GET = False
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[MetaGen] "
ACCOUNT_DEFAULT_HTTP_PROTOCOL = env.str("ACCOUNT_DEFAULT_HTTP_PROTOCOL", default="http")
# allauth's limits on its own forms, on the shared (Redis) cache so every web process counts the
# same attempts; format "<count>/<period>/<key>". Failed sign-ins per account are limited for
# every login surface by django-axes (see "Security headers / login limits" below).
ACCOUNT_RATE_LIMITS = {
    "login_failed": env.str("ACCOUNT_RATE_LIMIT_LOGIN_FAILED", default="10/m/ip"),
    "login": "30/m/ip",
    "signup": "20/m/ip",
    "reset_password": "20/m/ip,5/m/key",
    "confirm_email": "1/3m/key",
}

vars().update(env.email_url("EMAIL_URL", default="consolemail://"))
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="MetaGen <noreply@metagen.invalid>")

# --- Internationalisation -------------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Static files and object storage --------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]

STORAGE_BACKEND = env.str("STORAGE_BACKEND", default="local")
if STORAGE_BACKEND == "s3":
    _object_storage = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": env.str("AWS_STORAGE_BUCKET_NAME"),
            "endpoint_url": env.str("AWS_S3_ENDPOINT_URL", default=None),
            "access_key": env.str("AWS_ACCESS_KEY_ID"),
            "secret_key": env.str("AWS_SECRET_ACCESS_KEY"),
            "region_name": env.str("AWS_S3_REGION_NAME", default="us-east-1"),
            "addressing_style": "path",
            "signature_version": "s3v4",
            # Keys are server-generated; a collision is a bug, never a reason to rename.
            "file_overwrite": True,
            "querystring_expire": 300,
            # Fail fast when storage is unreachable instead of holding a web worker for minutes.
            "client_config": BotoConfig(
                connect_timeout=5, read_timeout=60, retries={"max_attempts": 3, "mode": "standard"}
            ),
        },
    }
elif STORAGE_BACKEND == "local":
    _object_storage = {
        "BACKEND": "metagen.storage.LocalObjectStorage",
        "OPTIONS": {"location": env.path("OBJECT_STORAGE_ROOT", default=VAR_DIR / "objects")},
    }
else:
    raise environ.ImproperlyConfigured("STORAGE_BACKEND must be 'local' or 's3'.")

STORAGES = {
    "default": _object_storage,
    "staticfiles": {
        "BACKEND": env.str(
            "STATICFILES_BACKEND",
            default="django.contrib.staticfiles.storage.StaticFilesStorage",
        )
    },
}
# Uploads are spooled to disk past this size, so a large body never sits in a web process's memory.
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
MAX_UPLOAD_BYTES = env.int("MAX_UPLOAD_BYTES", default=4 * 1024 * 1024 * 1024)
# Resumable uploads (donations/uploads.py). Browsers send parts of exactly this size (S3 needs at
# least 5 MiB for all parts but the last), so one part is the largest body a web process sees.
UPLOAD_PART_SIZE = env.int("UPLOAD_PART_SIZE", default=8 * 1024 * 1024)
# An upload session left open this long is aborted and its donation marked abandoned.
UPLOAD_SESSION_TTL_HOURS = env.int("UPLOAD_SESSION_TTL_HOURS", default=24)
# Raw uploads of rejected donations are deleted this many days after the rejection (README).
REJECTED_RAW_RETENTION_DAYS = env.int("REJECTED_RAW_RETENTION_DAYS", default=30)
# Presigned part URLs (S3) and signed part URLs (local disk) are valid this long.
UPLOAD_PART_URL_EXPIRES_S = env.int("UPLOAD_PART_URL_EXPIRES_S", default=15 * 60)
# Read at request time (donations/api.py UploadRateThrottle), so they can be tuned per deployment.
UPLOAD_THROTTLE_RATES = {
    "upload_open": env.str("UPLOAD_THROTTLE_OPEN", default="30/hour"),
    "upload_part": env.str("UPLOAD_THROTTLE_PART", default="1200/minute"),
}

# --- Celery ---------------------------------------------------------------------------------
# Hard time limits of the long tasks (soft limit + a minute to clean up), read by the tasks, the
# broker's visibility timeout and the sweepers.
PROCESSING_SOFT_TIME_LIMIT = env.int("PROCESSING_SOFT_TIME_LIMIT", default=15 * 60)
PROCESSING_TIME_LIMIT = PROCESSING_SOFT_TIME_LIMIT + 60
RELEASE_SHARD_SOFT_TIME_LIMIT = 60 * 60  # one shard, and the final metadata task
RELEASE_SHARD_TIME_LIMIT = RELEASE_SHARD_SOFT_TIME_LIMIT + 120
RETRY_COUNTDOWN_MAX_S = 600  # the longest wait before a retry (metagen.faults.retry_countdown)
TASK_LONGEST_HOLD_S = max(PROCESSING_TIME_LIMIT, RELEASE_SHARD_TIME_LIMIT) + RETRY_COUNTDOWN_MAX_S
# Stuck work (beat sweepers, every SWEEP_INTERVAL_S): a donation `uploaded`, an accepted donation
# without its award, a withdrawn donation whose objects are not deleted, or a draft release, that
# waited longer than STUCK_GRACE_S; or a donation `processing` (a release `building`) with no
# progress for its task's hard time limit plus STUCK_GRACE_S. Each is queued again.
SWEEP_INTERVAL_S = env.int("SWEEP_INTERVAL_S", default=5 * 60)
STUCK_GRACE_S = env.int("STUCK_GRACE_S", default=5 * 60)
# An accepted donation is checked for its award this long after acceptance; older misses are
# found by `manage.py sweep --lookback-s N` (the sweep stays index-bounded at a million donations).
SWEEP_LOOKBACK_S = env.int("SWEEP_LOOKBACK_S", default=7 * 24 * 60 * 60)

CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    _broker_dir = VAR_DIR / "broker"
    for _folder in ("queue", "control"):  # the transport does not create its folders
        (_broker_dir / _folder).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        # Redis hands an unacknowledged message (acks_late) to another worker after this long,
        # so it must exceed the longest a worker may hold one: the longest hard time limit plus
        # the longest retry countdown (a retried task waits in its worker, unacknowledged).
        # A message whose worker was killed (kill -9 of the main process) comes back only after
        # it too, which is why the beat sweepers re-queue stuck work much sooner (STUCK_GRACE_S).
        "visibility_timeout": TASK_LONGEST_HOLD_S + 60 * 60,
        # A broker that does not answer fails a publish in seconds, not minutes.
        "socket_connect_timeout": 3,
        "socket_timeout": 10,
    }
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_TASK_DEFAULT_QUEUE", default="metagen")
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# Publishing a task retries briefly, then gives up (metagen/queueing.py logs it; a sweeper sends
# it again), so a request never waits long on a broker that is down.
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 2,
    "interval_start": 0,
    "interval_step": 0.5,
    "interval_max": 1,
}
CELERY_BROKER_CONNECTION_TIMEOUT = 3
CELERY_BEAT_SCHEDULE = {
    "abort-abandoned-uploads": {
        "task": "donations.abort_abandoned_uploads",
        "schedule": 60 * 60,
    },
    "purge-rejected-raw": {
        "task": "donations.purge_rejected_raw",
        "schedule": 60 * 60,
    },
    # Sweepers: each finds work whose message was lost (broker down at the commit, worker
    # killed) and queues it again. Idempotent, batched and index-backed.
    "sweep-stuck-donations": {
        "task": "processing.sweep_stuck_donations",
        "schedule": SWEEP_INTERVAL_S,
    },
    "sweep-withdrawn-objects": {
        "task": "donations.sweep_withdrawn_objects",
        "schedule": SWEEP_INTERVAL_S,
    },
    "sweep-stuck-releases": {
        "task": "releases.sweep_stuck_releases",
        "schedule": SWEEP_INTERVAL_S,
    },
    "sweep-missing-awards": {
        "task": "rewards.sweep_missing_awards",
        "schedule": SWEEP_INTERVAL_S,
    },
}

# --- API ------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    # Token first: its WWW-Authenticate challenge makes a missing or bad token a 401 (the first
    # class decides). A browser session still signs in, and its writes still need CSRF.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": [
        "metagen.rest.BoundedJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "EXCEPTION_HANDLER": "metagen.rest.api_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "metagen.schema.ApiAutoSchema",
    "DEFAULT_PAGINATION_CLASS": "metagen.rest.ApiPagination",
    "PAGE_SIZE": 50,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "MetaGen API",
    "DESCRIPTION": "Donate VR motion recordings, follow their processing, and download releases.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI served from the sidecar package: no CDN at run time.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # What the URL converters match, so clients (and the schema fuzz test) see the real bounds.
    "PATH_CONVERTER_OVERRIDES": {
        "int": {"type": "integer", "minimum": 0},
        "slug": {"type": "string", "pattern": "^[-a-zA-Z0-9_]+$"},
    },
    "ENUM_NAME_OVERRIDES": {
        "DonationStatusEnum": "donations.models.DonationStatus",
        "ReleaseStatusEnum": "releases.models.Release.Status",
        "FileKindEnum": "donations.models.DonationFile.Kind",
        "LedgerEntryKindEnum": "rewards.models.LedgerEntry.Kind",
        "PayoutStatusEnum": "rewards.models.PayoutRequest.Status",
    },
}

# --- Security -------------------------------------------------------------------------------
# DJANGO_HTTPS=true in production (behind a TLS-terminating proxy that sets X-Forwarded-Proto).
HTTPS = env.bool("DJANGO_HTTPS", default=False)
SECURE_SSL_REDIRECT = HTTPS
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_HSTS_SECONDS = 60 * 60 * 24 * 365 if HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
SECURE_HSTS_PRELOAD = HTTPS
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if HTTPS else None
# Orchestrators probe health over plain HTTP inside the network.
SECURE_REDIRECT_EXEMPT = [r"^health/$"]
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True

# --- Security headers / login limits -------------------------------------------------------
# django-axes counts failed authentications on every login surface (the site's and the admin's)
# in the database: after LOGIN_FAILURE_LIMIT failures for one account, or from one client
# address, further sign-ins there are refused (429) until LOGIN_LOCKOUT_MINUTES pass without a
# failure. The client address is allauth's (DJANGO_TRUSTED_PROXY_COUNT proxies in front are
# trusted to append to X-Forwarded-For); behind a proxy it must be set, or every client shares
# the proxy's address and one person's failures lock everyone out.
ALLAUTH_TRUSTED_PROXY_COUNT = env.int("DJANGO_TRUSTED_PROXY_COUNT", default=0)
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("LOGIN_LOCKOUT_MINUTES", default=5))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_USERNAME_CALLABLE = "accounts.login_limits.login_username"
AXES_CLIENT_IP_CALLABLE = "accounts.login_limits.client_ip"
AXES_CLIENT_STR_CALLABLE = "accounts.login_limits.client_str"
AXES_LOCKOUT_CALLABLE = "accounts.login_limits.lockout_response"
# Only failed attempts are kept (and only until they expire); successful sign-ins are not logged.
AXES_DISABLE_ACCESS_LOG = True
AXES_VERBOSE = False

# Content-Security-Policy (django-csp) on every response: scripts, styles and everything else
# from the site itself only, no inline script or style anywhere (the API docs load Swagger UI's
# init script as a file: SpectacularSwaggerSplitView). Browsers PUT upload parts straight to the
# object storage endpoint, so its origin may be connected to. data: images are Swagger UI's icons.
if STORAGE_BACKEND == "s3":
    _endpoint = urlsplit(
        _object_storage["OPTIONS"]["endpoint_url"]
        or f"https://s3.{_object_storage['OPTIONS']['region_name']}.amazonaws.com"
    )
    _upload_origins = [f"{_endpoint.scheme}://{_endpoint.netloc}"]
else:
    _upload_origins = []
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF, *_upload_origins],
        "object-src": [NONE],
        "base-uri": [NONE],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}
# Permissions-Policy (django-permissions-policy): no page uses these browser features.
PERMISSIONS_POLICY: dict[str, list[str]] = {
    feature: []
    for feature in (
        "accelerometer",
        "camera",
        "display-capture",
        "geolocation",
        "gyroscope",
        "magnetometer",
        "microphone",
        "midi",
        "payment",
        "usb",
    )
}

# --- Logging: never personal data or file contents, so only ids and codes are logged --------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# --- Platform -------------------------------------------------------------------------------
# The data controller named in consent receipts (consent/receipts.py).
CONSENT_CONTROLLER_NAME = env.str("CONSENT_CONTROLLER_NAME", default="The MetaGen project")
CONSENT_CONTROLLER_CONTACT = env.str("CONSENT_CONTROLLER_CONTACT", default="Privacy team")
CONSENT_CONTROLLER_ADDRESS = env.str("CONSENT_CONTROLLER_ADDRESS", default="")
CONSENT_CONTROLLER_EMAIL = env.str("CONSENT_CONTROLLER_EMAIL", default="privacy@metagen.invalid")
CONSENT_CONTROLLER_PHONE = env.str("CONSENT_CONTROLLER_PHONE", default="")
CONSENT_CONTROLLER_URL = env.str("CONSENT_CONTROLLER_URL", default=SITE_URL)
CONSENT_JURISDICTION = env.str("CONSENT_JURISDICTION", default="EU (GDPR)")
# Passing faults (metagen/faults.py: storage, database, full disk) are retried this many
# times, waiting base * 2**attempt seconds (+ jitter).
PROCESSING_MAX_RETRIES = env.int("PROCESSING_MAX_RETRIES", default=5)
PROCESSING_RETRY_BACKOFF_S = env.float("PROCESSING_RETRY_BACKOFF_S", default=5.0)
# The same for each step of a release build (planning, a shard, the final files).
RELEASE_STEP_MAX_RETRIES = env.int("RELEASE_STEP_MAX_RETRIES", default=5)
RELEASE_RETRY_BACKOFF_S = env.float("RELEASE_RETRY_BACKOFF_S", default=5.0)

# --- Rewards (rewards/) ---------------------------------------------------------------------
# The smallest payout a donor can request, in credits.
REWARDS_PAYOUT_MINIMUM = env.int("REWARDS_PAYOUT_MINIMUM", default=100)
# The daily cap per donor a new reward rule carries unless it names its own (0: no default cap).
# 600 credits: ten minutes of accepted motion a day at the demo rule's 60 credits a minute, above
# the largest single award seen (472), so an honest session earns in full while a burst of
# uploads (near-duplicates, farmed recordings) earns at most one day's cap before anyone looks.
REWARDS_DAILY_CAP = env.int("REWARDS_DAILY_CAP", default=600)
# The public leaderboard by pseudonym: off unless enabled here, and then only donors who opt in.
REWARDS_LEADERBOARD_ENABLED = env.bool("REWARDS_LEADERBOARD_ENABLED", default=False)
