"""The verification-flag work list through real Chromium: list, flag, confirm, back."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from spmis.geography.models import Area
from spmis.linkage.models import FlagState, VerificationFlag
from spmis.registry.models import Person
from spmis.schemes.models import Enrolment, EnrolmentStatus
from tests import factories

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("country")]


def _flag_in(area: Area) -> VerificationFlag:
    enrolment = Enrolment.objects.filter(
        status=EnrolmentStatus.ACTIVE, person__area__path__startswith=area.path,
        person__national_id__isnull=False).select_related("person").order_by("id").first()
    flag = factories.deceased_flag(enrolment, registry=factories.registry("CRVS_BROWSER"),
                                   due_in=-1, periods_paid_after_death=2, amount_minor=5000)
    # The registry's record lives where the person does, so the officer may see it whole.
    Person.objects.filter(pk=flag.evidence_id).update(area=enrolment.person.area)
    flag.refresh_from_db()
    return flag


def test_registrar_confirms_a_flag(log_in, make_user, live_server):
    district = Area.objects.filter(level=2).order_by("path").first()
    flag = _flag_in(district)
    page = log_in(make_user("REGISTRAR", district.code))
    # The menu's link (the landing page's work list links there too).
    page.locator("header.top nav").get_by_role("link", name="Verification flags").click()
    expect(page).to_have_url(re.compile(r"/crosscheck/flags/$"))
    expect(page.locator("h1")).to_have_text("Verification flags")
    row = page.locator(f"tr[data-flag='{flag.pk}']")
    expect(row).to_contain_text(flag.person.family_name)
    expect(row).to_contain_text("OVERDUE")
    expect(row).to_contain_text("50.00")
    row.get_by_role("link", name="Verify").click()
    expect(page).to_have_url(re.compile(rf"/crosscheck/flags/{flag.pk}/$"))
    records = page.locator("[data-testid=records]")
    expect(records).to_contain_text(flag.person.national_id)
    expect(records).to_contain_text(flag.evidence.national_id)
    page.fill("#outcome", "Death certificate seen at the civil registry.")
    page.get_by_role("button", name="Confirm", exact=True).click()
    expect(page).to_have_url(re.compile(r"/crosscheck/flags/$"))
    expect(page.locator("h1")).to_have_text("Verification flags")
    expect(page.get_by_role("status")).to_contain_text(f"Flag {flag.pk}: confirmed")
    expect(page.locator(f"tr[data-flag='{flag.pk}']")).to_have_count(0)
    flag.refresh_from_db()
    assert flag.state == FlagState.CONFIRMED
    assert Enrolment.objects.get(person_id=flag.person_id,
                                 scheme_id=flag.scheme_id).status == EnrolmentStatus.EXITED
