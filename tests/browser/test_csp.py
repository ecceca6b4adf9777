"""The pages under their Content-Security-Policy, in real Chromium: no violation reported and
no console error, while the charts still draw and the upload page's script still runs."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import ConsoleMessage, Page, expect

from spmis.indicators.services import indicators_run
from spmis.indicators.survey import SurveyBenchmark, SurveyColumns, survey_compute
from spmis.indicators.survey_services import survey_save
from spmis.synth.survey import survey_synthesise, survey_write

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("country")]

# Collects every Content-Security-Policy violation the page reports, from before its scripts run.
LISTEN = """window.__csp = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__csp.push(e.violatedDirective + " " + e.blockedURI);
});"""


@pytest.fixture
def console(page: Page) -> Iterator[list[str]]:
    errors: list[str] = []

    def keep(message: ConsoleMessage) -> None:
        if message.type == "error":
            errors.append(message.text)

    page.on("console", keep)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.context.add_init_script(LISTEN)
    yield errors


def assert_clean(page: Page, console: list[str]) -> None:
    assert page.evaluate("() => window.__csp") == []
    assert console == []
    policy = page.evaluate("""async () => (await fetch(location.href))
                                .headers.get("content-security-policy")""")
    assert "script-src 'self'" in policy and "unsafe" not in policy


def test_dashboard_indicators_and_survey_charts_draw_under_the_policy(
        log_in, make_user, live_server, console, tmp_path):
    indicators_run(actor=None, period=dt.date(2026, 6, 1))
    paths = survey_write(survey_synthesise(households=300, seed=6,
                                           with_population=False).sample, tmp_path)
    result = survey_compute(paths["csv"], SurveyColumns(
        weight="weight", welfare="welfare", benefit="benefit", household="hhid",
        strata="stratum", psu="psu"), SurveyBenchmark.parse("bottom-40"))
    survey_save(actor=None, result=result, name="Household survey 2025", year=2025)

    page = log_in(make_user("STATISTICIAN"))  # lands on the dashboard
    page.wait_for_function("() => window.Chart && Chart.getChart('trend-chart-1') !== undefined")
    assert_clean(page, console)

    page.goto(f"{live_server.url}/indicators/")
    page.wait_for_function("() => window.Chart && Chart.getChart('areas-chart')"
                           " && Chart.getChart('series-chart')")
    labels = page.evaluate("""() => [Chart.getChart('areas-chart').data.datasets[0].label,
        Chart.getChart('series-chart').data.datasets.map(d => d.label)]""")
    assert any(h.startswith(f"{labels[0]} by area within")
               for h in page.locator("h2").all_inner_texts())
    assert labels[1] == ["Total", "Women", "Men"]  # and a "Target <year>" line per target
    assert page.evaluate("() => Chart.getChart('areas-chart').data.labels.length") > 0
    assert_clean(page, console)

    page.goto(f"{live_server.url}/indicators/survey/")
    page.wait_for_function("() => window.Chart && Chart.getChart('quintile-chart')")
    assert page.evaluate("() => Chart.getChart('quintile-chart').data.datasets"
                         ".map(d => d.label)") == ["Coverage (%)", "Benefit incidence (%)"]
    assert_clean(page, console)


def test_the_upload_pages_script_and_htmx_work_under_the_policy(
        log_in, make_user, live_server, console):
    page = log_in(make_user("DATA_COLLECTOR"))
    page.goto(f"{live_server.url}/intake/upload/")
    bar = page.locator("#upload-progress")
    expect(bar).to_have_attribute("value", "0")
    page.evaluate("""() => document.body.dispatchEvent(new CustomEvent("htmx:xhr:progress",
        {detail: {lengthComputable: true, loaded: 1, total: 4}}))""")
    assert page.evaluate("() => document.getElementById('upload-progress').value") == 25

    # A real upload through htmx: the progress events move the bar, and the refusal (a month
    # that does not exist) comes back into the panel without leaving the page.
    page.evaluate("""() => { window.__moves = [];
        document.body.addEventListener("htmx:xhr:progress", function () {
          window.__moves.push(document.getElementById("upload-progress").value); }); }""")
    page.select_option("#source", index=1)  # the first of the user's sources (none is chosen)
    page.fill("#period", "2026-13")
    page.set_input_files("#file", files=[{"name": "list.csv", "mimeType": "text/csv",
                                          "buffer": b"a,b\n" + b"1,2\n" * 50_000}])
    page.click("#upload-form button[type=submit]:not([value=draft])")
    expect(page.get_by_role("alert")).to_contain_text("YYYY-MM")
    expect(page).to_have_url(re.compile(r"/intake/upload/$"))
    assert max(page.evaluate("() => window.__moves")) > 0
    assert_clean(page, console)
