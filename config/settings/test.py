"""Test settings: the database still comes from SPMIS_DATABASE_URL, so the suite runs on both."""

from config.settings.base import *  # noqa: F403

# Speed only: production hashing (argon2id) is asserted in tests against base settings.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
DEBUG = False
SPMIS_AUDIT_KEY_FILE = str(VAR_DIR / "keys" / "test-audit.pem")  # noqa: F405
