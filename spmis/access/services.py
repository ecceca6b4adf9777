"""Creating users and granting roles. Every change is audited in its own transaction."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _t

from spmis.access.auth import is_locked
from spmis.access.models import (
    ApiToken,
    ApprovalDecision,
    ApprovalPolicy,
    ApprovalRequest,
    ApprovalStatus,
    Clearance,
    Role,
    RoleAssignment,
    User,
)
from spmis.access.policy import Permission
from spmis.access.selectors import Scope, approval_checkers, scope_for_user, sod_conflict
from spmis.audit.actions import AuditAction
from spmis.audit.services import audit_record
from spmis.core import clock
from spmis.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from spmis.geography.models import Area


def user_set_clearance(*, actor: User | None, user: User, clearance: int) -> User:
    if clearance not in Clearance.values:
        raise ValidationFailed(f"Unknown clearance {clearance!r}.")
    with transaction.atomic():
        before = user.clearance
        user.clearance = clearance
        user.save(update_fields=["clearance"])
        audit_record(actor=actor, action=AuditAction.USER_CLEARANCE,
                     object_type="user", object_id=user.pk,
                     detail={"from": before, "to": clearance})
    return user


def permission_require(*, user: User, permission: Permission, doing: str) -> Scope:
    """Where ``user`` may use ``permission``; refused (and logged) when nowhere.

    Services acting for a user call this first, then look the object up inside the returned
    scope, answering "not found" for one outside it: the web, the API and the CLI's ``--as``
    get the same answer because they call the same service.
    """
    scope = scope_for_user(user=user, permission=permission)
    if scope.empty:
        audit_record(actor=user, action=AuditAction.ACCESS_DENIED, object_type="service",
                     object_id=doing[:64], detail={"permission": permission.value})
        raise PermissionDenied(f"{user.get_username()} may not {doing}: no role of theirs "
                               f"grants {permission.value}.")
    return scope


class SeparationOfDuties(PermissionDenied):
    """A role assignment or decision would break a separation-of-duties rule."""


def user_create(
    *,
    actor: User | None,
    username: str,
    password: str,
    email: str = "",
    clearance: int = Clearance.INTERNAL,
    check_password_strength: bool = True,
) -> User:
    username = username.strip()
    if not username:
        raise ValidationFailed("A username is required.")
    if User.objects.filter(username=username).exists():
        raise Conflict(f"A user named {username!r} already exists.")
    if check_password_strength:
        try:
            validate_password(password, User(username=username, email=email))
        except ValidationError as exc:
            raise ValidationFailed(" ".join(exc.messages)) from exc
    with transaction.atomic():
        user = User.objects.create_user(username=username, email=email, password=password,
                                        clearance=Clearance(clearance))
        audit_record(actor=actor, action=AuditAction.USER_CREATE,
                     object_type="user", object_id=user.pk,
                     detail={"username": username, "clearance": user.clearance})
    return user


def role_assign(
    *,
    actor: User | None,
    user: User,
    role: str,
    area_code: str,
    scheme_codes: Iterable[str] = (),
) -> RoleAssignment:
    """Grant ``role`` over the subtree of ``area_code``; no scheme codes means all schemes."""
    if role not in Role.values:
        raise ValidationFailed(f"Unknown role {role!r}. Roles: {', '.join(Role.values)}.")
    area = Area.objects.filter(code=area_code).first()
    if area is None:
        raise NotFound(f"No area with code {area_code!r}.")
    codes = sorted(set(scheme_codes))
    schemes = _scheme_ids(codes)
    missing = set(codes) - set(schemes)
    if missing:
        raise NotFound(f"No scheme with code {', '.join(sorted(missing))}.")
    conflict = sod_conflict(user=user, role=role)
    if conflict is not None:
        raise SeparationOfDuties(
            f"{user.username} cannot hold {role}: they hold {conflict.held_role}. "
            f"{conflict.reason}"
        )
    with transaction.atomic():
        assignment, created = RoleAssignment.objects.get_or_create(
            user=user, role=role, area=area, defaults={"all_schemes": not schemes}
        )
        if not created:
            raise Conflict(f"{user.username} already holds {role} in {area_code}.")
        assignment.schemes.set(list(schemes.values()))
        audit_record(actor=actor, action=AuditAction.ROLE_ASSIGN,
                     object_type="user", object_id=user.pk,
                     area_code=area.code, detail={"role": role, "schemes": codes})
    return assignment


def _scheme_ids(codes: list[str]) -> dict[str, int]:
    """Scheme ids by code. Schemes come after access in the import order, so they are reached
    through the role's own relation rather than imported."""
    model = RoleAssignment._meta.get_field("schemes").related_model
    return dict(model._default_manager.filter(code__in=codes).values_list("code", "pk"))


@dataclass(frozen=True)
class IssuedToken:
    """A new API key (shown once: only its hash is kept) and when it stops working."""

    key: str
    expires_at: dt.datetime


TOKEN_PREFIX_LENGTH = 8  # the key's first characters, stored in clear to find its row


def _token_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _tokens_revoke(user: User) -> int:
    return ApiToken.objects.filter(user=user, revoked_at__isnull=True).update(
        revoked_at=clock.now())


def api_token_issue(*, actor: User | None, username: str) -> IssuedToken:
    """Give ``username`` a fresh API token, revoking every earlier one. The key is returned
    once; the database keeps only its SHA-256 hash. It expires after
    ``SPMIS_API_TOKEN_DAYS``."""
    user = User.objects.filter(username=username, is_active=True).first()
    if user is None:
        raise NotFound(f"No active user named {username!r}.")
    key = secrets.token_urlsafe(32)  # 256 random bits: a plain hash suffices, no slow KDF
    now = clock.now()
    expires_at = now + dt.timedelta(days=settings.SPMIS_API_TOKEN_DAYS)
    with transaction.atomic():
        # One issue at a time per user, so two at once cannot leave two live tokens.
        User.objects.select_for_update().filter(pk=user.pk).first()
        revoked = _tokens_revoke(user)
        token = ApiToken.objects.create(user=user, prefix=key[:TOKEN_PREFIX_LENGTH],
                                        key_hash=_token_hash(key), created_at=now,
                                        expires_at=expires_at)
        audit_record(actor=actor, action=AuditAction.API_TOKEN_ISSUE,
                     object_type="user", object_id=user.pk,
                     detail={"token": token.pk, "expires_at": expires_at.isoformat(),
                             "tokens_revoked": revoked})
    return IssuedToken(key=key, expires_at=expires_at)


def api_token_revoke(*, actor: User | None, user: User) -> int:
    """Revoke every API token of ``user`` at once. Returns how many were live."""
    with transaction.atomic():
        revoked = _tokens_revoke(user)
        audit_record(actor=actor, action=AuditAction.API_TOKEN_REVOKE,
                     object_type="user", object_id=user.pk,
                     detail={"username": user.username, "tokens_revoked": revoked})
    return revoked


class TokenRefused(PermissionDenied):
    """An API key that opens nothing; ``reason`` (for the audit log) says why."""

    def __init__(self, reason: str, token: ApiToken | None = None) -> None:
        super().__init__("Invalid token: unknown, expired or revoked, or its user may not "
                         "sign in.")
        self.reason = reason
        self.token = token


LAST_USED_EVERY = dt.timedelta(minutes=1)  # how often a token's last use is written down


def api_token_authenticate(*, key: str) -> tuple[User, ApiToken]:
    """The user an API key stands for, or TokenRefused: unknown (compared in constant time
    against the hashes of the keys sharing its first characters), expired, revoked, or its
    user disabled or locked."""
    digest = _token_hash(key)
    found = None
    for candidate in ApiToken.objects.select_related("user").filter(
            prefix=key[:TOKEN_PREFIX_LENGTH]):
        if hmac.compare_digest(candidate.key_hash, digest):
            found = candidate
    if found is None or len(key) < TOKEN_PREFIX_LENGTH:
        raise TokenRefused("unknown")
    now = clock.now()
    if found.revoked_at is not None:
        raise TokenRefused("revoked", found)
    if found.expires_at <= now:
        raise TokenRefused("expired", found)
    user = found.user
    if not user.is_active:
        raise TokenRefused("user_disabled", found)
    if is_locked(user):
        raise TokenRefused("user_locked", found)
    if found.last_used_at is None or now - found.last_used_at >= LAST_USED_EVERY:
        ApiToken.objects.filter(pk=found.pk).update(last_used_at=now)
        found.last_used_at = now
    return user, found


def approval_request(
    *,
    maker: User,
    object_type: str,
    object_id: str | int,
    action: str,
    approver_role: str,
    area_code: str,
    policy: str = ApprovalPolicy.ANY,
    required: int = 1,
) -> ApprovalRequest:
    """Open a maker-checker request: ``maker``'s change waits for others holding
    ``approver_role`` over ``area_code``. Every workflow that needs a second pair of eyes uses
    this, so "nobody approves their own work" is enforced in one place."""
    if policy not in ApprovalPolicy.values:
        raise ValidationFailed(f"Unknown approval policy {policy!r}.")
    if required < 1:
        raise ValidationFailed("At least one approval is required.")
    area = Area.objects.filter(code=area_code).first()
    if area is None:
        raise NotFound(f"No area with code {area_code!r}.")
    with transaction.atomic():
        request = ApprovalRequest.objects.create(
            object_type=object_type, object_id=str(object_id), action=action, maker=maker,
            approver_role=approver_role, area=area, policy=policy,
            required=required if policy == ApprovalPolicy.N else 1, created_at=clock.now(),
        )
        audit_record(actor=maker, action=AuditAction.APPROVAL_REQUEST, object_type=object_type,
                     object_id=object_id, area_code=area.code,
                     detail={"request": request.pk, "action": action, "policy": policy})
    return request


def approval_decide(
    *, checker: User, request_id: int, approve: bool, reason: str = ""
) -> ApprovalRequest:
    with transaction.atomic():
        request = (
            ApprovalRequest.objects.select_for_update().select_related("area")
            .filter(pk=request_id).first()
        )
        if request is None:
            raise NotFound("No such approval request.")
        if checker.pk == request.maker_id:
            raise SeparationOfDuties("You cannot approve or reject what you made.")
        if not approval_checkers(request=request).filter(pk=checker.pk).exists():
            raise NotFound("No such approval request.")  # outside their role or area

        if request.status != ApprovalStatus.PENDING:
            raise Conflict(f"This request is already {request.get_status_display()}.")
        if request.decisions.filter(checker=checker).exists():
            raise Conflict("You have already decided on this request.")
        if not approve and not reason.strip():
            raise ValidationFailed("A rejection needs a reason.")
        ApprovalDecision.objects.create(request=request, checker=checker, approve=approve,
                                        reason=reason, decided_at=clock.now())
        request.status = _approval_outcome(request, approve)
        if request.status != ApprovalStatus.PENDING:
            request.decided_at = clock.now()
        request.save(update_fields=["status", "decided_at"])
        audit_record(actor=checker, action=AuditAction.APPROVAL_DECIDE,
                     object_type=request.object_type,
                     object_id=request.object_id, area_code=request.area.code, purpose=reason,
                     detail={"request": request.pk, "approve": approve,
                             "status": request.status})
    return request


def _approval_outcome(request: ApprovalRequest, approve: bool) -> str:
    if not approve:
        return ApprovalStatus.REJECTED
    approvals = request.decisions.filter(approve=True).count()
    if request.policy == ApprovalPolicy.ALL:
        needed = approval_checkers(request=request).count()
    else:
        needed = request.required
    return ApprovalStatus.APPROVED if approvals >= needed else ApprovalStatus.PENDING


def user_get_by_username(*, username: str) -> User:
    user = User.objects.filter(username=username).first()
    if user is None:
        raise NotFound(f"No user named {username!r}.")
    return user


def user_disable(*, actor: User | None, user: User, reason: str = "") -> User:
    """Stop ``user`` at once: no login, every web session ended, every API token revoked."""
    from spmis.access.auth import sessions_end

    with transaction.atomic():
        user.is_active = False
        user.save(update_fields=["is_active"])
        sessions = sessions_end(user=user)
        tokens = _tokens_revoke(user)
        audit_record(actor=actor, action=AuditAction.USER_DISABLE,
                     object_type="user", object_id=user.pk,
                     detail={"username": user.username, "reason": reason,
                             "sessions_ended": sessions, "tokens_revoked": tokens})
    return user


def user_mfa_reset(*, actor: User | None, user: User) -> User:
    """Forget ``user``'s authenticator (e.g. a lost phone) and end their web sessions; the
    next login enrols a new one."""
    from spmis.access.auth import sessions_end
    from spmis.access.models import TOTPDevice

    with transaction.atomic():
        devices, _ = TOTPDevice.objects.filter(user=user).delete()
        sessions = sessions_end(user=user)
        audit_record(actor=actor, action=AuditAction.MFA_RESET,
                     object_type="user", object_id=user.pk,
                     detail={"username": user.username, "had_device": bool(devices),
                             "sessions_ended": sessions})
    return user


def role_revoke(*, actor: User | None, user: User, role: str, area_code: str,
                reason: str = "") -> None:
    with transaction.atomic():
        deleted, _ = RoleAssignment.objects.filter(user=user, role=role,
                                                   area__code=area_code).delete()
        if not deleted:
            raise NotFound(f"{user.username} does not hold {role} in {area_code}.")
        audit_record(actor=actor, action=AuditAction.ROLE_REVOKE,
                     object_type="user", object_id=user.pk, area_code=area_code,
                     detail={"role": role, **({"reason": reason} if reason else {})})


# --- Changes from the access review page: a security administrator, never on themselves -----


def _manage_check(*, actor: User, target: User, area_paths: list[str], doing: str) -> None:
    """Refuse (and record the refusal) unless ``actor`` manages access over every area given
    and is not ``target``: nobody disables, signs out or takes a role from themselves."""
    from spmis.access.selectors import access_change_refusal

    scope = permission_require(user=actor, permission=Permission.MANAGE_ACCESS, doing=doing)
    refusal = access_change_refusal(actor=actor, target=target, area_paths=area_paths,
                                    scope=scope)
    if refusal is not None:
        audit_record(actor=actor, action=AuditAction.ACCESS_DENIED, object_type="user",
                     object_id=target.pk, detail={"doing": doing, "refused": refusal.code})
        raise PermissionDenied(_t(refusal.message))


def _user_for_change(user_id: int) -> User:
    user = User.objects.filter(pk=user_id).first()
    if user is None:
        raise NotFound(_t("No such user."))
    return user


def access_user_disable(*, actor: User, user_id: int, reason: str) -> User:
    """Disable a user from the access review: ``user_disable`` (sessions ended, tokens
    revoked, audited with the reason), for a security administrator over every area the user
    holds a role in, never on themselves; a reason is required."""
    target = _user_for_change(user_id)
    _manage_check(actor=actor, target=target, doing="disable a user",
                  area_paths=[a.area.path for a in target.role_assignments.select_related("area")])
    if not target.is_active:
        raise Conflict(_t("%(name)s is already disabled.") % {"name": target.username})
    if not reason.strip():
        raise ValidationFailed(_t("Give the reason (who asked, and why)."))
    return user_disable(actor=actor, user=target, reason=reason.strip()[:500])


@dataclass(frozen=True)
class SignedOut:
    sessions_ended: int
    tokens_revoked: int


def access_user_sign_out(*, actor: User, user_id: int, reason: str = "") -> SignedOut:
    """End every web session of a user and revoke their API tokens (the account stays
    active: they may sign in again), audited as ``user.sign_out`` in the same transaction."""
    from spmis.access.auth import sessions_end

    target = _user_for_change(user_id)
    _manage_check(actor=actor, target=target, doing="sign a user out",
                  area_paths=[a.area.path for a in target.role_assignments.select_related("area")])
    with transaction.atomic():
        sessions = sessions_end(user=target)
        tokens = _tokens_revoke(target)
        audit_record(actor=actor, action=AuditAction.USER_SIGN_OUT,
                     object_type="user", object_id=target.pk,
                     detail={"username": target.username, "reason": reason.strip()[:500],
                             "sessions_ended": sessions, "tokens_revoked": tokens})
    return SignedOut(sessions_ended=sessions, tokens_revoked=tokens)


def access_role_revoke(*, actor: User, assignment_id: int, reason: str = "") -> RoleAssignment:
    """Take one role assignment back (``role_revoke``, audited with the reason), for a
    security administrator over its area, never from themselves. Role changes need no
    second approver (no maker-checker policy covers them)."""
    assignment = (RoleAssignment.objects.select_related("user", "area")
                  .filter(pk=assignment_id).first())
    if assignment is None:
        raise NotFound(_t("No such role assignment."))
    _manage_check(actor=actor, target=assignment.user, doing="revoke a role",
                  area_paths=[assignment.area.path])
    role_revoke(actor=actor, user=assignment.user, role=assignment.role,
                area_code=assignment.area.code, reason=reason.strip()[:500])
    return assignment
