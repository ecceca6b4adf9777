"""Period approval: maker-checker, region acceptance, the submission lock and un-approving."""

from __future__ import annotations

import datetime as dt

import pytest
from click.testing import CliRunner

from spmis.access.services import SeparationOfDuties
from spmis.audit.models import AuditEvent
from spmis.cli.main import cli
from spmis.core.errors import Conflict, PermissionDenied, ValidationFailed
from spmis.geography.models import Area
from spmis.intake.approvals import (
    period_accept,
    period_approve_decide,
    period_approve_request,
    period_locked,
    period_unapprove,
)
from spmis.intake.models import ApprovalState, PeriodApproval, Submission, SubmissionStatus
from spmis.registry.models import Person
from tests.intake.helpers import MAY, approved, csv_bytes, row, submit

pytestmark = pytest.mark.django_db


# ``district`` and ``people``: tests/intake/conftest.py.


def test_request_approve_accept(district, people):
    pending = period_approve_request(actor=people["maker"], area_code=district.code,
                                     period=MAY)
    assert pending.state == ApprovalState.PENDING and pending.request.maker == people["maker"]
    assert pending.request.approver_role == "APPROVER" and pending.request.area == district
    with pytest.raises(SeparationOfDuties):
        period_approve_decide(actor=people["maker"], area_code=district.code, period=MAY,
                              approve=True)
    assert PeriodApproval.objects.get().state == ApprovalState.PENDING
    done = period_approve_decide(actor=people["checker"], area_code=district.code, period=MAY,
                                 approve=True)
    assert done.state == ApprovalState.APPROVED
    with pytest.raises(PermissionDenied):  # APPROVER over the district, not the region
        period_accept(actor=people["checker"], area_code=district.code, period=MAY)
    accepted = period_accept(actor=people["region"], area_code=district.code, period=MAY)
    assert accepted.state == ApprovalState.ACCEPTED
    actions = set(AuditEvent.objects.filter(object_type="period_approval")
                  .values_list("action", flat=True))
    assert {"approval.request", "approval.decide", "period.request", "period.approve",
            "period.accept"} <= actions


def test_maker_cannot_accept_and_duplicates_conflict(district, people, make_user):
    both = make_user("APPROVER", area=district.parent.code, username="both")
    period_approve_request(actor=both, area_code=district.code, period=MAY)
    with pytest.raises(Conflict):
        period_approve_request(actor=people["maker"], area_code=district.code, period=MAY)
    period_approve_decide(actor=people["checker"], area_code=district.code, period=MAY,
                          approve=True)
    with pytest.raises(SeparationOfDuties):
        period_accept(actor=both, area_code=district.code, period=MAY)


def test_rejection_reopens_with_reason(district, people):
    period_approve_request(actor=people["maker"], area_code=district.code, period=MAY)
    with pytest.raises(ValidationFailed):
        period_approve_decide(actor=people["checker"], area_code=district.code, period=MAY,
                              approve=False)
    done = period_approve_decide(actor=people["checker"], area_code=district.code, period=MAY,
                                 approve=False, reason="Two communes missing")
    assert done.state == ApprovalState.UNAPPROVED and done.reason == "Two communes missing"
    assert not period_locked(area_path=district.path, period=MAY)


def test_approved_period_refuses_submissions_until_unapproved(district, people):
    approved(district, people)
    commune = Area.objects.filter(level=3).order_by("code").first()
    assert period_locked(area_path=commune.path, period=MAY)
    assert period_locked(area_path=district.path, period=dt.date(2026, 5, 17))
    assert not period_locked(area_path=district.parent.path, period=MAY)  # only downwards
    assert not period_locked(area_path=district.path, period=dt.date(2026, 6, 1))

    refused = submit(csv_bytes([row()]))
    assert refused.status == SubmissionStatus.REFUSED
    assert refused.message == (f"The period 2026-05 is approved for {district.code}; "
                               f"ask for it to be un-approved first.")
    assert not Person.objects.filter(source__code="NGO_X").exists()
    assert AuditEvent.objects.filter(action="submission.refuse",
                                     object_id=str(refused.pk)).exists()

    with pytest.raises(ValidationFailed):
        period_unapprove(actor=people["checker"], area_code=district.code, period=MAY,
                         reason=" ")
    with pytest.raises(PermissionDenied):
        period_unapprove(actor=people["maker"], area_code=district.code, period=MAY,
                         reason="late file")
    reopened = period_unapprove(actor=people["checker"], area_code=district.code, period=MAY,
                                reason="A late file from NGO X")
    assert reopened.state == ApprovalState.UNAPPROVED
    assert reopened.reason == "A late file from NGO X"
    event = AuditEvent.objects.get(action="period.unapprove")
    assert event.purpose == "A late file from NGO X" and event.area_code == district.code

    loaded = submit(csv_bytes([row()]))
    assert loaded.status == SubmissionStatus.LOADED, loaded.message
    assert Person.objects.filter(source__code="NGO_X").count() == 1
    # Approvable again after re-opening.
    again = period_approve_request(actor=people["maker"], area_code=district.code, period=MAY)
    assert again.state == ApprovalState.PENDING and PeriodApproval.objects.count() == 1


def test_region_acceptance_also_locks(district, people):
    approved(district, people)
    period_accept(actor=people["region"], area_code=district.code, period=MAY)
    assert submit(csv_bytes([row()])).status == SubmissionStatus.REFUSED
    assert Submission.objects.exclude(status=SubmissionStatus.REFUSED).count() == 0


def test_cli_approval_flow(district, people):
    runner = CliRunner()

    def run(*args):
        return runner.invoke(cli, ["intake", "approve", "--area", district.code,
                                   "--period", "2026-05", *args])

    assert "PENDING" in run("--as", "maker").output
    own = run("--as", "maker", "--action", "approve")
    assert own.exit_code != 0 and "cannot approve" in own.output
    assert "APPROVED" in run("--as", "checker", "--action", "approve").output
    assert "ACCEPTED" in run("--as", "regional", "--action", "accept").output
    no_reason = run("--as", "checker", "--action", "unapprove")
    assert no_reason.exit_code != 0 and "reason" in no_reason.output
    done = run("--as", "checker", "--action", "unapprove", "--reason", "corrections")
    assert done.exit_code == 0 and "UNAPPROVED" in done.output
