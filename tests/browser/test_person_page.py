"""The person page in Chromium (issue 16): the pensioner who died in April shows the banner
(an alert) linking to her open flag and the payments since marked, with nothing wider than a
phone (360 px) or a desktop (1366 px)."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.registry.helpers import DIED, pensioner_identity

pytestmark = pytest.mark.browser

SLACK = 1  # sub-pixel rounding


def wider_than_window(page: Page) -> list[str]:
    """Elements past the window's right edge that no scrolling box of theirs clips."""
    return page.evaluate("""(slack) => {
      const width = document.documentElement.clientWidth;
      if (document.documentElement.scrollWidth <= width + slack) { return []; }
      const out = [];
      for (const el of document.body.querySelectorAll("*")) {
        let clipped = false;
        for (let p = el.parentElement; p; p = p.parentElement) {
          if (["auto", "scroll", "hidden"].includes(getComputedStyle(p).overflowX)) {
            clipped = true; break;
          }
        }
        if (!clipped && el.getBoundingClientRect().right > width + slack) {
          out.push(el.tagName.toLowerCase() + "." + el.className);
        }
      }
      return out.slice(0, 5);
    }""", SLACK)


def test_the_identity_page_on_a_phone_and_a_desktop(log_in, make_user, live_server,
                                                    transactional_db):
    world = pensioner_identity()
    page = log_in(make_user("REGISTRAR"))
    for width, height in ((360, 740), (1366, 768)):
        page.set_viewport_size({"width": width, "height": height})
        page.goto(f"{live_server.url}/persons/{world.pension.pk}/")
        banner = page.get_by_role("alert")
        expect(banner).to_be_visible()
        expect(banner.locator(f"[data-died-on='{DIED.isoformat()}']")).to_have_count(2)
        expect(page.locator("[data-testid=identity-records] li[data-record]")).to_have_count(3)
        expect(page.locator("tr[data-after-death]")).to_have_count(5)
        assert wider_than_window(page) == [], f"{width}px"
    page.get_by_role("alert").get_by_role("link", name=f"Open flag {world.flags[0].pk}").click()
    expect(page).to_have_url(f"{live_server.url}/crosscheck/flags/{world.flags[0].pk}/")
    expect(page.locator("[data-testid=flag-detail]")).to_be_visible()
