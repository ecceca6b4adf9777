"""Production: HTTPS only, a real secret key, no debug, collected static files.

Run `spmis collectstatic` after every install or upgrade: the static files are served hashed
and compressed from STATIC_ROOT, and `spmis serve` refuses to start until they are there.
Behind a TLS-terminating proxy, `spmis serve --trusted-proxy ADDRESS` (waitress drops
X-Forwarded-Proto from anyone else, and SECURE_SSL_REDIRECT would redirect every request).
"""

from django.core.exceptions import ImproperlyConfigured

from config import env
from config.settings.base import *  # noqa: F403

DEBUG = False
SECRET_KEY = env.get("SPMIS_SECRET_KEY")
if SECRET_KEY.strip() == DEVELOPMENT_SECRET_KEY:  # noqa: F405
    raise ImproperlyConfigured(
        "SPMIS_SECRET_KEY is the development key published with spmis's source code: anyone "
        "could forge sessions and re-identify the audit log's person references with it. Set "
        "it to at least 50 random characters of your own, e.g. the output of "
        "python -c 'import secrets; print(secrets.token_urlsafe(50))'.")
if len(SECRET_KEY) < 50:
    raise ImproperlyConfigured("SPMIS_SECRET_KEY must be set to at least 50 random characters.")
STATIC_ROOT = VAR_DIR / "static"  # noqa: F405  (filled by `spmis collectstatic`)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
SECURE_SSL_REDIRECT = True
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_HSTS_SECONDS = 31536000
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
