"""The one place where spmis reads its environment. Every setting has a default and help."""

from __future__ import annotations

import os
from pathlib import Path

BASE_DIR = Path(os.environ.get("SPMIS_HOME", Path.cwd())).resolve()

SETTINGS_HELP = {
    "SPMIS_HOME": "Folder holding var/ (database, uploads); default: the current folder.",
    "SPMIS_DATABASE_URL": "sqlite:///var/spmis.db (default) or postgresql://user:pw@host:5432/db.",
    "SPMIS_SECRET_KEY": "Secret for sessions and signing; required in production (50+ random"
                        " characters; the published development key is refused).",
    "SPMIS_DEBUG": "1 to show debug pages (never in production); default 0.",
    "SPMIS_ALLOWED_HOSTS": "Comma-separated host names the server answers; default localhost.",
    "SPMIS_TIME_ZONE": "Time zone of the country; default UTC.",
    "SPMIS_LANGUAGE_CODE": "Default interface language (en, fr, es or pt), for a browser "
                           "that asks for none of them; default en.",
    "SPMIS_AUDIT_KEY_FILE": "Ed25519 key that signs audit checkpoints; default var/keys/audit.pem"
    " (created on first use; keep a copy off the server).",
    "SPMIS_AUDIT_CHECKPOINT_MINUTES": "How often `spmis serve` signs an audit checkpoint; 0 turns"
    " it off (then cron `spmis audit checkpoint`); default 60.",
    "SPMIS_AUDIT_ORIGIN": "Name of this audit log in its signed checkpoints; default spmis/audit.",
    "SPMIS_LINKAGE_CHECKER": "1 makes every review decision that changes identities (match,"
                             " not a match, a reopen that undoes one) wait for an approver"
                             " (maker-checker); default 0.",
    "SPMIS_LINKAGE_PLACEHOLDER_IDS": "Comma-separated national-ID values read as no ID (added to"
                                     " the built-in list: 0, 000000, N/A, unknown…); default"
                                     " none.",
    "SPMIS_PARAMETERS_FILE": "The country's effective-dated parameters (age groups of the R202"
                             " guarantees, age bands) as YAML; default: the file shipped in"
                             " spmis/core/parameters.yaml.",
    "SPMIS_REQUIRE_MFA": "1 (default) requires a TOTP second factor of every user holding a role.",
    "SPMIS_SESSION_IDLE_MINUTES": "Minutes without a request before a session ends; default 30.",
    "SPMIS_SESSION_MAX_HOURS": "Hours after login when a session ends however active; default 8.",
    "SPMIS_API_TOKEN_DAYS": "Days an API token issued by `spmis token` works; default 90.",
    "SPMIS_RATE_LOGIN_PER_USERNAME": "Sign-in attempts a minute for one username; 0: no limit;"
                                     " default 10.",
    "SPMIS_RATE_LOGIN_PER_ADDRESS": "Sign-in attempts a minute from one client address; 0: no"
                                    " limit; default 60.",
    "SPMIS_RATE_SEARCH_PER_USER": "Person searches (page and API) a minute for one user; 0: no"
                                  " limit; default 60.",
    "SPMIS_RATE_SEARCH_PER_ADDRESS": "Person searches a minute from one client address; 0: no"
                                     " limit; default 300.",
    "SPMIS_RATE_API_PER_USER": "API requests a minute for one user; 0: no limit; default 600.",
    "SPMIS_RATE_API_PER_ADDRESS": "API requests a minute from one client address; 0: no limit;"
                                  " default 1200.",
}


def get(name: str, default: str = "") -> str:
    if name not in SETTINGS_HELP:
        raise KeyError(f"{name} is not a documented spmis setting")
    return os.environ.get(name, default)


def get_bool(name: str, default: bool = False) -> bool:
    return get(name, "1" if default else "0").strip().lower() in ("1", "true", "yes", "on")


def get_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in get(name, default).split(",") if item.strip()]


def get_int(name: str, default: int, *, minimum: int = 1) -> int:
    raw = get(name, str(default)).strip()
    try:
        value = int(raw)
    except ValueError:
        value = minimum - 1
    if value < minimum:
        from django.core.exceptions import ImproperlyConfigured

        raise ImproperlyConfigured(f"{name} must be a whole number of at least {minimum}, "
                                   f"not {raw!r}.")
    return value

