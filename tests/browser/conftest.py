"""Browser fixtures: one Chromium per session, a fresh page per test, data committed for real."""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pyotp
import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from spmis.access.models import Clearance, User
from spmis.synth.country import Country
from tests import factories
from tests.helpers import PASSWORD, mfa_code

# Playwright's sync API runs an event loop in this thread; the ORM would refuse to run under it.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        reason = f"Chromium not found at {CHROMIUM}; browser tests need it."
        if os.environ.get("SPMIS_REQUIRE_BROWSER") == "1":
            pytest.fail(f"{reason} SPMIS_REQUIRE_BROWSER=1 forbids skipping.", pytrace=False)
        pytest.skip(reason)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context()
    # Generous: on a loaded 2-core CI box a login (password hashing) took over 10 s.
    context.set_default_timeout(30_000)
    yield context.new_page()
    context.close()


@pytest.fixture
def country(_dataset: Country, transactional_db: None) -> Country:
    """The shared 1,500-person country (built once per session), a committed copy for each
    test so the live server's thread can see it."""
    return dataclasses.replace(_dataset, truth=dict(_dataset.truth))


@pytest.fixture
def make_user(transactional_db: None) -> Callable[..., User]:
    def make(role: str = "REGISTRAR", area: str = "XY") -> User:
        return factories.user(role, area=area, username=f"{role.lower()}_{area.lower()}",
                              clearance=Clearance.SECRET)

    return make


@pytest.fixture
def log_in(page: Page, live_server) -> Callable[[User], Page]:
    def log_in(user: User) -> Page:
        page.goto(f"{live_server.url}/login/")
        page.fill("#id_username", user.username)
        page.fill("#id_password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(re.compile(r"/login/(authenticator|code)/"))  # staff: second factor
        secret = page.locator("[data-testid=mfa-secret]")
        # First login: enrol, as a person would, from the key on the page.
        code = pyotp.TOTP(secret.inner_text()).now() if secret.count() else mfa_code(user)
        page.fill("#id_code", code)
        page.click("main button[type=submit]")  # not the header's log-out button
        page.wait_for_url(f"{live_server.url}/")
        return page

    return log_in
