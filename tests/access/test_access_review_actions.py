"""The access review page: times in the active locale, and its actions (disable, sign out,
revoke a role), each confirmed first, for security administrators only, never on oneself."""

from __future__ import annotations

import datetime as dt

import pytest

from spmis.access.models import ApiToken, Clearance, RoleAssignment, User, UserSession
from spmis.audit.models import AuditEvent
from spmis.core import clock
from tests import factories
from tests.helpers import logged_in


@pytest.fixture
def people(small, make_user):
    admin = make_user("SECURITY_ADMIN", username="sec", clearance=Clearance.INTERNAL)
    target = make_user("REGISTRAR", area="D1", username="amina")
    factories.api_token(target)
    return {"admin": admin, "target": target, "admin_client": logged_in(admin),
            "target_client": logged_in(target)}


def test_times_are_relative_with_the_exact_time_in_a_title(people):
    User.objects.filter(username="amina").update(
        last_login=clock.now() - dt.timedelta(days=3, hours=1))
    body = people["admin_client"].get("/access/review/").content.decode()
    row = body[body.index('<tr data-user="amina">'):]
    row = row[:row.index("</tr>")]
    assert "3\xa0days, 1\xa0hour ago" in row
    assert '<time datetime="' in row and 'title="' in row
    assert "T" not in row.split('title="')[1].split('"')[0]  # not a raw ISO timestamp


def test_the_review_offers_actions_to_a_security_admin_only(people, make_user):
    target = people["target"]
    body = people["admin_client"].get("/access/review/").content.decode()
    assert f'/access/review/users/{target.pk}/disable/' in body
    assert f'/access/review/users/{target.pk}/sign-out/' in body
    assignment = target.role_assignments.get()
    assert f'/access/review/roles/{assignment.pk}/revoke/' in body
    assert f'/access/review/users/{people["admin"].pk}/disable/' not in body  # not oneself
    auditor = logged_in(make_user("AUDITOR", username="aud"))
    assert "/disable/" not in auditor.get("/access/review/").content.decode()


def test_the_confirmation_page_says_what_will_change(people):
    target = people["target"]
    page = people["admin_client"].get(f"/access/review/users/{target.pk}/disable/")
    body = page.content.decode()
    assert page.status_code == 200
    assert "amina can no longer sign in" in body
    assert "1 open web session ends now." in body and "1 API token is revoked." in body
    assert 'name="confirm" value="yes"' in body
    assert User.objects.get(pk=target.pk).is_active  # showing it changed nothing


@pytest.mark.parametrize("action", ["disable", "sign-out", "revoke"])
def test_a_post_without_confirmation_changes_nothing(people, action):
    target = people["target"]
    url = _url(action, target)
    before = AuditEvent.objects.count()
    response = people["admin_client"].post(url, {"reason": "left"})
    assert response.status_code == 400
    assert "Nothing was changed" in response.content.decode()
    target.refresh_from_db()
    assert target.is_active and target.role_assignments.count() == 1
    assert ApiToken.objects.filter(user=target, revoked_at__isnull=True).count() == 1
    assert UserSession.objects.filter(user=target).count() == 1
    assert AuditEvent.objects.count() == before


def _url(action: str, user: User) -> str:
    if action == "revoke":
        return f"/access/review/roles/{user.role_assignments.get().pk}/revoke/"
    return f"/access/review/users/{user.pk}/{action}/"


def test_disable_confirmed_disables_ends_sessions_is_audited_and_said(people):
    target = people["target"]
    response = people["admin_client"].post(_url("disable", target), {
        "confirm": "yes", "reason": "left the ministry, ticket 4411"}, follow=True)
    assert response.redirect_chain[-1] == ("/access/review/", 303)
    assert '<div class="message success" role="status">amina is disabled.</div>' in \
        response.content.decode()
    target.refresh_from_db()
    assert not target.is_active
    assert not ApiToken.objects.filter(user=target, revoked_at__isnull=True).exists()
    assert people["target_client"].get("/").status_code == 302  # their session ended
    entry = AuditEvent.objects.filter(action="user.disable").latest("seq")
    assert entry.actor_username == "sec" and entry.object_id == str(target.pk)
    assert entry.detail["reason"] == "left the ministry, ticket 4411"
    assert entry.detail["sessions_ended"] == 1 and entry.detail["tokens_revoked"] == 1


def test_disable_needs_a_reason(people):
    target = people["target"]
    response = people["admin_client"].post(_url("disable", target), {"confirm": "yes"})
    assert response.status_code == 400 and "Give the reason" in response.content.decode()
    assert User.objects.get(pk=target.pk).is_active


def test_sign_out_and_revoke_confirmed_are_audited(people):
    target = people["target"]
    assignment = target.role_assignments.get()
    client = people["admin_client"]
    done = client.post(_url("sign-out", target), {"confirm": "yes"}, follow=True)
    assert "amina is signed out: 1 sessions ended, 1 API tokens revoked." in \
        done.content.decode()
    assert User.objects.get(pk=target.pk).is_active
    assert not ApiToken.objects.filter(user=target, revoked_at__isnull=True).exists()
    assert not UserSession.objects.filter(user=target).exists()
    signed_out = AuditEvent.objects.filter(action="user.sign_out").latest("seq")
    assert signed_out.actor_username == "sec"
    assert signed_out.detail["sessions_ended"] == 1 and signed_out.detail["tokens_revoked"] == 1
    revoked = client.post(_url("revoke", target), {"confirm": "yes", "reason": "moved"},
                          follow=True)
    assert "REGISTRAR over" in revoked.content.decode()
    assert not RoleAssignment.objects.filter(pk=assignment.pk).exists()
    entry = AuditEvent.objects.filter(action="role.revoke").latest("seq")
    assert entry.actor_username == "sec" and entry.area_code == "D1"
    assert entry.detail == {"role": "REGISTRAR", "reason": "moved"}


@pytest.mark.parametrize("role", ["AUDITOR", "REGISTRAR", "SYSTEM_ADMIN"])
def test_others_than_security_admins_are_refused(people, make_user, role):
    target = people["target"]
    client = logged_in(make_user(role, username="other"))
    for action in ("disable", "sign-out", "revoke"):
        assert client.get(_url(action, target)).status_code == 403
        assert client.post(_url(action, target), {"confirm": "yes", "reason": "x"}
                           ).status_code == 403
    target.refresh_from_db()
    assert target.is_active and target.role_assignments.count() == 1
    assert ApiToken.objects.filter(user=target, revoked_at__isnull=True).exists()
    assert AuditEvent.objects.filter(action="access.denied", actor__username="other").count() == 6


def test_nobody_changes_their_own_access(people):
    admin, client = people["admin"], people["admin_client"]
    page = client.get(_url("disable", admin)).content.decode()
    assert "You cannot change your own access" in page and 'name="confirm"' not in page
    for action in ("disable", "sign-out", "revoke"):
        response = client.post(_url(action, admin), {"confirm": "yes", "reason": "test"})
        assert response.status_code == 403, action
    admin.refresh_from_db()
    assert admin.is_active and admin.role_assignments.count() == 1
    refusals = AuditEvent.objects.filter(action="access.denied", actor__username="sec")
    assert {e.detail.get("refused") for e in refusals} == {"self"}


def test_a_district_security_admin_cannot_change_a_national_user(people, make_user):
    district_admin = logged_in(make_user("SECURITY_ADMIN", area="D1", username="sec_d1"))
    national = make_user("SCHEME_MANAGER", area="XY", username="national")
    response = district_admin.post(_url("disable", national), {"confirm": "yes",
                                                                "reason": "x"})
    assert response.status_code == 403 and "outside your areas" in response.content.decode()
    assert User.objects.get(pk=national.pk).is_active
    ok = district_admin.post(_url("revoke", people["target"]), {"confirm": "yes"})
    assert ok.status_code == 303  # amina's role is over D1, theirs


def test_a_nul_in_the_reason_is_dropped_not_a_server_error(people):
    target = people["target"]
    response = people["admin_client"].post(_url("disable", target), {
        "confirm": "yes", "reason": "left\x00 the ministry"})
    assert response.status_code == 303
    entry = AuditEvent.objects.filter(action="user.disable").latest("seq")
    assert entry.detail["reason"] == "left the ministry"
