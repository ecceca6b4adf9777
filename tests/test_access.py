"""Separation of duties, maker-checker approvals, clearances and the access review."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from spmis.access.models import (
    ApprovalPolicy,
    ApprovalStatus,
    Clearance,
    IncompatibleRoles,
    RoleAssignment,
)
from spmis.access.policy import ROLE_PERMISSIONS, SEPARATED
from spmis.access.selectors import access_review, sod_violations
from spmis.access.services import (
    SeparationOfDuties,
    approval_decide,
    approval_request,
    role_assign,
    user_create,
    user_set_clearance,
)
from spmis.audit.models import AuditEvent
from spmis.cli.main import cli
from spmis.core.errors import Conflict, NotFound, ValidationFailed
from tests.helpers import logged_in

pytestmark = pytest.mark.django_db


def test_no_shipped_role_holds_both_sides_of_a_separated_pair():
    for role, permissions in ROLE_PERMISSIONS.items():
        for a, b in SEPARATED:
            assert not (a in permissions and b in permissions), (role, a, b)


@pytest.mark.parametrize("first,second", [
    ("REGISTRAR", "TARGETING_OFFICER"), ("TARGETING_OFFICER", "REGISTRAR"),
    ("DATA_COLLECTOR", "REGISTRAR"), ("SECURITY_ADMIN", "PAYMENT_OFFICER"),
    ("STATISTICIAN", "SECURITY_ADMIN"), ("GRIEVANCE_OFFICER", "APPEAL_REVIEWER"),
])
def test_conflicting_role_assignment_is_refused_with_the_reason(country, make_user, first,
                                                                 second):
    user = make_user(first)
    with pytest.raises(SeparationOfDuties) as refused:
        role_assign(actor=None, user=user, role=second, area_code="XY01")
    assert first in refused.value.message and second in refused.value.message
    assert IncompatibleRoles.objects.filter(role_a__in=[first, second],
                                            role_b__in=[first, second]).exists()
    assert not RoleAssignment.objects.filter(user=user, role=second).exists()


def test_compatible_roles_can_be_combined(country, make_user):
    user = make_user("REGISTRAR")
    role_assign(actor=None, user=user, role="GRIEVANCE_OFFICER", area_code="XY01")
    assert RoleAssignment.objects.filter(user=user).count() == 2


def test_violations_loaded_from_an_old_system_are_reported(country, make_user):
    user = make_user("REGISTRAR", username="legacy")
    RoleAssignment.objects.create(user=user, role="TARGETING_OFFICER", area_id=1)  # bypass
    violations = sod_violations()
    assert [(v.username, {v.role_a, v.role_b}) for v in violations] == [
        ("legacy", {"REGISTRAR", "TARGETING_OFFICER"})]
    review = access_review()
    assert review.violations == violations
    result = CliRunner().invoke(cli, ["access", "review", "--format", "json"])
    assert result.exit_code == 0
    report = json.loads(result.output)
    assert report["violations"][0]["username"] == "legacy"
    assert "legacy" in [u["username"] for u in report["users"]]


def test_access_review_lists_privileged_and_dormant(country, make_user):
    admin = make_user("SECURITY_ADMIN", username="sec", clearance=Clearance.INTERNAL)
    make_user("REGISTRAR", username="never_logged_in")
    review = access_review(dormant_days=30)
    assert "sec" in review.privileged
    assert "never_logged_in" not in review.dormant  # joined today
    page = logged_in(admin).get("/access/review/").content.decode()
    assert "never_logged_in" in page and "Separation-of-duties violations" in page


@pytest.fixture
def team(country, make_user):
    return {
        "maker": make_user("REGISTRAR", username="maker"),
        "a": make_user("APPROVER", username="appr_a"),
        "b": make_user("APPROVER", area="XY01", username="appr_b"),
        "c": make_user("APPROVER", username="appr_c"),
        "far": make_user("APPROVER", area="XY02", username="appr_far"),
    }


def open_request(team, policy, required=1):
    return approval_request(maker=team["maker"], object_type="enrolment", object_id=42,
                            action="enrolment.approve", approver_role="APPROVER",
                            area_code="XY0101", policy=policy, required=required)


def test_maker_cannot_approve_own_request_even_as_approver(team):
    role_assign(actor=None, user=team["maker"], role="APPROVER", area_code="XY")
    request = open_request(team, ApprovalPolicy.ANY)
    with pytest.raises(SeparationOfDuties):
        approval_decide(checker=team["maker"], request_id=request.pk, approve=True)
    request.refresh_from_db()
    assert request.status == ApprovalStatus.PENDING


def test_any_policy_one_approval_suffices(team):
    request = open_request(team, ApprovalPolicy.ANY)
    assert approval_decide(checker=team["a"], request_id=request.pk,
                           approve=True).status == ApprovalStatus.APPROVED
    with pytest.raises(Conflict):
        approval_decide(checker=team["b"], request_id=request.pk, approve=True)


def test_n_policy_needs_n_distinct_approvers(team):
    request = open_request(team, ApprovalPolicy.N, required=2)
    assert approval_decide(checker=team["a"], request_id=request.pk,
                           approve=True).status == ApprovalStatus.PENDING
    with pytest.raises(Conflict):
        approval_decide(checker=team["a"], request_id=request.pk, approve=True)
    assert approval_decide(checker=team["c"], request_id=request.pk,
                           approve=True).status == ApprovalStatus.APPROVED


def test_all_policy_needs_every_eligible_approver(team):
    request = open_request(team, ApprovalPolicy.ALL)
    for who in ("a", "b"):
        assert approval_decide(checker=team[who], request_id=request.pk,
                               approve=True).status == ApprovalStatus.PENDING
    final = approval_decide(checker=team["c"], request_id=request.pk, approve=True)
    assert final.status == ApprovalStatus.APPROVED
    assert AuditEvent.objects.filter(action="approval.decide").count() == 3


def test_rejection_needs_a_reason_and_ends_the_request(team):
    request = open_request(team, ApprovalPolicy.ALL)
    with pytest.raises(ValidationFailed):
        approval_decide(checker=team["a"], request_id=request.pk, approve=False)
    done = approval_decide(checker=team["a"], request_id=request.pk, approve=False,
                           reason="documents missing")
    assert done.status == ApprovalStatus.REJECTED


def test_approver_outside_the_area_cannot_see_the_request(team):
    request = open_request(team, ApprovalPolicy.ANY)
    with pytest.raises(NotFound):
        approval_decide(checker=team["far"], request_id=request.pk, approve=True)


def test_clearance_changes_are_audited(country, make_user):
    user = make_user(clearance=Clearance.INTERNAL)
    user_set_clearance(actor=None, user=user, clearance=Clearance.SECRET)
    event = AuditEvent.objects.filter(action="user.clearance").latest("seq")
    assert event.detail == {"from": Clearance.INTERNAL, "to": Clearance.SECRET}


def test_new_users_default_to_internal_clearance(country):
    user = user_create(actor=None, username="fresh", password="a-long-pass-phrase-9")
    assert user.clearance == Clearance.INTERNAL


def test_expired_approver_assignment_does_not_count(team):
    import datetime as dt

    RoleAssignment.objects.filter(user=team["c"], role="APPROVER").update(
        valid_until=dt.date(2020, 1, 1))
    role_assign(actor=None, user=team["c"], role="GRIEVANCE_OFFICER", area_code="XY")
    request = open_request(team, ApprovalPolicy.ANY)
    with pytest.raises(NotFound):
        approval_decide(checker=team["c"], request_id=request.pk, approve=True)


def test_security_admin_cannot_also_audit(country, make_user):
    with pytest.raises(SeparationOfDuties):
        role_assign(actor=None, user=make_user("SECURITY_ADMIN"), role="AUDITOR",
                    area_code="XY")


def test_cli_grant_revoke_and_clearance(country, make_user):
    user = make_user("REGISTRAR", username="ana", clearance=Clearance.INTERNAL)
    runner = CliRunner()
    refused = runner.invoke(cli, ["access", "grant", "ana", "targeting_officer", "--area", "XY"])
    assert refused.exit_code == 1 and "Registration and targeting" in refused.output
    assert runner.invoke(cli, ["access", "grant", "ana", "grievance_officer", "--area",
                               "XY01"]).exit_code == 0
    assert runner.invoke(cli, ["access", "revoke", "ana", "GRIEVANCE_OFFICER", "--area",
                               "XY01", "--reason", "moved to another office"]).exit_code == 0
    revoked = AuditEvent.objects.filter(action="role.revoke", object_id=str(user.pk)).get()
    assert revoked.detail["reason"] == "moved to another office"
    again = runner.invoke(cli, ["access", "revoke", "ana", "GRIEVANCE_OFFICER", "--area", "XY01"])
    assert again.exit_code == 1 and "does not hold" in again.output
    assert runner.invoke(cli, ["access", "clearance", "ana", "secret"]).exit_code == 0
    user.refresh_from_db()
    assert user.clearance == Clearance.SECRET
    assert [e.action for e in AuditEvent.objects.filter(actor=None, object_id=str(user.pk))
            .order_by("seq")][-3:] == ["role.assign", "role.revoke", "user.clearance"]
