"""Strong login through the public doors: argon2id, lockout, TOTP second factor, sessions."""

from __future__ import annotations

import datetime as dt
import os
import re
import secrets
import string
import subprocess
import sys
from pathlib import Path

import pyotp
import pytest
from click.testing import CliRunner
from django.conf import settings as django_settings
from django.contrib.auth.hashers import identify_hasher
from django.contrib.sessions.models import Session
from django.test import Client, override_settings
from rest_framework.test import APIClient

from config.settings import base as base_settings
from spmis.access.auth import SESSION_LOGIN_AT
from spmis.access.models import Clearance, TOTPDevice, User, UserSession
from spmis.access.services import user_create, user_disable
from spmis.audit.models import AuditEvent
from spmis.cli.main import cli
from spmis.core import clock
from spmis.geography.models import Area
from tests import factories
from tests.helpers import PASSWORD

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[1]
GENERIC = "Your username and password did not match"
PAGE = "/persons/"  # a page behind login that renders without any data


class Clock:
    """Pins spmis.core.clock.now, 15 s into a 30-second TOTP step, and moves it on demand."""

    def __init__(self) -> None:
        self.moment = dt.datetime(2026, 7, 1, 9, 0, 15, tzinfo=dt.UTC)

    def __call__(self) -> dt.datetime:
        return self.moment

    def advance(self, **delta: float) -> None:
        self.moment += dt.timedelta(**delta)

    @property
    def step(self) -> int:
        return int(self.moment.timestamp()) // 30


@pytest.fixture
def frozen(monkeypatch: pytest.MonkeyPatch) -> Clock:
    pinned = Clock()
    monkeypatch.setattr(clock, "now", pinned)
    return pinned


@pytest.fixture
def area(db: None) -> Area:
    return factories.area("XY", name="Testland")


@pytest.fixture
def staff(area: Area) -> User:
    return factories.user("REGISTRAR", area=area.code, username="officer",
                          clearance=Clearance.INTERNAL)  # user_create's default


def login(username: str, password: str = PASSWORD, client: Client | None = None):
    client = client or Client()
    return client, client.post("/login/", {"username": username, "password": password})


def code_at(user: User, step: int) -> str:
    return pyotp.TOTP(TOTPDevice.objects.get(user=user).secret).generate_otp(step)


def enrolled(user: User, frozen: Clock) -> Client:
    """A full login with enrolment of a new authenticator, by the pages a person sees."""
    client, response = login(user.username)
    assert response["Location"] == "/login/authenticator/?next=%2F"
    page = client.get(response["Location"]).content.decode()
    secret = re.search(r'data-testid="mfa-secret"[^>]*>([A-Z2-7]+)<', page).group(1)
    done = client.post("/login/authenticator/",
                       {"code": pyotp.TOTP(secret).at(frozen.moment), "next": "/"})
    assert done.status_code == 302 and done["Location"] == "/"
    return client


def actions() -> list[str]:
    return list(AuditEvent.objects.order_by("id").values_list("action", flat=True))


# Password hashing --------------------------------------------------------------------------

@override_settings(PASSWORD_HASHERS=base_settings.PASSWORD_HASHERS)
def test_passwords_are_hashed_with_argon2id_at_owasp_strength(db):
    user = user_create(actor=None, username="hashed", password=PASSWORD)
    assert identify_hasher(user.password).algorithm == "argon2"
    variety, version, params = user.password.split("$")[1:4]
    cost = dict(item.split("=") for item in params.split(","))
    assert variety == "argon2id" and version == "v=19"
    assert int(cost["m"]) >= 19456 and int(cost["t"]) >= 2
    assert User.objects.get(pk=user.pk).check_password(PASSWORD)


# Lockout -----------------------------------------------------------------------------------

def test_five_failures_lock_the_account_quietly_until_the_lock_runs_out(staff):
    for _ in range(5):
        _, response = login(staff.username, "wrong-password")
        assert response.status_code == 200 and GENERIC in response.content.decode()
    staff.refresh_from_db()
    assert staff.failed_logins == 5 and staff.locked_until > clock.now()

    client, response = login(staff.username)  # the right password, but locked
    assert response.status_code == 200 and GENERIC in response.content.decode()
    assert "_auth_user_id" not in client.session
    assert "lock" not in response.content.decode().lower()  # nothing tells the attacker
    assert actions().count("auth.locked") == 2  # when locked, and the refused attempt

    User.objects.filter(pk=staff.pk).update(locked_until=clock.now() - dt.timedelta(seconds=1))
    client, response = login(staff.username)
    assert response.status_code == 302  # on to the second factor
    assert client.session["_auth_user_id"] == str(staff.pk)
    staff.refresh_from_db()
    assert staff.failed_logins == 0 and staff.locked_until is None


def test_lock_lasts_fifteen_minutes(staff, frozen):
    for _ in range(5):
        login(staff.username, "wrong-password")
    staff.refresh_from_db()
    assert staff.locked_until == frozen.moment + dt.timedelta(minutes=15)


def test_a_successful_login_resets_the_count(area):
    user = user_create(actor=None, username="noroles", password=PASSWORD)
    for _ in range(4):
        login(user.username, "wrong-password")
    assert login(user.username)[1].status_code == 302
    for _ in range(4):
        login(user.username, "wrong-password")
    user.refresh_from_db()
    assert user.failed_logins == 4 and user.locked_until is None


def test_staff_count_resets_only_when_the_second_factor_passes(staff, frozen):
    for _ in range(4):
        login(staff.username, "wrong-password")
    enrolled(staff, frozen)
    staff.refresh_from_db()
    assert staff.failed_logins == 0


def test_five_wrong_codes_lock_the_account_and_end_the_session(staff, frozen):
    client, _ = login(staff.username)
    client.get("/login/authenticator/")
    for attempt in range(5):
        response = client.post("/login/authenticator/", {"code": "000000"})
        assert response.status_code == (400 if attempt < 4 else 302)
    assert response["Location"] == "/login/"
    assert "_auth_user_id" not in client.session
    staff.refresh_from_db()
    assert staff.locked_until is not None
    assert actions().count("mfa.failed") == 5


# Second factor -----------------------------------------------------------------------------

def test_staff_must_enrol_before_reaching_any_page(staff, frozen):
    client, response = login(staff.username)
    assert response.status_code == 302
    assert response["Location"] == "/login/authenticator/?next=%2F"
    for url in ("/", PAGE, "/schemes/", "/login/"):
        bounced = client.get(url)
        assert bounced.status_code == 302, url
        assert bounced["Location"].startswith("/login/authenticator/?next="), url
    # Nor does the half-logged-in session open the API: that is for token clients.
    assert client.get("/api/v1/schemes/").status_code == 401

    page = client.get("/login/authenticator/").content.decode()
    device = TOTPDevice.objects.get(user=staff)
    assert device.confirmed_at is None and len(device.secret) >= 32
    assert device.secret in page
    uri = f"otpauth://totp/spmis:{staff.username}?secret={device.secret}&amp;issuer=spmis"
    assert uri in page
    client.get("/login/authenticator/")
    assert TOTPDevice.objects.get(user=staff).secret == device.secret  # a reload keeps the key

    wrong = client.post("/login/authenticator/", {"code": "123456", "next": PAGE})
    assert wrong.status_code == 400 and "not valid" in wrong.content.decode()
    before = client.session.session_key
    done = client.post("/login/authenticator/", {"code": code_at(staff, frozen.step),
                                                 "next": PAGE})
    assert done.status_code == 302 and done["Location"] == PAGE
    assert client.session.session_key != before  # new session id after the second factor
    assert client.get(PAGE).status_code == 200
    device.refresh_from_db()
    assert device.confirmed_at is not None and device.last_used_step == frozen.step
    assert {"mfa.failed", "mfa.enrol"} <= set(actions())


def test_code_page_refuses_wrong_replayed_and_far_codes(staff, frozen):
    enrolled(staff, frozen)
    used = frozen.step
    frozen.advance(seconds=5)  # still the same 30-second step

    client, response = login(staff.username)
    assert response["Location"] == "/login/code/?next=%2F"
    assert client.get(PAGE)["Location"] == "/login/code/?next=%2Fpersons%2F"
    for code in ("abcde1", code_at(staff, used), code_at(staff, used + 2), "12345"):
        refused = client.post("/login/code/", {"code": code})
        assert refused.status_code == 400, code
        assert client.get(PAGE).status_code == 302
    ok = client.post("/login/code/", {"code": code_at(staff, used + 1), "next": PAGE})  # drift
    assert ok.status_code == 302 and ok["Location"] == PAGE
    assert client.get(PAGE).status_code == 200

    other, _ = login(staff.username)  # the same code, again: a replay
    assert other.post("/login/code/", {"code": code_at(staff, used + 1)}).status_code == 400
    assert other.get(PAGE).status_code == 302
    frozen.advance(seconds=90)  # now used + 3; used + 2 is one step behind: allowed drift
    assert other.post("/login/code/", {"code": code_at(staff, used + 2)}).status_code == 302
    assert actions().count("mfa.verify") == 2
    assert "mfa.failed" in actions()


def test_code_with_spaces_and_offsite_next_are_handled(staff, frozen):
    enrolled(staff, frozen)
    frozen.advance(seconds=30)
    client, _ = login(staff.username)
    code = code_at(staff, frozen.step)
    done = client.post("/login/code/", {"code": f"{code[:3]} {code[3:]}",
                                        "next": "https://evil.example/"})
    assert done.status_code == 302 and done["Location"] == "/"


def test_users_without_a_role_and_api_tokens_need_no_second_factor(staff, area):
    user = user_create(actor=None, username="reader", password=PASSWORD)
    client, response = login(user.username)
    assert response["Location"] == "/"
    assert client.get(PAGE).status_code == 200
    token = factories.api_token(staff)  # staff, never enrolled
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert api.get("/api/v1/schemes/").status_code == 200


def test_logout_works_before_the_second_factor(staff):
    client, _ = login(staff.username)
    assert client.post("/logout/").status_code == 302
    assert client.get(PAGE)["Location"].startswith("/login/")


def test_mfa_reset_makes_the_user_enrol_again(staff, frozen):
    client = enrolled(staff, frozen)
    done = CliRunner().invoke(cli, ["user", "mfa-reset", staff.username])
    assert done.exit_code == 0, done.output
    assert not TOTPDevice.objects.filter(user=staff).exists()
    assert client.get(PAGE)["Location"].startswith("/login/")
    assert login(staff.username)[1]["Location"].startswith("/login/authenticator/")
    assert "mfa.reset" in actions()


# Sessions ----------------------------------------------------------------------------------

def test_login_gives_a_new_session_id(staff):
    client = Client()
    session = client.session
    session["before_login"] = True
    session.save()
    before = session.session_key
    login(staff.username, client=client)
    assert client.cookies["sessionid"].value != before
    assert not Session.objects.filter(session_key=before).exists()
    assert UserSession.objects.filter(user=staff, session_key=client.session.session_key).exists()


def test_session_ends_after_the_absolute_lifetime_however_active(staff, frozen):
    client = enrolled(staff, frozen)
    assert client.get(PAGE).status_code == 200
    session = client.session
    session[SESSION_LOGIN_AT] -= 8 * 3600 - 60  # a minute short of 8 hours: still in
    session.save()
    assert client.get(PAGE).status_code == 200
    session = client.session
    session[SESSION_LOGIN_AT] -= 120
    session.save()
    response = client.get(PAGE)
    assert response.status_code == 302 and response["Location"] == f"/login/?next={PAGE}"
    assert "_auth_user_id" not in client.session


def test_idle_timeout_is_the_cookie_age_renewed_by_each_request():
    assert django_settings.SESSION_COOKIE_AGE == 30 * 60
    assert django_settings.SESSION_SAVE_EVERY_REQUEST is True
    assert django_settings.SPMIS_SESSION_MAX_AGE == 8 * 3600


def test_session_lifetimes_come_from_the_environment():
    code = ("from django.conf import settings as s; "
            "print(s.SESSION_COOKIE_AGE, s.SPMIS_SESSION_MAX_AGE, s.SPMIS_REQUIRE_MFA)")
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.base",
           "SPMIS_SESSION_IDLE_MINUTES": "10", "SPMIS_SESSION_MAX_HOURS": "2",
           "SPMIS_REQUIRE_MFA": "0"}
    run = subprocess.run([sys.executable, "-c", f"import django; django.setup(); {code}"],
                         cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    assert run.stdout.split() == ["600", "7200", "False"]
    env["SPMIS_SESSION_MAX_HOURS"] = "eight"
    bad = subprocess.run([sys.executable, "-c", f"import django; django.setup(); {code}"],
                         cwd=ROOT, env=env, capture_output=True, text=True)
    assert bad.returncode != 0 and "SPMIS_SESSION_MAX_HOURS must be a whole number" in bad.stderr


def test_disabling_a_user_ends_their_sessions_and_tokens(staff, frozen):
    client = enrolled(staff, frozen)
    second = Client()
    frozen.advance(seconds=30)
    login(staff.username, client=second)
    assert second.post("/login/code/", {"code": code_at(staff, frozen.step)}).status_code == 302
    token = factories.api_token(staff)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert api.get("/api/v1/schemes/").status_code == 200
    assert UserSession.objects.filter(user=staff).count() == 2

    done = CliRunner().invoke(cli, ["user", "disable", staff.username, "--reason", "left"])
    assert done.exit_code == 0, done.output
    for c in (client, second):
        response = c.get(PAGE)
        assert response.status_code == 302 and response["Location"].startswith("/login/")
    assert api.get("/api/v1/schemes/").status_code == 401
    assert not UserSession.objects.filter(user=staff).exists()
    assert login(staff.username)[1].status_code == 200  # cannot log in again
    event = AuditEvent.objects.get(action="user.disable")
    assert event.detail["reason"] == "left" and event.detail["sessions_ended"] == 2
    assert event.detail["tokens_revoked"] == 1
    unknown = CliRunner().invoke(cli, ["user", "disable", "ghost"])
    assert unknown.exit_code == 1 and "No user named 'ghost'" in unknown.output


def test_user_disable_service_is_audited_with_its_actor(staff, area):
    admin = user_create(actor=None, username="secadmin", password=PASSWORD)
    user_disable(actor=admin, user=staff, reason="compromised")
    staff.refresh_from_db()
    assert not staff.is_active
    event = AuditEvent.objects.get(action="user.disable")
    assert event.actor_username == "secadmin" and event.object_id == str(staff.pk)


# Deployment and demo -----------------------------------------------------------------------

def test_production_settings_pass_the_deploy_check():
    key = "".join(secrets.choice(string.ascii_letters + string.digits + "!@#%^&*(-_=+)")
                  for _ in range(64))
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.production",
           "SPMIS_SECRET_KEY": key}
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)  # set by the browser tests' conftest
    run = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT, env=env, capture_output=True, text=True,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "no issues" in run.stdout


def test_demo_serves_with_the_second_factor_off_and_says_so(staff, monkeypatch):
    from spmis.cli import main

    monkeypatch.setattr(django_settings, "SPMIS_REQUIRE_MFA", True)  # restored afterwards
    monkeypatch.setattr(main, "_synthesise", lambda **kw: {"persons": 0})
    monkeypatch.setattr(main, "_ingest_office_files", lambda directory, link=False: None)
    served: list[bool] = []
    monkeypatch.setattr(main, "_serve", lambda *a: served.append(django_settings.SPMIS_REQUIRE_MFA))
    done = CliRunner().invoke(cli, ["demo", "--persons", "100"])
    assert done.exit_code == 0, done.output
    assert served == [False]
    warnings = [line for line in done.output.splitlines() if "second factor" in line]
    assert len(warnings) == 1 and "OFF" in warnings[0]
    # In that process a demo user goes straight in with the password.
    client, response = login("registrar", main.DEMO_PASSWORD)
    assert response.status_code == 302 and response["Location"] == "/"
    assert client.get(PAGE).status_code == 200
