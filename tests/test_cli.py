"""The `spmis` command, in-process on the test database and as a real subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from spmis.access.models import RoleAssignment, User
from spmis.cli.main import cli
from spmis.registry.models import Person
from spmis.schemes.models import Enrolment

COMMANDS = ["synth", "serve", "demo", "migrate", "createuser", "token"]


@pytest.mark.parametrize("command", [[], *[[c] for c in COMMANDS]])
def test_help_on_every_command(command):
    result = CliRunner().invoke(cli, [*command, "--help"])
    assert result.exit_code == 0
    assert "Usage:" in result.output


def test_unknown_option_is_a_usage_error():
    result = CliRunner().invoke(cli, ["synth", "--people", "5"])
    assert result.exit_code == 2
    assert "No such option" in result.output


@pytest.mark.django_db
def test_synth_small_country_then_counts():
    result = CliRunner().invoke(cli, ["synth", "--persons", "800", "--seed", "3",
                                      "--as-of", "2026-03-31", "--months", "3"])
    assert result.exit_code == 0, result.output
    assert Person.objects.count() == 800
    assert "persons=800 " in result.output
    assert f"enrolments={Enrolment.objects.count()} " in result.output


@pytest.mark.django_db
def test_synth_refuses_to_overwrite_without_replace(country):
    result = CliRunner().invoke(cli, ["synth", "--persons", "200"])
    assert result.exit_code == 1
    assert "--replace" in result.output
    assert Person.objects.count() == 1500


@pytest.mark.django_db
def test_createuser_grants_roles_in_an_area(country):
    result = CliRunner().invoke(cli, ["createuser", "amina", "--role", "registrar", "--area",
                                      "XY01", "--password", "a-long-pass-phrase-9"])
    assert result.exit_code == 0, result.output
    grant = RoleAssignment.objects.get(user__username="amina")
    assert (grant.role, grant.area.code, grant.all_schemes) == ("REGISTRAR", "XY01", True)
    assert User.objects.get(username="amina").check_password("a-long-pass-phrase-9")


@pytest.mark.django_db
def test_createuser_refuses_weak_password_and_unknown_area(country):
    weak = CliRunner().invoke(cli, ["createuser", "bo", "--password", "123"])
    assert weak.exit_code == 1 and "too short" in weak.output
    nowhere = CliRunner().invoke(cli, ["createuser", "bo", "--role", "AUDITOR", "--area", "ZZ9",
                                       "--password", "a-long-pass-phrase-9"])
    assert nowhere.exit_code == 1 and "No area with code 'ZZ9'" in nowhere.output
    assert not User.objects.filter(username="bo").exists()  # nothing half-made


def _spmis(args: list[str], tmp_path: Path, url: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SPMIS_DATABASE_URL": url, "SPMIS_HOME": str(tmp_path)}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    return subprocess.run([sys.executable, "-m", "spmis.cli.main", *args], env=env,
                          capture_output=True, text=True, timeout=300)


def test_invalid_database_url_is_a_message_not_a_traceback(tmp_path):
    done = _spmis(["migrate"], tmp_path, "mysql://root@localhost/spmis")
    assert done.returncode == 1
    assert "not supported" in done.stderr
    assert "Traceback" not in done.stderr + done.stdout


def test_missing_migrations_are_a_message_then_migrate_fixes_it(tmp_path):
    url = f"sqlite:///{tmp_path}/fresh.db"
    refused = _spmis(["synth", "--persons", "100"], tmp_path, url)
    assert refused.returncode == 1
    assert "spmis migrate" in refused.stderr and "Traceback" not in refused.stderr
    assert _spmis(["migrate"], tmp_path, url).returncode == 0
    done = _spmis(["synth", "--persons", "300", "--seed", "9"], tmp_path, url)
    assert done.returncode == 0, done.stderr
    assert "persons=300" in done.stdout


def test_demo_prepares_country_and_one_login_per_role(tmp_path):
    url = f"sqlite:///{tmp_path}/demo.db"
    done = _spmis(["demo", "--persons", "1000", "--no-serve"], tmp_path, url)
    assert done.returncode == 0, done.stderr
    from spmis.access.models import Role

    for role in Role:
        assert role.value.lower() in done.stdout
    assert "http://127.0.0.1:8000/" in done.stdout
    again = _spmis(["demo", "--no-serve"], tmp_path, url)  # idempotent: keeps the country
    assert again.returncode == 0 and "already loaded" in again.stderr


@pytest.mark.django_db
def test_token_issues_a_working_api_key_and_revokes_the_old_one(country, make_user):
    from rest_framework.test import APIClient

    user = make_user()
    first = CliRunner().invoke(cli, ["token", user.username]).stdout.strip()
    second = CliRunner().invoke(cli, ["token", user.username]).stdout.strip()
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {second}")
    assert api.get("/api/v1/schemes/").status_code == 200
    api.credentials(HTTP_AUTHORIZATION=f"Token {first}")
    assert api.get("/api/v1/schemes/").status_code == 401
    unknown = CliRunner().invoke(cli, ["token", "ghost"])
    assert unknown.exit_code == 1 and "No active user" in unknown.output


def test_serve_on_a_busy_port_is_a_message(tmp_path):
    import socket

    url = f"sqlite:///{tmp_path}/serve.db"
    assert _spmis(["migrate"], tmp_path, url).returncode == 0
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = _spmis(["serve", "--port", str(port)], tmp_path, url)
    assert done.returncode == 1
    assert "Cannot listen" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.django_db
def test_cli_actions_name_the_operating_system_account(country):
    import getpass

    from spmis.audit.models import AuditEvent

    result = CliRunner().invoke(cli, ["createuser", "olu", "--password", "a-long-pass-phrase-9"])
    assert result.exit_code == 0, result.output
    event = AuditEvent.objects.filter(action="user.create").latest("seq")
    assert event.actor is None and event.actor_username == f"cli:{getpass.getuser()}"
