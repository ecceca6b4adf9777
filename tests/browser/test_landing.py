"""The landing page in Chromium, on a phone (360 px) and a desktop (1366 px): the minister's
headline — coverage by sex in the first screen, the worst areas, the trend drawn — and an
officer's work list, neither wider than the window."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from spmis.core import formatting
from spmis.core.periods import add_months
from spmis.geography.models import Area
from spmis.indicators.models import IndicatorValue
from spmis.indicators.services import indicators_run, target_set
from spmis.linkage.models import VerificationFlag
from spmis.schemes.models import Enrolment, EnrolmentStatus
from tests import factories
from tests.helpers import AS_OF

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("country")]

SIZES = ((360, 740), (1366, 768))


def scroll_width(page: Page) -> tuple[int, int]:
    return page.evaluate("() => [document.documentElement.scrollWidth,"
                         " document.documentElement.clientWidth]")


def in_first_screen(page: Page, testid: str) -> bool:
    box = page.get_by_test_id(testid).first.bounding_box()
    size = page.viewport_size
    assert box is not None and size is not None
    return box["y"] >= 0 and box["y"] + box["height"] <= size["height"]


def test_minister_headline_on_a_phone_and_a_desktop(log_in, make_user, live_server):
    period = AS_OF.replace(day=1)
    indicators_run(actor=None, period=add_months(period, -1))
    run = indicators_run(actor=None, period=period)
    target_set(actor=None, indicator="SOC_CONTIG_TOTAL", area_code="XY", year=2030, value=60)
    women = IndicatorValue.objects.get(run=run, indicator="SOC_CONTIG_TOTAL", area_code="XY",
                                       sex="F", age_band="_T", disability="_T", scheme="_T")
    page = log_in(make_user("STATISTICIAN"))
    for width, height in SIZES:
        page.set_viewport_size({"width": width, "height": height})
        page.goto(f"{live_server.url}/")
        wide, window = scroll_width(page)
        assert wide <= window + 1, f"{width}px: the page is {wide}px wide"
        headline = page.get_by_test_id("headline")
        expect(headline.locator("h2")).to_have_text(
            f"Coverage in Xylandia, {formatting.month(period)}")
        card = page.get_by_test_id("landing-SOC_CONTIG_TOTAL")
        expect(card.get_by_test_id("women")).to_have_text(formatting.percent(women.value))
        # Coverage of women and men, the trend and the target: in the first screen.
        assert in_first_screen(page, "landing-SOC_CONTIG_TOTAL"), width
        expect(card.get_by_test_id("trend")).to_contain_text("since")
        expect(card.get_by_test_id("target")).to_contain_text("2030")
        # The worst areas, then the trend drawn.
        rows = page.get_by_test_id("gaps").locator("tbody tr")
        assert rows.count() >= 1
        page.wait_for_function(
            "() => window.Chart && Chart.getChart('trend-chart-1') !== undefined")
        assert page.evaluate("() => Chart.getChart('trend-chart-1').data.datasets.length") == 5
    # A figure opens its drill-down on the indicators page, with the same number.
    card = page.get_by_test_id("landing-SOC_CONTIG_TOTAL")
    card.get_by_test_id("women").click()
    page.wait_for_url("**/indicators/?area=XY&indicator=SOC_CONTIG_TOTAL*")
    expect(page.locator("main")).to_contain_text(formatting.percent(women.value))


def test_officer_work_list_on_a_phone_and_a_desktop(log_in, make_user, live_server):
    district = Area.objects.filter(level=2).order_by("code").first()
    enrolment = Enrolment.objects.filter(
        status=EnrolmentStatus.ACTIVE, person__national_id__isnull=False,
        person__area__path__startswith=district.path).order_by("id").first()
    factories.deceased_flag(enrolment, registry=factories.registry("CRVS_LANDING"), due_in=-1)
    page = log_in(make_user("REGISTRAR", area=district.code))
    for width, height in SIZES:
        page.set_viewport_size({"width": width, "height": height})
        page.goto(f"{live_server.url}/")
        wide, window = scroll_width(page)
        assert wide <= window + 1, f"{width}px: the page is {wide}px wide"
        expect(page.locator("h2").first).to_contain_text(f"Your work in {district.name}")
        flags = page.get_by_test_id("work-flags")
        expect(flags.get_by_test_id("flags-open")).to_have_text(
            str(VerificationFlag.objects.count()))
        expect(flags.get_by_test_id("flags-overdue")).to_have_text("1")
        assert in_first_screen(page, "work-flags"), width
    page.get_by_test_id("work-flags").get_by_role("link").first.click()
    page.wait_for_url("**/crosscheck/flags/")
