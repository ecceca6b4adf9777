"""The HTML pages driven through real Chromium against a live server and a synthetic country."""

from __future__ import annotations

import math
import re

import pyotp
import pytest
from playwright.sync_api import expect

from spmis.core.doors import PAGE_SIZE
from spmis.geography.models import Area
from spmis.registry.models import Person
from tests.helpers import AS_OF, PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("country")]


def _enrolled_person() -> Person:
    return (Person.objects.filter(enrolments__isnull=False, national_id__isnull=False)
            .exclude(national_id="").distinct().order_by("id").first())


def _search(page, **fields: str) -> None:
    for name, value in fields.items():
        page.fill(f"#{name}", value)
    page.click("form.search button[type=submit]")


def test_login_required_then_wrong_then_right_password(page, live_server, make_user):
    user = make_user("STATISTICIAN")
    page.goto(f"{live_server.url}/")
    expect(page).to_have_url(re.compile(r"/login/\?next=/$"))
    page.fill("#id_username", user.username)
    page.fill("#id_password", PASSWORD + "x")
    page.click("button[type=submit]")
    expect(page.get_by_role("alert")).to_contain_text("did not match")
    expect(page.locator("#id_username")).to_have_value(user.username)  # kept for the retry
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url(re.compile(r"/login/authenticator/\?next=%2F$"))  # staff: 2nd factor
    page.fill("#id_code", pyotp.TOTP(page.get_by_test_id("mfa-secret").inner_text()).now())
    page.click("main button[type=submit]")
    expect(page).to_have_url(f"{live_server.url}/")
    expect(page.locator("h1")).to_have_text("Social protection coverage")


def test_dashboard_headline_figures_and_chart(log_in, make_user):
    from spmis.core import formatting
    from spmis.indicators.models import IndicatorValue
    from spmis.indicators.services import indicators_run

    run = indicators_run(actor=None, period=AS_OF.replace(day=1))
    page = log_in(make_user("STATISTICIAN"))
    expect(page.get_by_test_id("headline").locator("h2")).to_contain_text("June 2026")
    for code in ("SOC_CONTIG_TOTAL", "COV_CHILDREN", "COV_WORKING_AGE", "COV_OLD_AGE"):
        card = page.get_by_test_id(f"landing-{code}")
        expect(card).to_be_visible()
        value = IndicatorValue.objects.get(run=run, indicator=code, area_code="XY", sex="F",
                                           age_band="_T", disability="_T", scheme="_T").value
        expect(card.get_by_test_id("women")).to_have_text(formatting.percent(value))
    expect(page.locator("#trend-chart-1")).to_be_visible()
    page.wait_for_function("() => window.Chart && Chart.getChart('trend-chart-1') !== undefined")


def test_registry_search_then_person_page(log_in, make_user, live_server):
    person = _enrolled_person()
    page = log_in(make_user("REGISTRAR"))
    page.goto(f"{live_server.url}/persons/")
    _search(page, q=person.family_name)
    link = page.locator(f"#results table a[href='/persons/{person.pk}/']")
    expect(link).to_have_text(f"{person.given_name} {person.family_name}")
    link.click()
    expect(page).to_have_url(re.compile(rf"/persons/{person.pk}/$"))
    expect(page.locator("h1")).to_have_text(f"{person.given_name} {person.family_name}")
    expect(page.locator("dt:has-text('National ID') + dd")).to_have_text(person.national_id)
    schemes = [e.scheme.name for e in person.enrolments.order_by("start_date", "id")]
    assert schemes
    rows = page.locator("h2:has-text('Enrolments') + table tbody tr td:first-child")
    expect(rows).to_have_text(schemes)


def test_registrar_cannot_find_or_open_person_outside_district(log_in, make_user, live_server):
    district, other = Area.objects.filter(level=2).order_by("path")[:2]
    inside, outside = (Person.objects.filter(area__path__startswith=a.path)
                       .exclude(national_id=None).first() for a in (district, other))
    page = log_in(make_user("REGISTRAR", district.code))
    page.goto(f"{live_server.url}/persons/")
    _search(page, national_id=inside.national_id)  # control: the search itself works
    expect(page.locator(f"#results a[href='/persons/{inside.pk}/']")).to_be_visible()
    _search(page, national_id=outside.national_id)
    expect(page.locator("#results")).to_contain_text("No person matches.")
    response = page.goto(f"{live_server.url}/persons/{outside.pk}/")
    assert response.status == 404
    expect(page.locator("h1")).to_have_text("Not found")


def test_search_by_country_code_paginates(log_in, make_user, live_server):
    pages = math.ceil(Person.objects.filter(area__path__startswith="XY/").count() / PAGE_SIZE)
    assert pages > 1
    page = log_in(make_user("REGISTRAR"))
    page.goto(f"{live_server.url}/persons/")
    _search(page, area="XY")
    expect(page.locator(".pager")).to_contain_text(f"Page 1 of {pages}")
    page.get_by_role("link", name="Next").click()
    expect(page.locator(".pager")).to_contain_text(f"Page 2 of {pages}")
    expect(page).to_have_url(re.compile(r"[?&]page=2"))


def test_unknown_person_is_a_plain_404(log_in, make_user, live_server):
    page = log_in(make_user("REGISTRAR"))
    response = page.goto(f"{live_server.url}/persons/99999999/")
    assert response.status == 404
    expect(page.locator("h1")).to_have_text("Not found")
    assert "Traceback" not in page.content()
