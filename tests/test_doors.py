"""What apps declare about their doors: menu entries that lead where their users may go, and
the person page's panels (later apps such as schemes and payments add theirs to registry's page
without registry importing them; a panel may show nothing to a user)."""

from __future__ import annotations

from importlib import import_module

import pytest
from django.conf import settings as django_settings
from django.test import Client

from spmis.access.auth import SESSION_MFA_DONE
from spmis.core.doors import from_every_app
from spmis.registry import panels
from spmis.registry.models import Person

pytestmark = pytest.mark.django_db


def test_each_menu_entry_leads_to_a_route_its_users_may_open():
    policies = {name: policy for _module, table in [
        *from_every_app("route_policy"),
        ("", import_module(django_settings.ROOT_URLCONF).route_policy)]
        for name, policy in table.items()}
    entries = [entry for _module, menu in from_every_app("menu") for entry in menu]
    assert len(entries) >= 11
    for entry in entries:
        policy = policies[entry.url_name]
        assert policy.kind != "public", entry.url_name
        assert entry.permission == policy.permission, entry.url_name


def _client(user) -> Client:
    """Logged in, past the second factor."""
    client = Client()
    client.force_login(user)
    session = client.session
    session[SESSION_MFA_DONE] = True
    session.save()
    return client


def test_later_apps_register_their_panels_in_order():
    body = sorted((order, name) for name, (place, order, _panel) in panels._PANELS.items()
                  if place == "body")
    assert [name for _order, name in body][:3] == [
        "linkage.identity", "schemes.enrolments", "payments.payments"]
    assert [name for name, (place, _o, _p) in panels._PANELS.items() if place == "alert"] == [
        "linkage.flags"]


def test_the_page_renders_each_panel_in_order_and_skips_those_with_nothing(
        country, make_user, monkeypatch, tmp_path, settings):
    (tmp_path / "test_panel.html").write_text("<h2>Panel {{ word }} for {{ person.pk }}</h2>")
    settings.TEMPLATES = [{**settings.TEMPLATES[0], "DIRS": [tmp_path]}]
    monkeypatch.setitem(panels._PANELS, "test.between", (
        "body", 15, lambda page: ("test_panel.html", {"word": "between",
                                                      "person": page.person})))
    monkeypatch.setitem(panels._PANELS, "test.nothing", ("body", 16, lambda page: None))
    person = Person.objects.filter(payments__isnull=False).order_by("id").first()
    html = _client(make_user()).get(f"/persons/{person.pk}/").content.decode()
    enrolments = html.index("Enrolments")
    between = html.index(f"<h2>Panel between for {person.pk}</h2>")
    assert enrolments < between < html.index("Payments received")
