"""Server-rendered pages through Django's test client on the real database."""

from __future__ import annotations

import pytest
from django.test import Client

from spmis.audit.models import AuditEvent
from spmis.geography.models import Area
from spmis.registry.models import Person
from tests.helpers import AS_OF, PASSWORD, logged_in

pytestmark = pytest.mark.django_db

PAGES = ["/", "/persons/", "/persons/1/", "/households/1/", "/schemes/", "/schemes/NHI/"]


@pytest.mark.parametrize("url", PAGES)
def test_pages_need_a_login(country, url):
    response = Client().get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


@pytest.mark.parametrize("url", PAGES)
def test_pages_render_for_a_national_user(country, make_user, url):
    assert logged_in(make_user()).get(url).status_code == 200


def test_dashboard_shows_headline_figures(country, make_user):
    """The landing page's headline is the published run's (tests/test_home.py has the rest)."""
    from spmis.core import formatting
    from spmis.indicators.models import IndicatorValue
    from spmis.indicators.services import indicators_run

    user = make_user()
    before = logged_in(user).get("/").content.decode()
    assert 'data-testid="no-run"' in before and "spmis indicators run" in before
    run = indicators_run(actor=None, period=AS_OF.replace(day=1))
    html = logged_in(user).get("/").content.decode()
    total = IndicatorValue.objects.get(run=run, indicator="SOC_CONTIG_TOTAL", area_code="XY",
                                       sex="_T", age_band="_T", disability="_T", scheme="_T")
    assert formatting.percent(total.value) in html
    assert f"run {run.pk}" in html and formatting.month(run.period) in html
    for code in ("SOC_CONTIG_TOTAL", "COV_CHILDREN", "COV_WORKING_AGE", "COV_OLD_AGE"):
        assert f'data-testid="landing-{code}"' in html
    assert "trend-chart-1" in html and "chart-4.6.1.umd.min.js" in html


def test_search_finds_by_name_and_paginates(country, make_user):
    client = logged_in(make_user())
    person = Person.objects.order_by("id")[10]
    html = client.get("/persons/", {"q": person.family_name}).content.decode()
    assert f"/persons/{person.pk}/" in html
    everyone = client.get("/persons/", {"area": "XY"}).content.decode()
    assert "1500 persons found" in everyone and "Page 1 of 60" in everyone
    partial = client.get("/persons/", {"area": "XY"}, HTTP_HX_REQUEST="true").content.decode()
    assert "<html" not in partial and "1500 persons found" in partial


def test_search_with_nul_byte_matches_nothing_instead_of_failing(country, make_user):
    response = logged_in(make_user()).get("/persons/", {"q": "\x00", "national_id": "1\x00"})
    assert response.status_code == 200
    assert "No person matches" in response.content.decode()


def test_person_page_shows_enrolments_payments_and_source(country, make_user):
    person = Person.objects.filter(payments__isnull=False).order_by("id").first()
    html = logged_in(make_user()).get(f"/persons/{person.pk}/").content.decode()
    assert person.family_name in html and person.source_ref in html
    for enrolment in person.enrolments.select_related("scheme"):
        assert enrolment.scheme.name in html
    payment = person.payments.order_by("-period").first()
    assert f"{payment.amount_minor / 100:,.2f} {payment.currency}" in html


def test_unknown_or_out_of_scope_person_is_a_404_page(country, make_user):
    district = Area.objects.filter(level=2).order_by("code").first()
    client = logged_in(make_user("REGISTRAR", area=district.code))
    outsider = Person.objects.exclude(area__path__startswith=district.path).first()
    for url in (f"/persons/{outsider.pk}/", "/persons/99999999/",
                f"/households/{outsider.household_id}/", "/schemes/NOPE/"):
        response = client.get(url)
        assert response.status_code == 404, url
        assert "Not found" in response.content.decode()


def test_login_and_failed_login_are_audited(country, make_user):
    user = make_user()
    Client().post("/login/", {"username": user.username, "password": "wrong"})
    Client().post("/login/", {"username": user.username, "password": PASSWORD})
    actions = list(AuditEvent.objects.values_list("action", flat=True).order_by("-id")[:2])
    assert actions == ["auth.login", "auth.login_failed"]
