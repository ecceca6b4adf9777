"""Every page a role's menu reaches, on a phone (360 px) and a desktop (1366 px): nothing wider
than the window, so nothing needs a horizontal scroll; wide tables scroll inside their box."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

from spmis.indicators.services import indicators_run
from spmis.intake.models import Submission
from spmis.registry.models import Person
from tests.browser.checks import overflow
from tests.helpers import AS_OF

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("country")]

ROLES = ("REGISTRAR", "STATISTICIAN", "DATA_COLLECTOR", "APPROVER", "AUDITOR",
         "SCHEME_MANAGER")
def pages_for(page: Page, live_server) -> list[str]:
    links = page.locator("header.top nav a").evaluate_all("as => as.map(a => a.href)")
    extra = [f"{live_server.url}/persons/{Person.objects.order_by('id').first().pk}/",
             f"{live_server.url}/schemes/"]
    submission = Submission.objects.order_by("id").first()
    if submission is not None:
        extra.append(f"{live_server.url}/intake/submissions/{submission.pk}/")
    return [*links, *extra]


@pytest.mark.parametrize("role", ROLES)
def test_no_page_is_wider_than_a_phone_or_a_desktop(log_in, make_user, live_server, role):
    indicators_run(actor=None, period=AS_OF.replace(day=1))
    page = log_in(make_user(role))
    wide = {}
    for width, height in ((360, 740), (1366, 768)):
        page.set_viewport_size({"width": width, "height": height})
        for url in pages_for(page, live_server):
            response = page.goto(url)
            if response is None or response.status >= 400:
                continue  # a page this role may not open (the access matrix tests that)
            found = overflow(page)
            if found:
                wide[f"{width}px {url.removeprefix(live_server.url)}"] = found
    assert not wide, wide
