"""REST authentication that leaves a trace of every refused token."""

from __future__ import annotations

from typing import Any

from rest_framework.authentication import TokenAuthentication
from rest_framework.exceptions import AuthenticationFailed

from spmis.audit.actions import AuditAction
from spmis.audit.services import audit_record


class AuditedTokenAuthentication(TokenAuthentication):
    """Token authentication that logs every refused token (forged, revoked, disabled user)."""

    def authenticate_credentials(self, key: str) -> tuple[Any, Any]:
        try:
            return super().authenticate_credentials(key)
        except AuthenticationFailed:
            audit_record(actor=None, action=AuditAction.AUTH_TOKEN_REFUSED, object_type="token")
            raise
