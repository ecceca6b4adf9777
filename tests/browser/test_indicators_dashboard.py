"""The indicators dashboard through real Chromium: cards, the chart, a drill-down click."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from playwright.sync_api import expect

from spmis.indicators.services import indicators_run, target_set

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("country")]


def test_statistician_drills_into_a_region(log_in, make_user, live_server):
    indicators_run(actor=None, period=dt.date(2026, 6, 1))
    page = log_in(make_user("STATISTICIAN"))
    page.get_by_role("link", name="Indicators", exact=True).click()
    expect(page).to_have_url(re.compile(r"/indicators/$"))
    for code in ("COV_ANY", "COV_HEALTH", "COV_CHILDREN", "COV_WORKING_AGE", "COV_OLD_AGE"):
        card = page.locator(f"[data-testid=card-{code}]")
        expect(card).to_contain_text("%")
        expect(card).to_contain_text("Women")
        expect(card).to_contain_text("Men")
    expect(page.locator("canvas#areas-chart")).to_be_visible()
    expect(page.locator("canvas#series-chart")).to_be_visible()
    assert page.evaluate("() => !!window.Chart && !!Chart.getChart('areas-chart')"
                         " && !!Chart.getChart('series-chart')")
    first = page.locator("[data-testid=drill-down] tbody tr").first
    name = first.locator("a").inner_text()
    first.locator("a").click()
    expect(page).to_have_url(re.compile(r"/indicators/\?area=\w+&indicator=COV_ANY$"))
    crumbs = page.locator("[data-testid=breadcrumbs]")
    expect(crumbs).to_contain_text(name)
    expect(crumbs.get_by_role("link")).to_have_count(1)  # back up to the country
    expect(page.locator("h1")).to_contain_text(name)


def test_following_one_scheme_down_the_areas(log_in, make_user, live_server):
    indicators_run(actor=None, period=dt.date(2026, 6, 1))
    page = log_in(make_user("STATISTICIAN"))
    page.goto(live_server.url + "/indicators/?indicator=COV_OLD_AGE")
    rows = page.locator("[data-testid=by-scheme] tbody tr")
    expect(rows).to_have_count(2)  # the social and the contributory pension
    rows.filter(has_text="Universal Social Pension").locator("a").click()
    expect(page).to_have_url(re.compile(r"scheme=SOCIAL_PENSION"))
    expect(page.locator("[data-testid=scheme-filter]")).to_contain_text("Universal Social Pension")
    page.locator("[data-testid=drill-down] tbody tr a").first.click()
    expect(page).to_have_url(re.compile(r"scheme=SOCIAL_PENSION"))
    expect(page.locator("[data-testid=scheme-filter]")).to_be_visible()
    page.get_by_role("link", name="Any scheme").click()
    expect(page.locator("[data-testid=scheme-filter]")).to_have_count(0)


def test_choosing_a_period_shows_its_run_and_the_series_says_which_months_lack_one(
        log_in, make_user, live_server):
    april = indicators_run(actor=None, period=dt.date(2026, 4, 1))
    indicators_run(actor=None, period=dt.date(2026, 6, 1))
    target_set(actor=None, indicator="COV_ANY", area_code="XY", year=2030, value=60.0)
    page = log_in(make_user("STATISTICIAN"))
    page.goto(live_server.url + "/indicators/")
    expect(page.locator("[data-testid=run]")).to_contain_text("June 2026")
    picker = page.locator("[data-testid=period-form]")
    picker.get_by_label("Period").select_option("2026-04")
    picker.get_by_role("button", name="Show").click()
    expect(page).to_have_url(re.compile(r"period=2026-04"))
    expect(page.locator("[data-testid=run]")).to_contain_text(f"April 2026 · run {april.pk}")
    expect(page.locator("[data-testid=no-run-in-series]")).to_have_count(1)  # May
    assert page.evaluate("() => Chart.getChart('series-chart').data.labels.join(',')") \
        == "2026-04,2026-05,2026-06"
    # The target is a level across the months, not a lone point after the last one.
    target = page.evaluate("() => Chart.getChart('series-chart').data.datasets"
                           ".filter(d => d.label === 'Target 2030').map(d => d.data)")
    assert target == [[60.0, 60.0, 60.0]]
    # Down an area, the period stays.
    page.locator("[data-testid=drill-down] tbody tr a").first.click()
    expect(page).to_have_url(re.compile(r"period=2026-04"))
    expect(page.locator("[data-testid=run]")).to_contain_text("April 2026")
    page.goto(live_server.url + "/indicators/?period=2026-02")
    expect(page.locator("[data-testid=no-run-for-period]")).to_contain_text("February 2026")
    page.goto(live_server.url + "/indicators/?period=26-2")
    expect(page.locator("[data-testid=messages]")).to_contain_text("YYYY-MM")
