"""Creating users and granting roles. Every change is audited in its own transaction."""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction

from spmis.access.models import Role, RoleAssignment, User
from spmis.audit.services import audit_record
from spmis.core.errors import Conflict, NotFound, ValidationFailed
from spmis.geography.models import Area
from spmis.schemes.models import Scheme


def user_create(
    *,
    actor: User | None,
    username: str,
    password: str,
    email: str = "",
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
        user = User.objects.create_user(username=username, email=email, password=password)
        audit_record(actor=actor, action="user.create", object_type="user", object_id=user.pk,
                     detail={"username": username})
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
    schemes = list(Scheme.objects.filter(code__in=codes))
    missing = set(codes) - {s.code for s in schemes}
    if missing:
        raise NotFound(f"No scheme with code {', '.join(sorted(missing))}.")
    with transaction.atomic():
        assignment, created = RoleAssignment.objects.get_or_create(
            user=user, role=role, area=area, defaults={"all_schemes": not schemes}
        )
        if not created:
            raise Conflict(f"{user.username} already holds {role} in {area_code}.")
        assignment.schemes.set(schemes)
        audit_record(actor=actor, action="role.assign", object_type="user", object_id=user.pk,
                     area_code=area.code, detail={"role": role, "schemes": codes})
    return assignment


def api_token_issue(*, actor: User | None, username: str) -> str:
    """Give ``username`` a fresh API token, revoking any earlier one. Returns the key."""
    from rest_framework.authtoken.models import Token

    user = User.objects.filter(username=username, is_active=True).first()
    if user is None:
        raise NotFound(f"No active user named {username!r}.")
    with transaction.atomic():
        Token.objects.filter(user=user).delete()
        token = Token.objects.create(user=user)
        audit_record(actor=actor, action="api_token.issue", object_type="user", object_id=user.pk)
    return token.key
