"""The one place where spmis reads its environment. Every setting has a default and help."""

from __future__ import annotations

import os
from pathlib import Path

BASE_DIR = Path(os.environ.get("SPMIS_HOME", Path.cwd())).resolve()

SETTINGS_HELP = {
    "SPMIS_HOME": "Folder holding var/ (database, uploads); default: the current folder.",
    "SPMIS_DATABASE_URL": "sqlite:///var/spmis.db (default) or postgresql://user:pw@host:5432/db.",
    "SPMIS_SECRET_KEY": "Secret for sessions and signing; required in production.",
    "SPMIS_DEBUG": "1 to show debug pages (never in production); default 0.",
    "SPMIS_ALLOWED_HOSTS": "Comma-separated host names the server answers; default localhost.",
    "SPMIS_TIME_ZONE": "Time zone of the country; default UTC.",
    "SPMIS_LANGUAGE_CODE": "Default interface language; default en.",
}


def get(name: str, default: str = "") -> str:
    if name not in SETTINGS_HELP:
        raise KeyError(f"{name} is not a documented spmis setting")
    return os.environ.get(name, default)


def get_bool(name: str, default: bool = False) -> bool:
    return get(name, "1" if default else "0").strip().lower() in ("1", "true", "yes", "on")


def get_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in get(name, default).split(",") if item.strip()]
