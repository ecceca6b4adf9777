"""API tokens: only a hash is stored, they expire and can be revoked, and those of disabled or
locked users are refused; every refusal is audited with its reason."""

from __future__ import annotations

import datetime as dt
import hashlib
import importlib

import pytest
from click.testing import CliRunner
from django.apps import apps
from django.conf import settings
from django.db import connection
from django.test import override_settings
from rest_framework.test import APIClient

from spmis.access.models import ApiToken, User
from spmis.access.services import api_token_issue, user_disable
from spmis.audit.models import AuditEvent
from spmis.cli.main import cli
from spmis.core import clock
from tests import factories

pytestmark = pytest.mark.django_db
URL = "/api/v1/schemes/"


@pytest.fixture
def officer(db: None) -> User:
    factories.area("XY")
    return factories.user("REGISTRAR", area="XY", username="officer")


def get(key: str) -> int:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return api.get(URL).status_code


def refusals() -> list[str]:
    return [e.detail["reason"] for e in
            AuditEvent.objects.filter(action="auth.token_refused").order_by("seq")]


def test_only_a_hash_of_the_key_is_stored(officer):
    key = factories.api_token(officer)
    token = ApiToken.objects.get(user=officer)
    assert token.key_hash == hashlib.sha256(key.encode()).hexdigest()
    assert token.prefix == key[:8] and len(key) >= 40
    stored = " ".join(str(v) for v in ApiToken.objects.values_list().get())
    assert key not in stored
    assert "authtoken" not in settings.INSTALLED_APPS
    assert "authtoken_token" not in connection.introspection.table_names()
    assert get(key) == 200
    assert ApiToken.objects.get(pk=token.pk).last_used_at is not None


def test_a_token_expires_after_the_configured_days(officer):
    issued = api_token_issue(actor=None, username=officer.username)
    assert abs(issued.expires_at - clock.now() - dt.timedelta(days=90)) < dt.timedelta(minutes=1)
    assert get(issued.key) == 200
    ApiToken.objects.filter(user=officer).update(expires_at=clock.now() - dt.timedelta(seconds=1))
    assert get(issued.key) == 401
    assert refusals() == ["expired"]
    with override_settings(SPMIS_API_TOKEN_DAYS=7):
        short = api_token_issue(actor=None, username=officer.username)
    assert dt.timedelta(days=6) < short.expires_at - clock.now() <= dt.timedelta(days=7)
    event = AuditEvent.objects.filter(action="api_token.issue").latest("seq")
    assert event.detail["expires_at"] == short.expires_at.isoformat()


def test_the_command_prints_the_key_then_the_expiry_and_revokes(officer):
    issued = CliRunner().invoke(cli, ["token", officer.username])
    assert issued.exit_code == 0, issued.output
    key = issued.stdout.strip()
    token = ApiToken.objects.get(user=officer)
    assert f"Expires {token.expires_at:%Y-%m-%d %H:%M}" in issued.stderr
    assert get(key) == 200
    revoked = CliRunner().invoke(cli, ["token", officer.username, "--revoke"])
    assert revoked.exit_code == 0 and "Revoked 1 API token(s)" in revoked.output
    assert get(key) == 401
    assert refusals() == ["revoked"]
    event = AuditEvent.objects.get(action="api_token.revoke")
    assert event.detail["tokens_revoked"] == 1 and event.actor_username.startswith("cli:")


def test_a_locked_users_token_is_refused_until_the_lock_runs_out(officer):
    key = factories.api_token(officer)
    User.objects.filter(pk=officer.pk).update(
        locked_until=clock.now() + dt.timedelta(minutes=15))
    assert get(key) == 401
    User.objects.filter(pk=officer.pk).update(locked_until=clock.now() - dt.timedelta(seconds=1))
    assert get(key) == 200
    assert refusals() == ["user_locked"]


def test_a_disabled_users_token_is_refused(officer):
    key = factories.api_token(officer)
    user_disable(actor=None, user=officer, reason="left")
    assert get(key) == 401
    assert ApiToken.objects.get(user=officer).revoked_at is not None
    ApiToken.objects.filter(user=officer).update(revoked_at=None)  # even if the revocation failed
    assert get(key) == 401
    assert refusals() == ["revoked", "user_disabled"]


@pytest.mark.parametrize("header", [
    "Token right-prefix-wrong-rest", "Token a b", "Token", "Token é", "Token " + "x" * 500])
def test_forged_and_malformed_tokens_are_401_and_audited(officer, header):
    key = factories.api_token(officer)
    header = header.replace("right-prefix", key[:8])
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=header)
    response = api.get(URL)
    assert response.status_code == 401 and response["WWW-Authenticate"] == "Token"
    assert refusals() and refusals()[0] in ("unknown", "malformed")


class SchemaEditor:
    connection = connection
    sql_delete_table = connection.schema_editor().sql_delete_table

    def quote_name(self, name: str) -> str:
        return connection.ops.quote_name(name)

    def execute(self, sql: str, params: list[object] | tuple[object, ...] = ()) -> None:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)


def test_drf_tokens_in_clear_are_carried_over_hashed_and_their_table_dropped(officer):
    migration = importlib.import_module("spmis.access.migrations.0005_api_tokens_hashed")
    key = "0123456789abcdef0123456789abcdef01234567"
    editor = SchemaEditor()  # the parts the migration uses, inside the test's transaction
    editor.execute("CREATE TABLE authtoken_token (key varchar(40) PRIMARY KEY, "
                   "user_id bigint NOT NULL, created timestamp NOT NULL)")
    editor.execute("INSERT INTO authtoken_token VALUES (%s, %s, %s)",
                   [key, officer.pk, "2026-01-02 03:04:05"])
    editor.execute("INSERT INTO django_migrations (app, name, applied) VALUES (%s, %s, %s)",
                   ["authtoken", "0001_initial", "2026-01-02 03:04:05"])
    migration.carry_over(apps, editor)
    assert "authtoken_token" not in connection.introspection.table_names()
    token = ApiToken.objects.get(user=officer)
    assert token.key_hash == hashlib.sha256(key.encode()).hexdigest()
    assert token.created_at == dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    assert get(key) == 200
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM django_migrations WHERE app = 'authtoken'")
        assert cursor.fetchone() == (0,)
