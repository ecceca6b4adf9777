"""Test settings: the database still comes from SPMIS_DATABASE_URL, so the suite runs on both."""

from config.settings.base import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # speed only; tests assert argon2 separately
DEBUG = False
