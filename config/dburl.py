"""Turn ``SPMIS_DATABASE_URL`` into a Django ``DATABASES`` entry.

Only the two engines spmis supports are accepted, and every mistake is an
``InvalidDatabaseURL`` with a message a user can act on.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

SUPPORTED = "sqlite:///relative/path.db, sqlite:////absolute/path.db or postgresql://user:password@host:5432/name"


class InvalidDatabaseURL(ValueError):
    """The database URL cannot be used; the message says why and what is accepted."""


def parse_database_url(url: str, *, base_dir: Path) -> dict[str, Any]:
    url = url.strip()
    if not url:
        raise InvalidDatabaseURL(f"SPMIS_DATABASE_URL is empty. Use {SUPPORTED}.")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise InvalidDatabaseURL(f"SPMIS_DATABASE_URL {url!r} is malformed ({exc}).") from exc
    scheme = parts.scheme.lower()
    if scheme == "sqlite":
        return _sqlite(url, parts.netloc, parts.path, base_dir)
    if scheme in ("postgres", "postgresql"):
        name = unquote(parts.path.lstrip("/"))
        if not name or "/" in name:
            raise InvalidDatabaseURL(
                f"SPMIS_DATABASE_URL {_redact(url)!r} names no database. Use {SUPPORTED}."
            )
        options = dict(parse_qsl(parts.query))
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": name,
            "USER": unquote(parts.username or ""),
            "PASSWORD": unquote(parts.password or ""),
            "HOST": unquote(parts.hostname or ""),
            "PORT": str(port or ""),
            "OPTIONS": options,
            "CONN_MAX_AGE": 60,
        }
    raise InvalidDatabaseURL(
        f"SPMIS_DATABASE_URL scheme {scheme or '(none)'!r} is not supported. Use {SUPPORTED}."
    )


def _sqlite(url: str, netloc: str, path: str, base_dir: Path) -> dict[str, Any]:
    if netloc:
        raise InvalidDatabaseURL(
            f"SPMIS_DATABASE_URL {url!r} has a host; SQLite URLs have three slashes: {SUPPORTED}."
        )
    if path in ("", "/"):
        raise InvalidDatabaseURL(f"SPMIS_DATABASE_URL {url!r} names no file. Use {SUPPORTED}.")
    # sqlite:///var/x.db is relative to the project; sqlite:////tmp/x.db is absolute.
    rel = unquote(path[1:])
    name = Path(rel) if rel.startswith("/") else base_dir / rel
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": str(name),
        "OPTIONS": {
            "init_command": (
                "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=10000;"
                " PRAGMA cache_size=-262144; PRAGMA temp_store=MEMORY;"
            ),
            "transaction_mode": "IMMEDIATE",
        },
    }


def _redact(url: str) -> str:
    parts = urlsplit(url)
    if parts.password:
        return url.replace(f":{parts.password}@", ":***@")
    return url
