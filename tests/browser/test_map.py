"""The drill-down map in real Chromium: beside the table on a desktop, above it on a phone,
never wider than the window; clicking an area, or Enter on it, drills down."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from playwright.sync_api import Page, expect

from spmis.geography.models import Area
from spmis.indicators.services import indicators_run

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("country")]


def no_horizontal_scroll(page: Page) -> bool:
    return page.evaluate("() => document.documentElement.scrollWidth "
                         "<= document.documentElement.clientWidth + 1")


def point_inside(page: Page, code: str) -> tuple[float, float]:
    """A point of the window where the area ``code`` is what a click reaches."""
    found = page.evaluate("""(code) => {
      const link = document.querySelector(`[data-testid=map-svg] a[data-area="${code}"]`);
      const box = link.getBoundingClientRect();
      for (let i = 1; i < 20; i++) { for (let j = 1; j < 20; j++) {
        const x = box.left + box.width * i / 20, y = box.top + box.height * j / 20;
        const hit = document.elementFromPoint(x, y);
        if (hit && hit.closest("a") === link) { return [x, y]; }
      } }
      return null;
    }""", code)
    assert found, code
    return found[0], found[1]


def test_the_map_sits_beside_the_table_on_a_desktop_and_above_it_on_a_phone(
        log_in, make_user, live_server):
    indicators_run(actor=None, period=dt.date(2026, 6, 1))
    page = log_in(make_user("STATISTICIAN"))
    for width, height in ((1366, 768), (360, 740)):
        page.set_viewport_size({"width": width, "height": height})
        page.goto(live_server.url + "/indicators/?area=XY&indicator=COV_ANY")
        svg = page.locator("[data-testid=map-svg]")
        expect(svg).to_be_visible()
        assert no_horizontal_scroll(page), width
        map_box = page.locator("[data-testid=map]").bounding_box()
        table_box = page.locator("[data-testid=drill-down]").bounding_box()
        assert map_box and table_box
        if width == 1366:  # side by side, tops level
            assert map_box["x"] + map_box["width"] <= table_box["x"] + 1
            assert abs(map_box["y"] - table_box["y"]) < 5
        else:  # stacked, the map first, as wide as the screen allows
            assert map_box["y"] + map_box["height"] <= table_box["y"] + 1
            assert map_box["width"] > 300
        assert page.locator("[data-testid=map-svg] a").count() == \
            Area.objects.filter(parent__code="XY").count()


def test_clicking_an_area_on_the_map_drills_down(log_in, make_user, live_server):
    indicators_run(actor=None, period=dt.date(2026, 6, 1))
    page = log_in(make_user("STATISTICIAN"))
    page.set_viewport_size({"width": 360, "height": 740})
    page.goto(live_server.url + "/indicators/?area=XY&indicator=COV_OLD_AGE")
    region = Area.objects.filter(parent__code="XY").order_by("code").last()
    page.locator("[data-testid=map-svg]").scroll_into_view_if_needed()
    x, y = point_inside(page, region.code)
    page.mouse.click(x, y)
    expect(page).to_have_url(re.compile(rf"area={region.code}&indicator=COV_OLD_AGE"))
    expect(page.locator("h1")).to_contain_text(region.name)
    # The region's districts are on the map now; one is reached from the keyboard.
    districts = {a.code: a for a in Area.objects.filter(parent=region)}
    links = page.locator("[data-testid=map-svg] a")
    expect(links).to_have_count(len(districts))
    first = links.first
    code = first.get_attribute("data-area")
    label = first.get_attribute("aria-label")
    assert label.startswith(districts[code].name + ": ")
    # Tab from the indicator picker's button reaches the map's first area.
    page.locator("[data-testid=indicator-form] button").focus()
    for _ in range(10):
        page.keyboard.press("Tab")
        if page.evaluate("() => document.activeElement.closest('svg') !== null"):
            break
    assert page.evaluate("() => document.activeElement.getAttribute('data-area')") == code
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(rf"area={code}&"))
    expect(page.locator("h1")).to_contain_text(districts[code].name)
