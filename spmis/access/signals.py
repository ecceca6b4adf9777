"""Authentication events go to the audit log like any other event; they also drive the lockout
counter and the record of open sessions."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from spmis.access.auth import login_failure_record, session_closed, session_opened
from spmis.audit.actions import AuditAction
from spmis.audit.services import audit_record


@receiver(user_logged_in)
def _logged_in(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    audit_record(actor=user, action=AuditAction.AUTH_LOGIN, object_type="user", object_id=user.pk)
    if request is not None and hasattr(request, "session"):
        session_opened(request, user)


@receiver(user_logged_out)
def _logged_out(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    if user is not None:
        audit_record(actor=user, action=AuditAction.AUTH_LOGOUT,
                     object_type="user", object_id=user.pk)
    if request is not None:
        session_closed(request)


@receiver(user_login_failed)
def _login_failed(sender: Any, credentials: dict[str, Any], **kwargs: Any) -> None:
    username = str(credentials.get("username", ""))[:150]
    audit_record(actor=None, action=AuditAction.AUTH_LOGIN_FAILED, object_type="user",
                 detail={"username": username})
    if username:
        login_failure_record(username=username)
