"""The database URL parser: every input gives a config or one clear InvalidDatabaseURL."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from config.dburl import InvalidDatabaseURL, parse_database_url

BASE = Path("/srv/spmis")


def test_default_sqlite_is_relative_to_base_and_uses_wal():
    db = parse_database_url("sqlite:///var/spmis.db", base_dir=BASE)
    assert db["ENGINE"] == "django.db.backends.sqlite3"
    assert db["NAME"] == "/srv/spmis/var/spmis.db"
    assert "journal_mode=WAL" in db["OPTIONS"]["init_command"]


def test_absolute_sqlite_path():
    assert parse_database_url("sqlite:////tmp/x.db", base_dir=BASE)["NAME"] == "/tmp/x.db"


@pytest.mark.parametrize("url", ["", "mysql://u:p@h/db", "sqlite://host/x.db", "sqlite:///",
                                 "postgresql://u:p@h:5432/", "postgresql://h:notaport/db",
                                 "just-a-path.db"])
def test_bad_urls_are_refused_with_a_reason(url):
    with pytest.raises(InvalidDatabaseURL) as err:
        parse_database_url(url, base_dir=BASE)
    assert "SPMIS_DATABASE_URL" in str(err.value)


def test_password_is_not_echoed_in_errors():
    with pytest.raises(InvalidDatabaseURL) as err:
        parse_database_url("postgresql://user:s3cret@host:5432/", base_dir=BASE)
    assert "s3cret" not in str(err.value)


text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1,
               max_size=20)


@given(user=text, password=text, host=st.from_regex(r"[a-z][a-z0-9.-]{0,20}", fullmatch=True),
       port=st.integers(1, 65535), name=text.filter(lambda s: "/" not in s))
def test_postgres_round_trip(user, password, host, port, name):
    url = f"postgresql://{quote(user, safe='')}:{quote(password, safe='')}@{host}:{port}/" \
          f"{quote(name, safe='')}"
    db = parse_database_url(url, base_dir=BASE)
    assert (db["USER"], db["PASSWORD"], db["HOST"], db["PORT"], db["NAME"]) == (
        user, password, host, str(port), name)


@given(st.text(max_size=80))
def test_any_text_gives_config_or_invalid_url(url):
    try:
        db = parse_database_url(url, base_dir=BASE)
    except InvalidDatabaseURL:
        return
    assert db["ENGINE"] in ("django.db.backends.sqlite3", "django.db.backends.postgresql")
