"""The audit search and the access review's actions through real Chromium."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from spmis.audit.models import AuditEvent
from spmis.geography.models import Area

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("country")]


def test_security_admin_disables_a_user_after_confirming(log_in, make_user, live_server):
    district = Area.objects.filter(level=2).order_by("path").first()
    target = make_user("REGISTRAR", district.code)
    admin = make_user("SECURITY_ADMIN")
    page = log_in(admin)
    page.get_by_role("link", name="Access", exact=True).click()
    expect(page).to_have_url(re.compile(r"/access/review/$"))
    row = page.locator(f"tr[data-user='{target.username}']")
    expect(row).to_contain_text("never")  # never signed in
    mine = page.locator(f"tr[data-user='{admin.username}']")
    expect(mine).to_contain_text("you")
    # Last login: relative ("now", "2 minutes ago"), the exact time in a title.
    expect(mine.locator("time")).to_have_attribute("title", re.compile(r"\d\d:\d\d"))
    row.get_by_role("link", name=f"Disable {target.username}").click()
    expect(page).to_have_url(re.compile(rf"/access/review/users/{target.pk}/disable/$"))
    expect(page.locator("[data-testid=changes]")).to_contain_text(
        f"{target.username} can no longer sign in")
    target.refresh_from_db()
    assert target.is_active  # the confirmation page changed nothing
    page.fill("#reason", "Left the ministry, ticket 4411")
    page.get_by_role("button", name=f"Disable {target.username}").click()
    expect(page).to_have_url(re.compile(r"/access/review/$"))
    expect(page.get_by_role("status")).to_contain_text(f"{target.username} is disabled.")
    expect(page.locator(f"tr[data-user='{target.username}']")).to_contain_text("disabled")
    target.refresh_from_db()
    assert not target.is_active
    entry = AuditEvent.objects.filter(action="user.disable").latest("seq")
    assert entry.actor_username == admin.username
    assert entry.detail["reason"] == "Left the ministry, ticket 4411"


def test_auditor_picks_an_action_and_is_told_of_reversed_dates(log_in, make_user, live_server):
    page = log_in(make_user("AUDITOR"))
    page.get_by_role("link", name="Audit", exact=True).click()
    expect(page).to_have_url(re.compile(r"/audit/$"))
    page.select_option("#action", "auth.login")
    page.fill("#since", "2026-06-02")
    page.fill("#until", "2026-06-01")
    page.get_by_role("button", name="Search").click()
    expect(page.locator("#until-error")).to_contain_text("before the From date")
    expect(page.locator("table.audit-entries")).to_have_count(0)
    page.fill("#since", "")
    page.fill("#until", "")
    page.get_by_role("button", name="Search").click()
    expect(page.locator("table.audit-entries tbody tr").first).to_contain_text("auth.login")
    expect(page.locator("#action")).to_have_value("auth.login")
    with page.expect_download() as download:
        page.get_by_role("link", name="Export these entries (CSV)").click()
    lines = Path(download.value.path()).read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("seq,occurred_at_utc,actor,action")
    assert all(",auth.login," in line for line in lines[1:]) and len(lines) > 1


def test_the_security_admins_pages_fit_a_phone_and_pass_axe(log_in, make_user, live_server):
    district = Area.objects.filter(level=2).order_by("path").first()
    target = make_user("REGISTRAR", district.code)
    page = log_in(make_user("SECURITY_ADMIN"))
    page.set_viewport_size({"width": 360, "height": 740})
    wide, findings = [], {}
    for path in ("/access/review/", f"/access/review/users/{target.pk}/disable/",
                 f"/access/review/users/{target.pk}/sign-out/",
                 f"/access/review/roles/{target.role_assignments.get().pk}/revoke/",
                 "/audit/?action=role.assign", "/audit/?since=2026-06-02&until=2026-06-01"):
        page.goto(f"{live_server.url}{path}")
        if page.evaluate("() => document.documentElement.scrollWidth "
                         "> document.documentElement.clientWidth + 1"):
            wide.append(path)
        # axe-core: nothing above minor on the review's own pages either.
        found = [v["id"] for v in Axe().run(page).response["violations"]
                 if v.get("impact") != "minor"]
        if found:
            findings[path] = found
    assert not wide
    assert not findings
