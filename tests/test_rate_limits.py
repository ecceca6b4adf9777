"""Rate limits bite: sign-in per username and per address, person search (page and API) and the
whole API per user and per address, each answering 429 with Retry-After and recorded once a
minute in the audit log. (The suite's settings raise every limit; these tests lower them.)"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from django.core.cache import cache
from django.test import Client
from rest_framework.test import APIClient

from config.settings import base
from spmis.audit.models import AuditEvent
from spmis.core import clock
from tests import factories
from tests.helpers import PASSWORD, logged_in

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[1]
DEFAULTS = {"SPMIS_RATE_LOGIN_PER_USERNAME": 10, "SPMIS_RATE_LOGIN_PER_ADDRESS": 60,
            "SPMIS_RATE_SEARCH_PER_USER": 60, "SPMIS_RATE_SEARCH_PER_ADDRESS": 300,
            "SPMIS_RATE_API_PER_USER": 600, "SPMIS_RATE_API_PER_ADDRESS": 1200}


class Clock:
    """15 seconds into a minute, so every count of a test falls in one window."""

    def __init__(self) -> None:
        self.moment = dt.datetime(2026, 7, 1, 9, 0, 15, tzinfo=dt.UTC)

    def __call__(self) -> dt.datetime:
        return self.moment


@pytest.fixture
def minute(monkeypatch: pytest.MonkeyPatch, settings) -> Clock:
    cache.clear()
    pinned = Clock()
    monkeypatch.setattr(clock, "now", pinned)
    for name in DEFAULTS:
        setattr(settings, name, 10_000)
    yield pinned
    cache.clear()


@pytest.fixture
def area(db: None):
    return factories.area("XY")


def registrar(name: str):
    return factories.user("REGISTRAR", area="XY", username=name)


def limited() -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action="access.rate_limited").order_by("seq"))


def sign_in(username: str, password: str = "wrong-password", address: str = "203.0.113.7",
            **extra: str):
    return Client(REMOTE_ADDR=address, **extra).post(
        "/login/", {"username": username, "password": password})


def test_sign_in_per_username(minute, settings, area):
    settings.SPMIS_RATE_LOGIN_PER_USERNAME = 3
    registrar("amina")
    for _ in range(3):
        assert sign_in("amina").status_code == 200  # the form again: wrong password
    refused = sign_in("Amina", PASSWORD)  # the right password, another spelling: still counted
    assert refused.status_code == 429 and refused["Retry-After"] == "45"
    assert "Too many sign-in attempts for this username: at most 3 a minute" in \
        refused.content.decode()
    assert sign_in("amina", PASSWORD).status_code == 429
    assert sign_in("joseph").status_code == 200  # another username from the same address
    [event] = limited()
    assert event.object_id == "login" and event.client_address == "203.0.113.7"
    assert event.detail == {"per": "username", "per_minute": 3, "username": "amina"}
    minute.moment += dt.timedelta(seconds=45)  # the next minute
    assert sign_in("amina", PASSWORD).status_code == 302


def test_sign_in_per_address_whatever_it_forwards(minute, settings, area):
    settings.SPMIS_RATE_LOGIN_PER_ADDRESS = 2
    assert sign_in("a").status_code == sign_in("b").status_code == 200
    spoofed = sign_in("c", HTTP_X_FORWARDED_FOR="192.0.2.99")  # not from a trusted proxy
    assert spoofed.status_code == 429 and int(spoofed["Retry-After"]) == 45
    assert "from your address" in spoofed.content.decode()
    assert sign_in("c", address="198.51.100.1").status_code == 200
    assert [e.detail["per"] for e in limited()] == ["address"]


def test_person_search_page_per_user(minute, settings, area):
    settings.SPMIS_RATE_SEARCH_PER_USER = 2
    client = logged_in(registrar("amina"))
    assert client.get("/persons/?q=ana").status_code == 200
    assert client.get("/persons/?q=anab").status_code == 200
    refused = client.get("/persons/?q=anabe")
    assert refused.status_code == 429 and refused["Retry-After"] == "45"
    assert "Too many searches for your account" in refused.content.decode()
    assert refused["Cache-Control"] == "no-store"
    assert client.get("/").status_code == 200  # other pages are not searches
    assert logged_in(registrar("joseph")).get("/persons/?q=ana").status_code == 200
    [event] = limited()
    assert event.actor_username == "amina" and event.detail["per"] == "user"


def test_person_search_per_address(minute, settings, area):
    settings.SPMIS_RATE_SEARCH_PER_ADDRESS = 2
    first, second = logged_in(registrar("amina")), logged_in(registrar("joseph"))
    assert first.get("/persons/?q=a").status_code == 200
    assert second.get("/persons/?q=a").status_code == 200
    assert second.get("/persons/?q=b").status_code == 429


def test_person_search_api_per_user(minute, settings, area, api_for):
    settings.SPMIS_RATE_SEARCH_PER_USER = 2
    api = api_for(registrar("amina"))
    for _ in range(2):
        assert api.get("/api/v1/persons/?q=ana").status_code == 200
    refused = api.get("/api/v1/persons/?q=ana")
    assert refused.status_code == 429 and refused["Retry-After"] == "45"
    assert re.match(r"Too many searches for your account: at most 2 a minute\. "
                    r"Expected available in 45 seconds\.", refused.json()["detail"])
    assert api.get("/api/v1/schemes/").status_code == 200  # the API's own limit is far


def test_the_api_per_user(minute, settings, area, api_for):
    settings.SPMIS_RATE_API_PER_USER = 3
    api = api_for(registrar("amina"))
    assert [api.get("/api/v1/schemes/").status_code for _ in range(4)] == [200, 200, 200, 429]
    assert api_for(registrar("joseph")).get("/api/v1/schemes/").status_code == 200


def test_the_api_per_address_before_any_token_is_looked_at(minute, settings, area):
    settings.SPMIS_RATE_API_PER_ADDRESS = 3
    forged = APIClient(REMOTE_ADDR="203.0.113.7")
    forged.credentials(HTTP_AUTHORIZATION="Token " + "f" * 43)
    codes = [forged.get("/api/v1/schemes/").status_code for _ in range(5)]
    assert codes == [401, 401, 401, 429, 429]
    refused = forged.get("/api/v1/persons/")
    assert refused.status_code == 429 and refused["Retry-After"] == "45"
    assert "API requests from your address" in refused.json()["detail"]
    assert AuditEvent.objects.filter(action="auth.token_refused").count() == 3  # capped
    assert len(limited()) == 1


def test_defaults_are_the_documented_ones():
    readme = (ROOT / "README.md").read_text()
    for name, default in DEFAULTS.items():
        assert getattr(base, name) == default, name
        row = next(line for line in readme.splitlines() if line.startswith(f"| `{name}` |"))
        assert f"default `{default}`" in row, name
