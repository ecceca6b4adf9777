"""axe-core in Chromium on every page each demo role's menu reaches (as the phone-layout test
walks them, plus the pages one opens from a list), on a desktop (1366 px) and a phone (360 px):
no finding above "minor". A failure lists
each finding's rule, impact, page and the selectors of the elements it is about.

And the skip link: the first thing the keyboard reaches, visible when it has focus, taking the
focus to the page's main content.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from spmis.access.models import Role
from spmis.access.services import approval_request
from spmis.geography.models import Area
from spmis.indicators.services import indicators_run
from spmis.intake.models import Submission
from spmis.linkage.models import Link, VerificationFlag
from spmis.registry.models import Person
from spmis.schemes.models import Enrolment, EnrolmentStatus
from tests import factories
from tests.browser.checks import findings
from tests.helpers import AS_OF

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("country")]

# Every role of the demo (`spmis demo`: one user per role over the country), and its district
# officer (a registrar over one district).
ROLES = [(role.value, "XY") for role in Role] + [("REGISTRAR", "district")]


def _district() -> str:
    return Area.objects.filter(level=2).order_by("code").values_list("code", flat=True).first()


def _work_to_show() -> None:
    """Something in each work list, so the lists are checked with rows in them: the published
    figures, an open flag, a pair to review, a withdrawal waiting for an approver."""
    indicators_run(actor=None, period=AS_OF.replace(day=1))
    enrolment = Enrolment.objects.filter(
        status=EnrolmentStatus.ACTIVE, person__national_id__isnull=False).order_by("id").first()
    if enrolment is not None and not VerificationFlag.objects.exists():
        factories.deceased_flag(enrolment, registry=factories.registry("CRVS_AXE"))
    persons = list(Person.objects.filter(area__code__startswith=_district()).order_by("id")[:2])
    if len(persons) == 2 and not Link.objects.exists():
        factories.link(persons[0], persons[1])
    source = factories.source("AXE_SRC", area=Area.objects.get(code=_district()))
    submission = factories.submission(source)
    approval_request(maker=factories.user("DATA_COLLECTOR", username="axe_maker"),
                     object_type="submission", object_id=submission.pk,
                     action="submission.withdraw", approver_role="APPROVER",
                     area_code=_district())


def pages_for(page: Page, live_server) -> list[str]:
    """The role's menu links and the pages opened from lists (a person, the schemes, a
    submission, a flag, a pair), as tests/browser/test_phone_layout.py walks them."""
    links = page.locator("header.top nav a").evaluate_all("as => as.map(a => a.href)")
    extra = [f"{live_server.url}/persons/{Person.objects.order_by('id').first().pk}/",
             f"{live_server.url}/schemes/"]
    for model, url in ((Submission, "/intake/submissions/{}/"),
                       (VerificationFlag, "/crosscheck/flags/{}/"),
                       (Link, "/linkage/review/{}/")):
        first = model.objects.order_by("id").first()
        if first is not None:
            extra.append(live_server.url + url.format(first.pk))
    seen: list[str] = []
    for url in [*links, *extra]:
        if url not in seen:
            seen.append(url)
    return seen


@pytest.mark.parametrize(("role", "area"), ROLES, ids=[f"{r}-{a}" for r, a in ROLES])
def test_no_accessibility_finding_above_minor(log_in, make_user, live_server, role, area):
    _work_to_show()
    user = make_user(role, area=_district() if area == "district" else area)
    page = log_in(user)
    failures: dict[str, list[str]] = {}
    checked = []
    urls = pages_for(page, live_server)
    for width, height in ((1366, 768), (360, 740)):
        page.set_viewport_size({"width": width, "height": height})
        for url in urls:
            response = page.goto(url)
            if response is None or response.status >= 400:
                continue  # a page this role may not open (the access matrix tests that)
            page.wait_for_load_state("load")
            checked.append(url)
            found = findings(page)
            if found:
                failures[f"{width}px {url.removeprefix(live_server.url)}"] = found
    assert len(checked) >= 4, checked  # the landing page and one more, at both widths
    assert not failures, "\n".join(f"{where}:\n  " + "\n  ".join(found)
                                   for where, found in failures.items())


def test_the_check_sees_a_finding(log_in, make_user, live_server):
    """The checker itself: an unlabelled image on a served page (under its Content-Security-
    Policy) and on a bare one fails it."""
    page = log_in(make_user("SYSTEM_ADMIN"))
    assert findings(page) == []
    page.evaluate("() => document.querySelector('main').appendChild(document.createElement('img'))")
    assert any(f.startswith("image-alt (critical): img") for f in findings(page))
    page.set_content("<!doctype html><html lang='en'><head><title>t</title></head><body><main>"
                     "<img src='x.png'><input type='text'></main></body></html>")
    found = findings(page)
    assert any(f.startswith("image-alt (critical): img") for f in found), found
    assert any(f.startswith("label (critical): input") for f in found), found


def test_the_skip_link_is_the_first_stop_and_takes_the_focus_to_main(log_in, make_user,
                                                                      live_server):
    page = log_in(make_user("STATISTICIAN"))
    for width, height in ((360, 740), (1366, 768)):
        page.set_viewport_size({"width": width, "height": height})
        page.goto(f"{live_server.url}/")
        skip = page.locator("a.skip-link")
        expect(skip).to_have_text("Skip to content")
        page.keyboard.press("Tab")
        assert page.evaluate("() => document.activeElement.classList.contains('skip-link')")
        box = skip.bounding_box()  # visible on focus: inside the window
        assert box is not None and box["y"] >= 0 and box["x"] >= 0
        assert box["x"] + box["width"] <= width
        page.keyboard.press("Enter")
        assert page.evaluate("() => document.activeElement.id") == "main"
        # Off screen again once the focus has left it.
        box = skip.bounding_box()
        assert box is not None and box["y"] + box["height"] <= 0
