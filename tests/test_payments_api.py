"""The payments API: scoped like enrolments (area and schemes of the roles for viewing
persons), filtered by person, scheme and period, the amount masked below confidential
clearance, every read audited."""

from __future__ import annotations

import datetime as dt

import pytest

from spmis.access.models import Clearance
from spmis.audit.models import AuditEvent
from tests import factories

pytestmark = pytest.mark.django_db
MAY, JUNE = dt.date(2026, 5, 1), dt.date(2026, 6, 1)


@pytest.fixture
def paid():
    factories.area_levels()
    region = factories.area("XY1", parent=factories.area("XY", level=0))
    home = factories.area("XY11", parent=region)
    away = factories.area("XY12", parent=region)
    child = factories.scheme("CHILD_GRANT", guarantee="CHILDREN")
    pension = factories.scheme("SOCIAL_PENSION", guarantee="OLD_AGE")
    ada = factories.person(area=home)
    bea = factories.person(area=away)
    return {
        "ada": ada, "bea": bea,
        "ada_may": factories.payment(ada, child, period=MAY, amount_minor=1500),
        "ada_june": factories.payment(ada, child, period=JUNE, amount_minor=1600),
        "ada_pension": factories.payment(ada, pension, period=JUNE, amount_minor=4000),
        "bea_june": factories.payment(bea, child, period=JUNE, amount_minor=1500),
        "home": factories.user("REGISTRAR", area="XY11", username="home"),
    }


def ids(response) -> list[int]:
    assert response.status_code == 200, response.content
    return [p["id"] for p in response.json()["results"]]


def test_payments_are_listed_in_scope_and_filtered(paid, api_for):
    api = api_for(paid["home"])
    everything = ids(api.get("/api/v1/payments/"))
    assert everything == [paid["ada_june"].pk, paid["ada_pension"].pk, paid["ada_may"].pk]
    assert ids(api.get("/api/v1/payments/?period=2026-05")) == [paid["ada_may"].pk]
    assert ids(api.get("/api/v1/payments/?scheme=SOCIAL_PENSION")) == [paid["ada_pension"].pk]
    assert ids(api.get(f"/api/v1/payments/?person={paid['bea'].pk}")) == []
    first = api.get(f"/api/v1/payments/?person={paid['ada'].pk}&scheme=CHILD_GRANT"
                    "&period=2026-06").json()["results"]
    assert first == [{"id": paid["ada_june"].pk, "person": paid["ada"].pk,
                      "scheme": "CHILD_GRANT", "period": "2026-06", "amount_minor": 1600,
                      "currency": "USD", "paid_on": "2026-06-01", "source": "FACTORY",
                      "source_ref": paid["ada_june"].source_ref, "masked": []}]
    searches = AuditEvent.objects.filter(action="payment.search", actor=paid["home"])
    assert [e.detail["by"] for e in searches.order_by("seq")] == [
        [], ["period"], ["scheme"], ["person"], ["period", "person", "scheme"]]
    assert api.get("/api/v1/payments/?period=June").status_code == 400
    assert api.get("/api/v1/payments/?person=x1").status_code == 400
    assert api.get("/api/v1/payments/?person=99999999999999999999").status_code == 400


def test_one_payment_in_scope_else_not_found(paid, api_for):
    api = api_for(paid["home"])
    mine = api.get(f"/api/v1/payments/{paid['ada_may'].pk}/")
    assert mine.status_code == 200 and mine.json()["amount_minor"] == 1500
    assert AuditEvent.objects.filter(action="payment.view",
                                     object_id=str(paid["ada_may"].pk)).exists()
    theirs = api.get(f"/api/v1/payments/{paid['bea_june'].pk}/")
    assert theirs.status_code == 404 and "1500" not in theirs.content.decode()
    assert api.get("/api/v1/payments/999999/").status_code == 404
    assert AuditEvent.objects.filter(action="payment.view_refused").count() == 2


def test_schemes_clearance_and_roles_limit_what_is_shown(paid, api_for):
    child_only = factories.user("REGISTRAR", area="XY", schemes=("CHILD_GRANT",),
                                username="child")
    assert ids(api_for(child_only).get("/api/v1/payments/?period=2026-06")) == [
        paid["ada_june"].pk, paid["bea_june"].pk]
    internal = factories.user("REGISTRAR", area="XY11", username="internal",
                              clearance=Clearance.INTERNAL)
    row = api_for(internal).get("/api/v1/payments/?period=2026-05").json()["results"][0]
    assert row["amount_minor"] is None and row["masked"] == ["amount_minor"]
    assert row["scheme"] == "CHILD_GRANT"
    statistician = factories.user("STATISTICIAN", area="XY", username="stats")
    assert ids(api_for(statistician).get("/api/v1/payments/")) == []
    assert api_for(statistician).get(
        f"/api/v1/payments/{paid['ada_may'].pk}/").status_code == 404
