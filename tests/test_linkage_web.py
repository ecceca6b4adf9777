"""Clerical review pages: the pairs a registrar may review, one pair's waterfall, decisions."""

from __future__ import annotations

import pytest

from spmis.audit.models import AuditEvent
from spmis.geography.models import Area
from spmis.linkage.models import Link, LinkState
from spmis.linkage.services import link_decision_preview
from spmis.linkage.views import waterfall
from spmis.registry.models import Person
from tests import factories
from tests.helpers import logged_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def pairs(country):
    """One pair waiting for review in each of two districts."""
    home, away = Area.objects.filter(level=2).order_by("code")[:2]
    run = factories.linkage_run()

    def pair(area: Area, probability: float) -> Link:
        low, high = Person.objects.filter(area__path__startswith=area.path).exclude(
            national_id=None).order_by("id")[:2]
        return factories.link(low, high, run=run, probability=probability, weight=3.0,
                              weights={"surname": 4.0, "given_name": -1.0},
                              state=LinkState.REVIEW)

    return {"home": home, "inside": pair(home, 0.8), "outside": pair(away, 0.9)}


@pytest.fixture
def registrar(pairs, make_user):
    return make_user("REGISTRAR", area=pairs["home"].code)


def test_list_shows_in_scope_pairs_only(pairs, registrar):
    html = logged_in(registrar).get("/linkage/review/").content.decode()
    inside, outside = pairs["inside"], pairs["outside"]
    assert f"/linkage/review/{inside.pk}/" in html
    assert inside.person_l.national_id in html and inside.person_r.national_id in html
    assert f"/linkage/review/{outside.pk}/" not in html
    assert outside.person_l.national_id not in html
    assert "0.800" in html


def test_list_filters_by_state(pairs, registrar):
    client = logged_in(registrar)
    Link.objects.filter(pk=pairs["inside"].pk).update(state=LinkState.UNSURE)
    assert f"/linkage/review/{pairs['inside'].pk}/" not in client.get(
        "/linkage/review/").content.decode()
    assert f"/linkage/review/{pairs['inside'].pk}/" in client.get(
        "/linkage/review/?state=UNSURE").content.decode()


def test_pair_page_shows_the_records_and_the_waterfall(pairs, registrar):
    link = pairs["inside"]
    response = logged_in(registrar).get(f"/linkage/review/{link.pk}/")
    assert response.status_code == 200
    html = response.content.decode()
    assert link.person_l.family_name in html and link.person_r.family_name in html
    rows = [line for line in html.splitlines() if 'class="step ' in line]
    assert [r.split('data-comparison="')[1].split('"')[0] for r in rows] == [
        "prior", "surname", "given_name", "total"]
    assert 'class="step comparison" data-comparison="given_name"' in html
    assert "#b42318" in html and "#1a7f37" in html  # a negative and a positive bar
    for value in ("MATCH", "NON_MATCH", "UNSURE"):
        assert f'name="decision" value="{value}"' in html
    assert 'value="REOPEN"' not in html  # nothing to reopen on a pair never decided


def test_pair_outside_scope_is_not_found(pairs, registrar):
    client = logged_in(registrar)
    assert client.get(f"/linkage/review/{pairs['outside'].pk}/").status_code == 404
    response = client.post(f"/linkage/review/{pairs['outside'].pk}/", {"decision": "MATCH"})
    assert response.status_code == 404
    assert Link.objects.get(pk=pairs["outside"].pk).state == LinkState.REVIEW


def test_non_match_without_reason_is_refused(pairs, registrar):
    link = pairs["inside"]
    token = link_decision_preview(actor=registrar, link_id=link.pk, decision="NON_MATCH").token
    response = logged_in(registrar).post(f"/linkage/review/{link.pk}/",
                                         {"decision": "NON_MATCH", "reason": "  ",
                                          "effect": token})
    assert response.status_code == 400
    assert "a reason is required" in response.content.decode()
    link.refresh_from_db()
    assert link.state == LinkState.REVIEW and link.decided_by is None
    assert not AuditEvent.objects.filter(action="linkage.decide").exists()


def test_match_decides_and_is_audited(pairs, registrar):
    link = pairs["inside"]
    client = logged_in(registrar)
    shown = client.post(f"/linkage/review/{link.pk}/", {"decision": "MATCH", "back": "REVIEW"})
    assert shown.status_code == 200 and 'data-testid="decision-effect"' in shown.content.decode()
    token = link_decision_preview(actor=registrar, link_id=link.pk, decision="MATCH").token
    response = client.post(f"/linkage/review/{link.pk}/",
                           {"decision": "MATCH", "back": "REVIEW", "effect": token})
    assert response.status_code == 303
    assert response["Location"] == "/linkage/review/?state=REVIEW&end=1"  # none left
    link.refresh_from_db()
    assert link.state == LinkState.MATCH and link.decided_by == registrar
    event = AuditEvent.objects.get(action="linkage.decide")
    assert event.object_id == str(link.pk) and event.actor == registrar
    assert event.detail["from"] == "REVIEW" and event.detail["to"] == "MATCH"
    html = client.get(response["Location"]).content.decode()
    assert "Match recorded" in html and f"/linkage/review/{link.pk}/" not in html
    assert 'data-testid="queue-empty"' in html


def test_without_review_linkage_forbidden(pairs, make_user):
    client = logged_in(make_user("STATISTICIAN", area=pairs["home"].code))
    assert client.get("/linkage/review/").status_code == 403
    assert AuditEvent.objects.filter(action="access.denied",
                                     object_id="/linkage/review/").exists()
    # The pair page, like every object page, answers "not found" to those without the scope.
    response = client.post(f"/linkage/review/{pairs['inside'].pk}/", {"decision": "MATCH"})
    assert response.status_code == 404
    assert Link.objects.get(pk=pairs["inside"].pk).state == LinkState.REVIEW


def test_navigation_link_only_for_reviewers(pairs, registrar, make_user):
    assert "/linkage/review/" in logged_in(registrar).get("/").content.decode()
    other = make_user("STATISTICIAN", area=pairs["home"].code)
    assert "/linkage/review/" not in logged_in(other).get("/").content.decode()


def test_low_clearance_masks_records_and_weights(pairs, make_user):
    from spmis.access.models import Clearance

    user = make_user("REGISTRAR", area=pairs["home"].code, username="low",
                     clearance=Clearance.INTERNAL)
    link = pairs["inside"]
    html = logged_in(user).get(f"/linkage/review/{link.pk}/").content.decode()
    assert link.person_l.national_id not in html and link.person_l.family_name not in html
    assert 'data-testid="waterfall"' not in html and "restricted" in html


def test_waterfall_order_and_bars():
    steps = waterfall(prior=-10.0, weights={"a": 2.0, "b": -3.0, "c": 8.0}, total=-3.0)
    assert [s.label for s in steps][1:-1] == ["c", "b", "a"]
    assert [s.running for s in steps] == [-10.0, -2.0, -5.0, -3.0, -3.0]
    assert steps[0].left == "0.00" and steps[0].width == "100.00"  # -10 .. 0 spans the axis
    assert [s.positive for s in steps] == [False, True, False, True, False]
