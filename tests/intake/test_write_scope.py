"""Writes are scoped like reads: a row of a file is loaded only where its sender may write.
Rows are numbered as lines of the file: the header is line 1.

A data collector of one district sends a file naming a commune of another district, a scheme
its source does not declare, a month another district has approved, and a payment month that
is not the submission's: each such row is a row-level issue and the rest loads.
"""

from __future__ import annotations

import datetime as dt

import pytest

from spmis.intake.models import Submission, SubmissionStatus
from spmis.intake.services import mapping_save, submission_submit
from spmis.payments.models import BenefitPayment
from spmis.registry.models import Person
from spmis.schemes.models import Enrolment
from tests.intake import helpers
from tests.intake.helpers import MAY, csv_bytes, row

pytestmark = pytest.mark.django_db


def commune_of(district):
    from spmis.geography.models import Area

    return Area.objects.filter(level=3, path__startswith=district.path).order_by("code").first()


def send(actor, rows, source="NGO_HOME", period=MAY):
    return submission_submit(actor=actor, source_code=source, period=period,
                             filename="list.csv", data=csv_bytes(rows))


def issues(submission: Submission) -> dict[str, set[int]]:
    found: dict[str, set[int]] = {}
    for issue in submission.issues.all():
        found.setdefault(issue.rule, set()).add(issue.row)
    return found


@pytest.fixture
def collector(places, make_user):
    return make_user("DATA_COLLECTOR", area=places["home"].code, username="collector")


def test_a_row_in_another_district_is_refused_and_the_rest_loads(places, collector):
    away = commune_of(places["away"])
    done = send(collector, [row(ref="OK1"), row(ref="AWAY", hh="H2", commune=away.code)])
    assert done.status == SubmissionStatus.PARTIAL, done.message
    assert issues(done) == {"out_of_area": {3}}
    assert set(Person.objects.filter(source__code="NGO_HOME").values_list(
        "source_ref", flat=True)) == {"OK1"}
    assert not Person.objects.filter(area=away).filter(source__code="NGO_HOME").exists()
    assert not Enrolment.objects.filter(person__area=away, source__code="NGO_HOME").exists()


def test_the_sources_own_area_bounds_the_operator_too(places):
    """Without a user (the operator on the server) the source's area still bounds its rows."""
    away = commune_of(places["away"])
    done = send(None, [row(ref="OK1"), row(ref="AWAY", hh="H2", commune=away.code)])
    assert issues(done) == {"out_of_area": {3}}


def test_a_scheme_the_source_does_not_declare_is_refused(places, collector):
    mapping_save(actor=None, source_code="NGO_HOME",
                 text=helpers.MAPPING.replace("NGO_X", "NGO_HOME").replace(
                     'scheme: {constant: "CHILD_GRANT"}', 'scheme: {from: "Programme"}'))
    header = helpers.HEADER + ";Programme"
    rows = [row(ref="C1") + ";CHILD_GRANT", row(ref="P1", hh="H2") + ";SOCIAL_PENSION"]
    done = submission_submit(actor=collector, source_code="NGO_HOME", period=MAY,
                             filename="list.csv",
                             data=("\n".join([header, *rows]) + "\n").encode("cp1252"))
    assert issues(done) == {"undeclared_scheme": {3}}
    assert not Enrolment.objects.filter(scheme__code="SOCIAL_PENSION",
                                        source__code="NGO_HOME").exists()
    assert not BenefitPayment.objects.filter(scheme__code="SOCIAL_PENSION",
                                             source__code="NGO_HOME").exists()


def test_a_month_approved_elsewhere_is_locked_for_rows_there(places, make_user):
    """A national source sends rows of two districts; one district has approved May."""
    from spmis.intake.approvals import period_approve_decide, period_approve_request

    away = places["away"]
    make_user("REGISTRAR", area=away.code, username="maker")
    make_user("APPROVER", area=away.code, username="checker")
    from spmis.access.models import User

    period_approve_request(actor=User.objects.get(username="maker"), area_code=away.code,
                           period=MAY)
    period_approve_decide(actor=User.objects.get(username="checker"), area_code=away.code,
                          period=MAY, approve=True)
    national = helpers.ngo_source("NGO_NATIONAL")
    done = send(None, [row(ref="HOME"), row(ref="AWAY", hh="H2",
                                            commune=commune_of(away).code)],
                source=national.code)
    assert done.status == SubmissionStatus.PARTIAL
    assert issues(done) == {"period_locked": {3}}
    assert done.issues.get(rule="period_locked").value.endswith("2026-05")


def test_the_rows_own_month_is_checked_not_only_the_submissions(places, collector, make_user):
    """Declaring June on the submission does not reach May, which the district approved."""
    from spmis.access.models import User
    from spmis.intake.approvals import period_approve_decide, period_approve_request

    home = places["home"]
    make_user("REGISTRAR", area=home.code, username="maker")
    make_user("APPROVER", area=home.code, username="checker")
    period_approve_request(actor=User.objects.get(username="maker"), area_code=home.code,
                           period=MAY)
    period_approve_decide(actor=User.objects.get(username="checker"), area_code=home.code,
                          period=MAY, approve=True)
    june = dt.date(2026, 6, 1)
    done = send(collector, [row(ref="JUNE", month="2026-06"), row(ref="MAY", hh="H2")],
                period=june)
    assert issues(done) == {"period_locked": {3}, "period_mismatch": {3}}
    assert not BenefitPayment.objects.filter(period=MAY, source__code="NGO_HOME").exists()
    assert BenefitPayment.objects.filter(period=june, source__code="NGO_HOME").count() == 1


def test_payments_for_other_months_need_the_mapping_to_say_so(places, collector):
    rows = [row(ref="MAY"), row(ref="APRIL", hh="H2", month="2026-04")]
    assert issues(send(collector, rows)) == {"period_mismatch": {3}}
    mapping_save(actor=None, source_code="NGO_HOME",
                 text=helpers.MAPPING.replace("NGO_X", "NGO_HOME").replace(
                     "national_id_check: luhn", "national_id_check: luhn\nother_periods: true"))
    again = send(collector, [*rows, row(ref="MARCH", hh="H3", month="2026-03")])
    assert again.status == SubmissionStatus.LOADED, again.message
    assert again.supersedes is not None  # the correction replaces the first list
    assert BenefitPayment.objects.filter(period=dt.date(2026, 4, 1),
                                         source__code="NGO_HOME").count() == 1


def test_the_push_api_applies_the_same_rules(places, make_user, api_for):
    from tests.intake.helpers import HEADER

    away = commune_of(places["away"])
    names = HEADER.split(";")
    records = [dict(zip(names, r.split(";"), strict=True))
               for r in (row(ref="OK1"), row(ref="AWAY", hh="H2", commune=away.code))]
    api = api_for(make_user("DATA_COLLECTOR", area=places["home"].code))
    done = api.post("/api/v1/submissions/", {"source": "NGO_HOME", "period": "2026-05",
                                             "records": records}, format="json",
                    HTTP_IDEMPOTENCY_KEY="scope-1")
    assert done.status_code == 201, done.json()
    submission = Submission.objects.get(pk=done.json()["id"])
    assert issues(submission) == {"out_of_area": {2}}  # JSON records count from 1
    assert not Person.objects.filter(area=away, source__code="NGO_HOME").exists()


def test_a_scheme_outside_the_senders_role_is_refused(places, make_user):
    """A collector limited to the social pension sends the NGO's child-grant rows."""
    pension_only = make_user("DATA_COLLECTOR", area=places["home"].code,
                             schemes=("SOCIAL_PENSION",), username="pension_only")
    done = send(pension_only, [row(ref="C1"), row(ref="C2", hh="H2")])
    assert issues(done) == {"scheme_out_of_scope": {2, 3}}
    assert not Person.objects.filter(source__code="NGO_HOME").exists()
