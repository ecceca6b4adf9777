"""The survey errors page through real Chromium: from the dashboard's link to the chart."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from spmis.core.formatting import interval, percent
from spmis.indicators.survey import SurveyBenchmark, SurveyColumns, survey_compute
from spmis.indicators.survey_services import survey_save
from spmis.synth.survey import survey_synthesise, survey_write

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("country")]


def test_statistician_opens_the_survey_errors(log_in, make_user, live_server, tmp_path):
    paths = survey_write(survey_synthesise(households=300, seed=6,
                                           with_population=False).sample, tmp_path)
    result = survey_compute(paths["csv"], SurveyColumns(
        weight="weight", welfare="welfare", benefit="benefit", household="hhid",
        strata="stratum", psu="psu"), SurveyBenchmark.parse("bottom-40"))
    survey_save(actor=None, result=result, name="Household survey 2025", year=2025)
    page = log_in(make_user("STATISTICIAN"))
    page.get_by_role("link", name="Indicators", exact=True).click()
    page.get_by_role("link", name="Survey-based inclusion and exclusion errors").click()
    expect(page).to_have_url(re.compile(r"/indicators/survey/$"))
    expect(page.locator("[data-testid=benchmark]")).to_contain_text("the poorest 40% of persons")
    ee = result.get("EE")
    assert ee.value is not None and ee.ci_low is not None and ee.ci_high is not None
    expect(page.locator("[data-testid=card-EE]")).to_contain_text(percent(100 * ee.value))
    expect(page.locator("[data-testid=card-EE]")).to_contain_text(
        interval(100 * ee.ci_low, 100 * ee.ci_high))
    expect(page.locator("[data-testid=quintiles] tbody tr")).to_have_count(5)
    expect(page.locator("canvas#quintile-chart")).to_be_visible()
    assert page.evaluate("() => !!window.Chart && Chart.getChart('quintile-chart')"
                         ".data.datasets.length === 2")
