"""Clearing the review queue in real Chromium with the keyboard only: no mouse click from the
list to the queue's end, each decision confirmed on the page, and the decisions stored. And
the two records on a phone: stacked, differences still marked, nothing wider than the screen,
and the confirmation step without an accessibility finding."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from spmis.geography.models import Area
from spmis.linkage.models import Link, LinkState
from spmis.linkage.services import identities_derive
from spmis.registry.models import Person
from tests import factories
from tests.browser.checks import findings, overflow

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("country")]


def _queue(district: Area, n: int) -> list[Link]:
    """``n`` pairs waiting in ``district``, each of two records no other pair touches, the
    first nearest even odds (so the queue's order is the list's)."""
    people = list(Person.objects.filter(area__path__startswith=district.path).order_by("id")
                  [:2 * n])
    Link.objects.filter(state=LinkState.REVIEW).delete()
    run = factories.linkage_run()
    pairs = [factories.link(people[2 * i], people[2 * i + 1], run=run, probability=0.6,
                            weight=0.5 + i, state=LinkState.REVIEW,
                            weights={"surname": 4.0, "given_name": -1.0})
             for i in range(n)]
    identities_derive(run=run)
    return pairs


def ready(page) -> None:
    """The page's shortcuts work: review.js has shown the legend."""
    expect(page.locator("[data-shortcuts]")).to_be_visible()


def test_an_officer_clears_the_queue_with_the_keyboard(log_in, make_user, live_server):
    district = Area.objects.filter(level=2).order_by("path").first()
    first, second, third = _queue(district, 3)
    page = log_in(make_user("TARGETING_OFFICER", district.code))
    page.goto(f"{live_server.url}/linkage/review/")
    ready(page)
    expect(page.locator("tr[data-link]")).to_have_count(3)

    page.keyboard.press("j")  # the first pair
    expect(page).to_have_url(re.compile(rf"/linkage/review/{first.pk}/\?back=REVIEW$"))
    ready(page)
    expect(page.locator("[data-testid=records] tr.differs, [data-testid=records] tr.same")
           ).not_to_have_count(0)
    expect(page.locator("[data-testid=waterfall] tbody tr th")).to_have_text(
        ["Prior (any two records)", "Family name", "Given name", "Total match weight"])

    page.keyboard.press("m")  # match: shown first
    expect(page.locator("[data-testid=decision-effect] h2")).to_have_text("Confirm: Match")
    ready(page)
    assert Link.objects.get(pk=first.pk).state == LinkState.REVIEW
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(rf"/linkage/review/{second.pk}/\?back=REVIEW$"))
    ready(page)
    expect(page.get_by_role("status")).to_contain_text(f"Pair {first.pk}: Match recorded.")

    page.keyboard.press("s")  # skip, then Esc back to the list and start again
    expect(page).to_have_url(re.compile(rf"/linkage/review/{third.pk}/\?back=REVIEW$"))
    ready(page)
    page.keyboard.press("Escape")
    expect(page).to_have_url(re.compile(r"/linkage/review/\?state=REVIEW$"))
    ready(page)
    page.keyboard.press("j")
    expect(page).to_have_url(re.compile(rf"/linkage/review/{second.pk}/\?back=REVIEW$"))
    ready(page)

    page.keyboard.press("n")  # not a match: the reason is asked, typing does not trigger keys
    expect(page.locator("#reason")).to_be_focused()
    page.keyboard.press("Escape")  # cancel: nothing changed
    expect(page).to_have_url(re.compile(rf"/linkage/review/{second.pk}/\?back=REVIEW$"))
    ready(page)
    expect(page.locator("[data-testid=decision-effect]")).to_have_count(0)
    page.keyboard.press("n")
    expect(page.locator("#reason")).to_be_focused()
    ready(page)
    page.keyboard.type("mother and son, same names")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(rf"/linkage/review/{third.pk}/\?back=REVIEW$"))
    ready(page)

    page.keyboard.press("u")
    expect(page.locator("[data-testid=decision-effect] h2")).to_have_text("Confirm: Unsure")
    ready(page)
    page.keyboard.press("Enter")  # a reason is required: the browser asks, nothing is sent
    expect(page.locator("#reason")).to_be_focused()
    page.keyboard.type("ask the district office")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/linkage/review/\?state=REVIEW&end=1$"))
    ready(page)
    expect(page.locator("[data-testid=queue-empty]")).to_contain_text("The queue is empty")

    stored = {link.pk: (link.state, link.reason) for link in Link.objects.filter(
        pk__in=[first.pk, second.pk, third.pk])}
    assert stored == {first.pk: (LinkState.MATCH, ""),
                      second.pk: (LinkState.NON_MATCH, "mother and son, same names"),
                      third.pk: (LinkState.UNSURE, "ask the district office")}


def test_on_a_phone_the_records_stack_with_their_differences(log_in, make_user, live_server):
    district = Area.objects.filter(level=2).order_by("path").first()
    (link,) = _queue(district, 1)
    page = log_in(make_user("REGISTRAR", district.code))
    for width, height in ((360, 740), (1366, 768)):
        page.set_viewport_size({"width": width, "height": height})
        for url in (f"/linkage/review/{link.pk}/", "/linkage/review/"):
            page.goto(f"{live_server.url}{url}")
            assert overflow(page) == [], (width, url)
        page.goto(f"{live_server.url}/linkage/review/{link.pk}/")
        ready(page)
        page.keyboard.press("n")
        expect(page.locator("[data-testid=decision-effect]")).to_be_visible()
        assert overflow(page) == [], (width, "confirmation")
        assert findings(page) == [], (width, "confirmation")  # axe-core: nothing above minor
    for width, stacked in ((360, True), (1366, False)):
        page.set_viewport_size({"width": width, "height": 740})
        page.goto(f"{live_server.url}/linkage/review/{link.pk}/")
        cells = page.locator("[data-testid=records] tr[data-field=given_name] td")
        a, b = cells.nth(0).bounding_box(), cells.nth(1).bounding_box()
        assert a and b
        assert (b["y"] >= a["y"] + a["height"] - 1) == stacked, width  # B under A on a phone
        marked = page.locator("[data-testid=records] tr.differs .diff")
        if marked.count():  # a difference stays marked, in words, at every width
            expect(marked.first).to_be_visible()
            expect(marked.first).to_have_text("differs")
