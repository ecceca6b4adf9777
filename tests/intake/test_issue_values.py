"""An error report quotes the cells it refuses, which are people's data: values are shown only
to users who may see persons where the source sends from, within their clearance; the page
read is audited."""

from __future__ import annotations

import csv
import io

import pytest

from spmis.access.models import Clearance
from spmis.audit.models import AuditEvent
from spmis.intake.selectors import HIDDEN, submission_issues_for_user
from tests.helpers import logged_in
from tests.intake.helpers import csv_bytes, row, submit

pytestmark = pytest.mark.django_db
NIN = "12345678"  # fails the check digit: the issue quotes it


@pytest.fixture
def refused(places):
    """NGO_HOME's list with one bad national ID and one bad date of birth."""
    return submit(csv_bytes([row(ref="B1", nin=NIN), row(ref="B2", hh="H2", dob="31/02/1990")]),
                  source="NGO_HOME")


def values(issues) -> dict[str, str]:
    return {i.column: i.value for i in issues}


def test_values_follow_scope_and_clearance(places, refused, make_user):
    home = places["home"].code
    full = make_user("REGISTRAR", area=home, username="full")
    assert values(submission_issues_for_user(user=full, submission=refused)) == {
        "NIN": NIN, "Naissance": "31/02/1990"}
    # Statisticians see submissions (coverage) but no person: every value hidden.
    statistician = make_user("STATISTICIAN", area=home, username="stat")
    shown = submission_issues_for_user(user=statistician, submission=refused)
    assert set(values(shown).values()) == {HIDDEN}
    assert all(NIN not in i.message and "31/02/1990" not in i.message for i in shown)
    # Internal clearance: names and IDs are confidential, so hidden even in scope.
    internal = make_user("REGISTRAR", area=home, username="internal",
                         clearance=Clearance.INTERNAL)
    assert values(submission_issues_for_user(user=internal, submission=refused))["NIN"] == HIDDEN
    # A role limited to a scheme the source does not wholly send: hidden.
    limited = make_user("REGISTRAR", area=home, schemes=("SOCIAL_PENSION",), username="lim")
    assert set(values(submission_issues_for_user(user=limited,
                                                 submission=refused)).values()) == {HIDDEN}
    # The operator on the server (no user) reads the report whole.
    assert values(submission_issues_for_user(user=None, submission=refused))["NIN"] == NIN


def test_the_page_and_the_report_hide_them_and_the_page_read_is_audited(places, refused,
                                                                          make_user):
    statistician = make_user("STATISTICIAN", area=places["home"].code, username="stat")
    client = logged_in(statistician)
    page = client.get(f"/intake/submissions/{refused.pk}/").content.decode()
    assert NIN not in page and "31/02/1990" not in page and HIDDEN in page
    assert AuditEvent.objects.filter(action="submission.view", actor=statistician,
                                     object_id=str(refused.pk)).exists()
    report = client.get(f"/intake/submissions/{refused.pk}/errors.csv").content.decode()
    cells = [r["value"] for r in csv.DictReader(io.StringIO(report))]
    assert cells and set(cells) == {HIDDEN} and NIN not in report
