"""Server-rendered pages through Django's test client on the real database."""

from __future__ import annotations

import pyotp
import pytest
from django.test import Client

from spmis.access.models import TOTPDevice
from spmis.audit.models import AuditEvent
from spmis.core import clock
from spmis.geography.models import Area
from spmis.registry.models import Person
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

PAGES = ["/", "/persons/", "/persons/1/", "/households/1/", "/schemes/", "/schemes/NHI/"]


def mfa_code(user) -> str:
    """A real code from the user's authenticator app: the current time-step's, or the next
    one's (allowed drift) when the current code was already used."""
    device = TOTPDevice.objects.get(user=user)
    totp = pyotp.TOTP(device.secret)
    return totp.generate_otp(max(totp.timecode(clock.now()), device.last_used_step + 1))


def logged_in(user) -> Client:
    """Password, then (staff) the second factor, enrolling the authenticator if needed."""
    client = Client()
    assert client.login(username=user.username, password=PASSWORD)
    response = client.get("/")
    if response.status_code == 302 and response["Location"].startswith("/login/"):
        step = client.get(response["Location"])  # the enrolment page creates the device
        assert step.status_code == 200
        done = client.post(response["Location"].split("?")[0], {"code": mfa_code(user)})
        assert done.status_code == 302, done.content.decode()
    return client


@pytest.mark.parametrize("url", PAGES)
def test_pages_need_a_login(country, url):
    response = Client().get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


@pytest.mark.parametrize("url", PAGES)
def test_pages_render_for_a_national_user(country, make_user, url):
    assert logged_in(make_user()).get(url).status_code == 200


def test_dashboard_shows_headline_figures(country, make_user):
    from spmis.core import clock
    from spmis.schemes.selectors import coverage_headline

    user = make_user()
    html = logged_in(user).get("/").content.decode()
    coverage = coverage_headline(user=user, as_of=clock.today())
    assert f"{coverage.total.covered_total:,}" in html
    assert f"{coverage.total.rate:.1f}%" in html
    for figure in coverage.by_guarantee:
        assert f'data-testid="coverage-{figure.key}"' in html
    assert "coverage-chart" in html and "chart-4.6.1.umd.min.js" in html


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
