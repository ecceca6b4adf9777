"""Password login with lockout, and the bookkeeping of who is logged in where.

After ``SPMIS_LOGIN_MAX_FAILURES`` consecutive failures (wrong passwords, and wrong second-factor
codes) an account is locked for ``SPMIS_LOGIN_LOCK_MINUTES``. A locked account's login fails exactly
like a wrong password, so the lock tells an attacker nothing; the audit log records it.
"""

from __future__ import annotations

import datetime as dt
from importlib import import_module
from typing import Any

from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.db.models import F, Q
from django.http import HttpRequest

from spmis.access.models import RoleAssignment, User, UserSession
from spmis.audit.actions import AuditAction
from spmis.audit.services import audit_record
from spmis.core import clock


def mfa_required(user: User) -> bool:
    """Staff (anyone holding a role) must pass a second factor when the setting is on."""
    return bool(settings.SPMIS_REQUIRE_MFA) and RoleAssignment.objects.filter(user=user).exists()


def is_locked(user: User) -> bool:
    return user.locked_until is not None and user.locked_until > clock.now()


class LockoutBackend(ModelBackend):
    """ModelBackend that refuses locked accounts and releases expired locks."""

    def authenticate(
        self, request: HttpRequest | None, username: str | None = None,
        password: str | None = None, **kwargs: Any,
    ) -> User | None:
        if username is None:
            username = kwargs.get(User.USERNAME_FIELD)
        if username is None or password is None:
            return None
        user = User._default_manager.filter(**{User.USERNAME_FIELD: username}).first()
        if user is not None and is_locked(user):
            User().set_password(password)  # same work as a real check: the timing tells nothing
            audit_record(actor=None, action=AuditAction.AUTH_LOCKED,
                         object_type="user", object_id=user.pk,
                         detail={"username": username[:150], "refused": True,
                                 "locked_until": _iso(user.locked_until)})
            return None
        if user is not None and user.locked_until is not None:  # the lock has run out
            User.objects.filter(pk=user.pk).update(failed_logins=0, locked_until=None)
        found = super().authenticate(request, username=username, password=password, **kwargs)
        if not isinstance(found, User):
            return None
        if not mfa_required(found):  # otherwise the login succeeds only with the second factor
            login_failures_reset(found)
        return found


def login_failure_record(*, username: str) -> bool:
    """Count one failure for ``username``; lock the account at the limit. True if now locked."""
    now = clock.now()
    live = Q(locked_until__isnull=True) | Q(locked_until__lte=now)
    users = User.objects.filter(**{User.USERNAME_FIELD: username})
    users.filter(live).update(failed_logins=F("failed_logins") + 1)
    until = now + dt.timedelta(minutes=settings.SPMIS_LOGIN_LOCK_MINUTES)
    locking = users.filter(live, failed_logins__gte=settings.SPMIS_LOGIN_MAX_FAILURES)
    user = locking.first()
    if user is None or not locking.update(locked_until=until):
        return False
    audit_record(actor=None, action=AuditAction.AUTH_LOCKED, object_type="user", object_id=user.pk,
                 detail={"username": username[:150], "failures": user.failed_logins,
                         "locked_until": _iso(until)})
    return True


def login_failures_reset(user: User) -> None:
    User.objects.filter(pk=user.pk).update(failed_logins=0, locked_until=None)
    user.failed_logins, user.locked_until = 0, None


def _iso(moment: dt.datetime | None) -> str:
    return moment.isoformat() if moment else ""


# Sessions -------------------------------------------------------------------------------------

SESSION_LOGIN_AT = "spmis_login_at"
SESSION_MFA_DONE = "spmis_mfa_done"


def session_opened(request: HttpRequest, user: User) -> None:
    """Called at login: remember when, and which session, so it can be ended later."""
    session = request.session
    session[SESSION_LOGIN_AT] = clock.now().timestamp()
    session[SESSION_MFA_DONE] = False
    if session.session_key is None:
        session.save()
    UserSession.objects.update_or_create(
        session_key=session.session_key, defaults={"user": user}
    )


def session_rotate(request: HttpRequest) -> None:
    """A new session id after a privilege change (the second factor passed)."""
    old = request.session.session_key
    request.session.cycle_key()
    UserSession.objects.filter(session_key=old).update(session_key=request.session.session_key)


def session_closed(request: HttpRequest) -> None:
    key = getattr(request, "session", None) and request.session.session_key
    if key:
        UserSession.objects.filter(session_key=key).delete()


def sessions_end(*, user: User) -> int:
    """Delete every web session ``user`` opened. Returns how many were recorded."""
    store = import_module(settings.SESSION_ENGINE).SessionStore
    keys = list(UserSession.objects.filter(user=user).values_list("session_key", flat=True))
    for key in keys:
        store(session_key=key).delete()
    UserSession.objects.filter(user=user).delete()
    return len(keys)
