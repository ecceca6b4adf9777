"""Every answer carries a strict Content-Security-Policy, a Permissions-Policy and a
Referrer-Policy; answers that may hold personal data (any page of a signed-in user, any API
answer) are never stored by a browser or proxy; no template has inline script or style."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from rest_framework.test import APIClient

from tests import factories
from tests.helpers import logged_in

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[1]
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
       "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
       "form-action 'self'; frame-ancestors 'none'")


@pytest.fixture
def officer():
    factories.area("XY")
    return factories.user("REGISTRAR", area="XY", username="officer")


def assert_policies(response) -> None:
    assert response["Content-Security-Policy"] == CSP
    assert "unsafe" not in response["Content-Security-Policy"]
    policy = response["Permissions-Policy"]
    for feature in ("camera", "microphone", "geolocation", "payment", "usb"):
        assert f"{feature}=()" in policy
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Content-Type-Options"] == "nosniff"


def test_the_login_page(db):
    response = Client().get("/login/")
    assert response.status_code == 200
    assert_policies(response)
    assert response["X-Frame-Options"] == "DENY"
    assert "no-store" in response["Cache-Control"]  # Django's never_cache on the login view


def test_a_signed_in_page_is_never_stored(officer):
    client = logged_in(officer)
    for path in ("/", "/persons/", "/schemes/", "/no-such-page/"):
        response = client.get(path)
        assert response.status_code in (200, 404), path
        assert_policies(response)
        assert response["Cache-Control"] == "no-store", path


def test_api_answers_are_never_stored(officer, api_for):
    for response in (api_for(officer).get("/api/v1/schemes/"),
                     APIClient().get("/api/v1/schemes/")):
        assert response.status_code in (200, 401)
        assert_policies(response)
        assert response["Cache-Control"] == "no-store"


def test_static_files_stay_cacheable(db):
    response = Client().get(f"{settings.STATIC_URL}spmis/spmis.css")
    assert response.status_code == 200
    assert "no-store" not in response.get("Cache-Control", "")


def test_no_template_has_inline_script_or_style():
    found = []
    for template in sorted(ROOT.glob("spmis/*/templates/**/*.html")):
        text = template.read_text()
        name = template.relative_to(ROOT)
        found += [f"{name}: inline <script>" for tag in re.findall(r"<script\b[^>]*>", text)
                  if "src=" not in tag]
        found += [f"{name}: <style>" for _ in re.findall(r"<style\b", text)]
        found += [f"{name}: style attribute" for _ in re.findall(r"\sstyle=", text)]
        found += [f"{name}: event handler attribute"
                  for _ in re.findall(r"\son[a-z]+\s*=\s*[\"']", text)]
    assert not found, "\n".join(found)
