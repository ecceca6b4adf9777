"""Languages in real Chromium: the switcher of the top bar, the choice kept across pages, a
sign-out and a sign-in (and on another browser, from the user's saved choice); one figure read
alike on the dashboard, the indicators page and in the browser's own Intl.NumberFormat."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.utils import translation
from playwright.sync_api import Page, expect

from spmis.core.formatting import percent
from spmis.indicators.models import IndicatorValue
from spmis.indicators.services import indicators_run

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("country")]
SPACES = re.compile(r"[\s\u00a0\u202f]+")


def said(text: str) -> str:
    """Text with every kind of space one plain space (French puts a no-break space before %)."""
    return SPACES.sub(" ", text).strip()


def test_choosing_portuguese_keeps_it_across_pages_and_sign_ins(log_in, make_user,
                                                                live_server):
    user = make_user("STATISTICIAN")
    page = log_in(user)
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.select_option("#language-choice", label="Português")  # sent on change (locale.js)
    expect(page.locator("html")).to_have_attribute("lang", "pt")
    expect(page).to_have_url(f"{live_server.url}/")
    expect(page.get_by_role("button", name="Sair")).to_be_visible()  # "Log out"
    page.get_by_role("link", name="Indicadores", exact=True).click()
    expect(page).to_have_url(re.compile(r"/indicators/$"))
    expect(page.locator("html")).to_have_attribute("lang", "pt")
    expect(page.locator("h1")).to_contain_text("Indicadores")
    user.refresh_from_db()
    assert user.language == "pt"

    page.get_by_role("button", name="Sair").click()
    expect(page).to_have_url(re.compile(r"/login/"))
    expect(page.get_by_role("heading", name="Entrar no spmis")).to_be_visible()
    log_in(user)
    expect(page.locator("html")).to_have_attribute("lang", "pt")

    # Without the language cookie, asking for English: the choice saved on the user wins (a
    # new browser signing in: tests/test_i18n_language.py).
    session = [c for c in page.context.cookies() if c["name"] != "spmis_language"]
    page.context.clear_cookies()
    page.context.add_cookies(session)
    page.set_extra_http_headers({"Accept-Language": "en"})
    page.reload()
    expect(page.locator("html")).to_have_attribute("lang", "pt")
    expect(page.get_by_role("link", name="Indicadores", exact=True)).to_be_visible()


def _intl(page: Page, value: float) -> str:
    """The figure as the browser's Intl.NumberFormat writes it in the page's language."""
    return page.evaluate("""(v) => new Intl.NumberFormat(document.documentElement.lang,
        {style: "percent", minimumFractionDigits: 1, maximumFractionDigits: 1}).format(v / 100)""",
                         value)


@pytest.mark.parametrize(("language", "label", "mark"), [("en", "English", "."),
                                                          ("fr", "Français", ",")])
def test_one_figure_reads_alike_on_the_dashboard_the_indicators_page_and_in_charts(
        log_in, make_user, live_server, language, label, mark):
    run = indicators_run(actor=None, period=dt.date(2026, 6, 1))
    value = IndicatorValue.objects.get(run=run, indicator="COV_CHILDREN", area_code="XY",
                                       sex="_T", age_band="_T", disability="_T", scheme="_T")
    with translation.override(language):
        expected = said(percent(value.value))
    assert mark in expected
    if language == "fr":
        assert re.fullmatch(r"\d+,\d %", expected)  # "49,4 %", never "49.4%"
    else:
        assert re.fullmatch(r"\d+\.\d%", expected)

    page = log_in(make_user("STATISTICIAN"))
    if language != "en":
        page.select_option("#language-choice", label=label)
    expect(page.locator("html")).to_have_attribute("lang", language)
    dashboard = page.locator("[data-testid=landing-COV_CHILDREN] [data-testid=total]")
    assert said(dashboard.inner_text()) == expected
    assert said(_intl(page, value.value)) == expected  # what the charts write

    page.goto(f"{live_server.url}/indicators/")
    card = page.locator("[data-testid=card-COV_CHILDREN]")
    assert expected in said(card.inner_text())
    wrong = f"{value.value:.1f}%" if language == "fr" else expected.replace(".", ",")
    assert wrong not in said(page.locator("main").inner_text())
