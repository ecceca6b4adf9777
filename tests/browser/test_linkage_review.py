"""Clerical review of linkage pairs through real Chromium: list, pair, decide, back."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from spmis.geography.models import Area
from spmis.linkage.models import Link, LinkState
from spmis.registry.models import Person
from tests import factories

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("country")]


def _pair_in(area: Area) -> Link:
    low, high = Person.objects.filter(area__path__startswith=area.path).exclude(
        national_id=None).order_by("id")[:2]
    return factories.link(low, high, probability=0.8, weight=3.0,
                          weights={"surname": 4.0, "given_name": -1.0}, state=LinkState.REVIEW)


def test_registrar_reviews_a_pair_and_matches_it(log_in, make_user, live_server):
    district = Area.objects.filter(level=2).order_by("path").first()
    link = _pair_in(district)
    page = log_in(make_user("REGISTRAR", district.code))
    page.get_by_role("link", name="Review pairs").click()
    expect(page).to_have_url(re.compile(r"/linkage/review/$"))
    expect(page.locator("h1")).to_have_text("Pairs to review")
    row = page.locator(f"tr[data-link='{link.pk}']")
    expect(row).to_contain_text(link.person_l.national_id)
    expect(row).to_contain_text(link.person_r.national_id)
    row.get_by_role("link", name="Review").click()
    expect(page).to_have_url(re.compile(rf"/linkage/review/{link.pk}/\?back=REVIEW$"))
    expect(page.locator("[data-testid=waterfall] tbody tr th")).to_have_text(
        ["Prior (any two records)", "surname", "given_name", "Total match weight"])
    page.get_by_role("button", name="Match", exact=True).click()
    expect(page).to_have_url(re.compile(r"/linkage/review/\?state=REVIEW$"))
    expect(page.locator("h1")).to_have_text("Pairs to review")
    expect(page.get_by_role("status")).to_contain_text("decision recorded")
    expect(page.locator(f"tr[data-link='{link.pk}']")).to_have_count(0)
    link.refresh_from_db()
    assert link.state == LinkState.MATCH
