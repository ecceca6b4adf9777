"""Settings shared by every environment; values come from config.env only."""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured

from config import env
from config.dburl import InvalidDatabaseURL, parse_database_url

BASE_DIR = env.BASE_DIR
VAR_DIR = BASE_DIR / "var"

DEBUG = env.get_bool("SPMIS_DEBUG")
# Published with the source code: good for development and tests only. Production settings
# refuse it (config/settings/production.py).
DEVELOPMENT_SECRET_KEY = "dev-only-insecure-key-change-me-in-production-0123456789"
SECRET_KEY = env.get("SPMIS_SECRET_KEY", DEVELOPMENT_SECRET_KEY)
ALLOWED_HOSTS = env.get_list("SPMIS_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver")

try:
    DATABASES = {
        "default": parse_database_url(
            env.get("SPMIS_DATABASE_URL", "sqlite:///var/spmis.db"), base_dir=BASE_DIR
        )
    }
except InvalidDatabaseURL as exc:
    raise ImproperlyConfigured(str(exc)) from exc

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "access.User"

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "drf_spectacular",
    "spmis.core",
    "spmis.audit",
    "spmis.access",
    "spmis.geography",
    "spmis.intake",
    "spmis.registry",
    "spmis.schemes",
    "spmis.payments",
    "spmis.linkage",
    "spmis.indicators",
    "spmis.web",
]

MIDDLEWARE = [
    "spmis.access.middleware.ClientAddressMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "spmis.web.middleware.SecurityHeadersMiddleware",
    "spmis.core.middleware.RequestSizeMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "spmis.access.language.UserLanguageMiddleware",
    "spmis.access.middleware.AbsoluteSessionTimeoutMiddleware",
    "spmis.access.middleware.SecondFactorMiddleware",
    "spmis.access.ratelimit.RateLimitMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "spmis.core.middleware.ApplicationErrorMiddleware",
]
# Bounded input. A request body above this is refused (413) before anything reads it: the
# upload limit (spmis.intake.parsers.MAX_BYTES, 512 MB) and 1 MB for the form around it.
SPMIS_MAX_REQUEST_BYTES = 513 * 1024 * 1024
# Uploaded files above this are spooled to a temporary file, not held in memory (Django's
# default, said here because the upload path relies on it).
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
# JSON pushed to the API: at most this large (413 beyond; larger lists go as a file) and
# this deep (400 beyond; a push is a list of flat records).
SPMIS_API_JSON_MAX_BYTES = 16 * 1024 * 1024
SPMIS_API_JSON_MAX_DEPTH = 20

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "spmis.web.context.permissions",
            ]
        },
    }
]

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = ["spmis.access.auth.LockoutBackend"]
SPMIS_LOGIN_MAX_FAILURES = 5  # consecutive failed passwords or codes before the account locks
SPMIS_LOGIN_LOCK_MINUTES = 15
SPMIS_REQUIRE_MFA = env.get_bool("SPMIS_REQUIRE_MFA", default=True)
# Maker-checker on clerical review decisions: an approver confirms each one.
SPMIS_LINKAGE_CHECKER = env.get_bool("SPMIS_LINKAGE_CHECKER", default=False)
SPMIS_PARAMETERS_FILE = env.get("SPMIS_PARAMETERS_FILE", "")
# Rate limits, requests a minute (0: none), counted per process (spmis.access.ratelimit):
# sign-in per username typed and per client address; person search (page and API) and the
# whole API per user and per client address. Beyond them: 429 with Retry-After.
SPMIS_RATE_LOGIN_PER_USERNAME = env.get_int("SPMIS_RATE_LOGIN_PER_USERNAME", 10, minimum=0)
SPMIS_RATE_LOGIN_PER_ADDRESS = env.get_int("SPMIS_RATE_LOGIN_PER_ADDRESS", 60, minimum=0)
SPMIS_RATE_SEARCH_PER_USER = env.get_int("SPMIS_RATE_SEARCH_PER_USER", 60, minimum=0)
SPMIS_RATE_SEARCH_PER_ADDRESS = env.get_int("SPMIS_RATE_SEARCH_PER_ADDRESS", 300, minimum=0)
SPMIS_RATE_API_PER_USER = env.get_int("SPMIS_RATE_API_PER_USER", 600, minimum=0)
SPMIS_RATE_API_PER_ADDRESS = env.get_int("SPMIS_RATE_API_PER_ADDRESS", 1200, minimum=0)
# API tokens (`spmis token NAME`) stop working this many days after they are issued.
SPMIS_API_TOKEN_DAYS = env.get_int("SPMIS_API_TOKEN_DAYS", 90)
LOGIN_URL = "access:login"
LOGIN_REDIRECT_URL = "web:home"
LOGOUT_REDIRECT_URL = "access:login"

LANGUAGE_CODE = env.get("SPMIS_LANGUAGE_CODE", "en")
# The interface's languages, each named in itself (the switcher shows these names). Adding one:
# README "Languages". Catalogues in spmis/locale, compiled .mo files committed beside them.
LANGUAGES = [("en", "English"), ("fr", "Français"), ("es", "Español"), ("pt", "Português")]
LOCALE_PATHS = [BASE_DIR / "spmis" / "locale"]
LANGUAGE_COOKIE_NAME = "spmis_language"
LANGUAGE_COOKIE_AGE = 365 * 24 * 3600
LANGUAGE_COOKIE_HTTPONLY = True
# Django's own number formats (floatformat, intcomma) with the separators CLDR gives, so they
# agree with spmis.core.formatting (French groups digits with a narrow no-break space).
FORMAT_MODULE_PATH = ["config.formats"]
TIME_ZONE = env.get("SPMIS_TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True  # serve straight from the apps; no collectstatic needed
WHITENOISE_AUTOREFRESH = DEBUG

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = env.get_int("SPMIS_SESSION_IDLE_MINUTES", 30) * 60  # idle timeout...
SESSION_SAVE_EVERY_REQUEST = True  # ...renewed by every request
SPMIS_SESSION_MAX_AGE = env.get_int("SPMIS_SESSION_MAX_HOURS", 8) * 3600  # absolute, from login
CSRF_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
# Scripts and styles from this server only, never inline; no frames, plugins or other sites
# (spmis.web.middleware). A template that needs a script ships it as a static file and reads
# its data from json_script elements.
SPMIS_CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
SPMIS_PERMISSIONS_POLICY = (
    "accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), "
    "microphone=(), payment=(), usb=()"
)

REST_FRAMEWORK = {
    # Token first: its WWW-Authenticate header turns "no credentials" into 401, not 403.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "spmis.access.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_THROTTLE_CLASSES": ["spmis.access.ratelimit.ApiRateThrottle"],
    "DEFAULT_PAGINATION_CLASS": "spmis.core.apis.Pagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "spmis.core.apis.exception_handler",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": [
        "spmis.core.parsers.BoundedJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
}
SPECTACULAR_SETTINGS = {
    "TITLE": "spmis API",
    "DESCRIPTION": "The social protection registry, scoped to the caller, and system-to-system "
                   "pushes of submissions to intake (POST /api/v1/submissions/).",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
}

SPMIS_AUDIT_KEY_FILE = env.get("SPMIS_AUDIT_KEY_FILE", str(VAR_DIR / "keys" / "audit.pem"))
SPMIS_AUDIT_ORIGIN = env.get("SPMIS_AUDIT_ORIGIN", "spmis/audit")
SPMIS_AUDIT_CHECKPOINT_MINUTES = env.get_int("SPMIS_AUDIT_CHECKPOINT_MINUTES", 60, minimum=0)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
}
