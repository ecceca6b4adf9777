"""Test settings: the database still comes from SPMIS_DATABASE_URL, so the suite runs on both."""

from config.settings.base import *  # noqa: F403

# Speed only: production hashing (argon2id) is asserted in tests against base settings.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
DEBUG = False
SPMIS_AUDIT_KEY_FILE = str(VAR_DIR / "keys" / "test-audit.pem")  # noqa: F405
# Every test signs in and searches from one address within the same minutes: limits far above
# what the suite does, so none bites by accident (tests/test_rate_limits.py lowers them).
SPMIS_RATE_LOGIN_PER_USERNAME = SPMIS_RATE_LOGIN_PER_ADDRESS = 100_000
SPMIS_RATE_SEARCH_PER_USER = SPMIS_RATE_SEARCH_PER_ADDRESS = 100_000
SPMIS_RATE_API_PER_USER = SPMIS_RATE_API_PER_ADDRESS = 100_000
