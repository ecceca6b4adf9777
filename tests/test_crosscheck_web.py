"""The verification-flag work list: flags of the registrar's areas, the detail, decisions."""

from __future__ import annotations

import pytest

from spmis.audit.models import AuditEvent
from spmis.core import formatting
from spmis.geography.models import Area
from spmis.linkage.crosscheck_views import amount_text
from spmis.linkage.models import FlagReason, FlagState, VerificationFlag
from spmis.registry.models import Person
from spmis.schemes.models import Enrolment, EnrolmentStatus
from tests import factories
from tests.helpers import logged_in

pytestmark = pytest.mark.django_db


def _active_in(area: Area, exclude: tuple[int, ...] = ()) -> Enrolment:
    return Enrolment.objects.filter(
        status=EnrolmentStatus.ACTIVE, person__area__path__startswith=area.path,
        person__national_id__isnull=False).exclude(person_id__in=exclude).select_related("person").order_by("id").first()


@pytest.fixture
def flags(country):
    """Two open flags in one district (one overdue, of the other reason) and one in another."""
    home, away = Area.objects.filter(level=2).order_by("code")[:2]
    registry = factories.registry("CRVS_TEST")
    inside = factories.deceased_flag(_active_in(home), registry=registry)
    late = factories.deceased_flag(_active_in(home, exclude=(inside.person_id,)),
                                   registry=registry, reason=FlagReason.DECEASED_ENROLLED,
                                   due_in=-3)
    outside = factories.deceased_flag(_active_in(away), registry=registry)
    return {"home": home, "away": away, "inside": inside, "late": late, "outside": outside}


@pytest.fixture
def registrar(flags, make_user):
    return make_user("REGISTRAR", area=flags["home"].code)


def _listed(html: str) -> set[int]:
    return {int(part.split('"')[0]) for part in html.split('data-flag="')[1:]}


def test_list_shows_in_scope_open_flags_only(flags, registrar):
    response = logged_in(registrar).get("/crosscheck/flags/")
    assert response.status_code == 200
    html = response.content.decode()
    assert _listed(html) == {flags["inside"].pk, flags["late"].pk}
    inside = flags["inside"]
    assert inside.person.family_name in html and formatting.day(inside.person.date_of_birth) in html
    assert "Paid for a period after the date of death" in html
    assert "1,500.50" in html and "3 periods" in html
    assert inside.detail["date_of_death"] in html
    # The earliest deadline first.
    assert html.index(f'data-flag="{flags["late"].pk}"') < html.index(
        f'data-flag="{inside.pk}"')
    assert AuditEvent.objects.filter(action="crosscheck.flag_list", actor=registrar).exists()


def test_overdue_is_marked_and_counted(flags, registrar):
    html = logged_in(registrar).get("/crosscheck/flags/").content.decode()
    rows = {int(r.split('"')[0]): r.split("</tr>")[0] for r in html.split('data-flag="')[1:]}
    assert "OVERDUE" in rows[flags["late"].pk] and 'class="overdue"' in rows[flags["late"].pk]
    assert "OVERDUE" not in rows[flags["inside"].pk]
    summary = html.split('data-testid="flag-summary"')[1].split("</form>")[0]

    def card(name: str) -> str:
        return summary.split(f'data-testid="summary-{name}"')[1].split(
            'class="value">')[1].split("<")[0]

    assert (card("open"), card("DECEASED_PAID"), card("DECEASED_ENROLLED"),
            card("overdue")) == ("2", "1", "1", "1")


def test_a_decided_overdue_flag_is_not_overdue(flags, registrar):
    VerificationFlag.objects.filter(pk=flags["late"].pk).update(state=FlagState.DISMISSED)
    html = logged_in(registrar).get("/crosscheck/flags/?state=DISMISSED").content.decode()
    assert _listed(html) == {flags["late"].pk}
    assert 'data-testid="overdue"' not in html


def test_filters(flags, registrar, country):
    client = logged_in(registrar)

    def listed(query: str) -> set[int]:
        return _listed(client.get(f"/crosscheck/flags/?{query}").content.decode())

    inside, late = flags["inside"].pk, flags["late"].pk
    assert listed("reason=DECEASED_ENROLLED") == {late}
    assert listed("reason=DECEASED_PAID") == {inside}
    assert listed("state=CONFIRMED") == set()
    VerificationFlag.objects.filter(pk=inside).update(state=FlagState.CONFIRMED)
    assert listed("state=CONFIRMED") == {inside}
    assert listed("") == {late}
    assert listed(f"area={flags['home'].code}") == {late}
    area = flags["inside"].person.area
    VerificationFlag.objects.filter(pk=inside).update(state=FlagState.OPEN)
    assert inside in listed(f"area={area.code}")
    assert listed(f"area={flags['away'].code}") == set()  # outside scope: nothing
    assert listed("area=NOPE") == set()
    response = client.get("/crosscheck/flags/?state=BOGUS&reason=BOGUS")
    assert response.status_code == 200 and _listed(response.content.decode()) == {inside, late}
    assert "Unknown state" in response.content.decode()


def test_detail_shows_both_records(flags, registrar):
    """Both records in full when both are in the officer's scope (the registry's record of
    someone living elsewhere shows only its date of death: tests/test_record_scope.py)."""
    flag = flags["inside"]
    Person.objects.filter(pk=flag.evidence_id).update(area=flag.person.area)
    flag.refresh_from_db()
    response = logged_in(registrar).get(f"/crosscheck/flags/{flag.pk}/")
    assert response.status_code == 200
    html = response.content.decode()
    assert flag.person.national_id in html and flag.evidence.national_id in html
    assert flag.person.family_name in html and flag.evidence.family_name in html
    assert flag.detail["date_of_death"] in html and "1,500.50" in html
    assert ">Confirm</button>" in html and ">Dismiss</button>" in html
    assert AuditEvent.objects.filter(action="crosscheck.view", actor=registrar).exists()


def test_out_of_scope_or_unknown_is_not_found(flags, registrar):
    client = logged_in(registrar)
    outside = flags["outside"]
    assert client.get(f"/crosscheck/flags/{outside.pk}/").status_code == 404
    response = client.post(f"/crosscheck/flags/{outside.pk}/",
                           {"decision": "confirm", "outcome": "seen"})
    assert response.status_code == 404
    assert VerificationFlag.objects.get(pk=outside.pk).state == FlagState.OPEN
    assert client.get("/crosscheck/flags/999999/").status_code == 404
    assert AuditEvent.objects.filter(action="crosscheck.view_refused").count() == 3


def test_dismiss_without_outcome_is_refused(flags, registrar):
    flag = flags["inside"]
    response = logged_in(registrar).post(f"/crosscheck/flags/{flag.pk}/",
                                         {"decision": "dismiss", "outcome": "  "})
    assert response.status_code == 400
    assert "an outcome is required" in response.content.decode()
    flag.refresh_from_db()
    assert flag.state == FlagState.OPEN and flag.decided_by is None
    assert not AuditEvent.objects.filter(action="crosscheck.decide").exists()


def test_confirm_exits_the_enrolment_and_is_audited(flags, registrar):
    flag = flags["inside"]
    client = logged_in(registrar)
    response = client.post(f"/crosscheck/flags/{flag.pk}/",
                           {"decision": "confirm", "outcome": "Death certificate seen."})
    assert response.status_code == 303 and response["Location"] == "/crosscheck/flags/"
    flag.refresh_from_db()
    assert flag.state == FlagState.CONFIRMED and flag.decided_by == registrar
    assert flag.outcome == "Death certificate seen."
    enrolment = Enrolment.objects.get(person_id=flag.person_id, scheme_id=flag.scheme_id)
    assert enrolment.status == EnrolmentStatus.EXITED
    assert enrolment.end_date == flag.evidence.date_of_death
    event = AuditEvent.objects.get(action="crosscheck.decide")
    assert event.actor == registrar and event.detail["flag"] == flag.pk
    html = client.get(response["Location"]).content.decode()
    assert flag.pk not in _listed(html) and "Confirmed" in html

    again = client.post(f"/crosscheck/flags/{flag.pk}/",
                        {"decision": "dismiss", "outcome": "changed my mind"})
    assert again.status_code == 400 and "already confirmed" in again.content.decode()
    flag.refresh_from_db()
    assert flag.state == FlagState.CONFIRMED
    assert AuditEvent.objects.filter(action="crosscheck.decide").count() == 1


def test_dismiss_keeps_the_enrolment(flags, registrar):
    flag = flags["inside"]
    response = logged_in(registrar).post(f"/crosscheck/flags/{flag.pk}/",
                                         {"decision": "dismiss", "outcome": "Alive: seen."})
    assert response.status_code == 303
    flag.refresh_from_db()
    assert flag.state == FlagState.DISMISSED
    assert Enrolment.objects.get(person_id=flag.person_id,
                                 scheme_id=flag.scheme_id).status == EnrolmentStatus.ACTIVE


def test_without_register_persons_forbidden(flags, make_user):
    client = logged_in(make_user("STATISTICIAN", area=flags["home"].code))
    assert client.get("/crosscheck/flags/").status_code == 403
    assert AuditEvent.objects.filter(action="access.denied",
                                     object_id="/crosscheck/flags/").exists()
    response = client.post(f"/crosscheck/flags/{flags['inside'].pk}/",
                           {"decision": "confirm", "outcome": "x"})
    assert response.status_code == 404
    assert VerificationFlag.objects.get(pk=flags["inside"].pk).state == FlagState.OPEN


def test_navigation_link_only_for_registrars(flags, registrar, make_user):
    assert "/crosscheck/flags/" in logged_in(registrar).get("/").content.decode()
    other = make_user("STATISTICIAN", area=flags["home"].code)
    assert "/crosscheck/flags/" not in logged_in(other).get("/").content.decode()


def test_low_clearance_masks_records_and_detail(flags, make_user):
    from spmis.access.models import Clearance

    user = make_user("REGISTRAR", area=flags["home"].code, username="low",
                     clearance=Clearance.INTERNAL)
    flag = flags["inside"]
    client = logged_in(user)
    for url in ("/crosscheck/flags/", f"/crosscheck/flags/{flag.pk}/"):
        html = client.get(url).content.decode()
        assert flag.person.family_name not in html and flag.evidence.national_id not in html
        assert "1,500.50" not in html and "restricted" in html


def test_amounts_in_the_schemes_currency():
    assert amount_text(150050, "USD") == "1,500.50 USD"
    assert amount_text(5, "USD") == "0.05 USD"
    assert amount_text(1000, "CLP") == "1,000 CLP"
    assert amount_text("x", "USD") == ""


def test_a_flag_of_the_registry_own_checks(flags, registrar):
    flag = flags["inside"]
    VerificationFlag.objects.filter(pk=flag.pk).update(
        registry=None, reason_code=FlagReason.DUPLICATE_ENROLMENT, detail={"identity": 4242})
    client = logged_in(registrar)
    html = client.get(f"/crosscheck/flags/{flag.pk}/").content.decode()
    assert "registry's own checks" in html and "Other record" in html
    assert "identity" in html and "4242" in html
    assert flag.pk in _listed(client.get("/crosscheck/flags/").content.decode())
