"""REST authentication by API token (``Authorization: Token <key>``), leaving a trace of every
refused token."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.request import Request

from spmis.access.models import ApiToken, User
from spmis.access.services import TokenRefused, api_token_authenticate
from spmis.audit.actions import AuditAction
from spmis.audit.services import audit_record


class ApiTokenAuthentication(BaseAuthentication):
    """Looks the key up by its hash (``access.ApiToken``); refuses unknown, expired and revoked
    tokens and those of disabled or locked users, and logs each refusal
    (``auth.token_refused``, with the reason)."""

    keyword = "Token"

    def authenticate(self, request: Request) -> tuple[User, ApiToken] | None:
        words = get_authorization_header(request).split()
        if not words or words[0].lower() != self.keyword.lower().encode():
            return None  # another scheme (or none): the next authenticator may take it
        try:
            if len(words) != 2:
                raise TokenRefused("malformed")
            try:
                key = words[1].decode("ascii")
            except UnicodeDecodeError as exc:
                raise TokenRefused("malformed") from exc
            return api_token_authenticate(key=key)
        except TokenRefused as refused:
            token = refused.token
            audit_record(actor=None, action=AuditAction.AUTH_TOKEN_REFUSED, object_type="token",
                         object_id=token.pk if token else "",
                         detail={"reason": refused.reason,
                                 **({"user": token.user_id} if token else {})})
            raise AuthenticationFailed(refused.message) from refused

    def authenticate_header(self, request: Request) -> str:
        return self.keyword  # a 401 (not 403) when no credentials are given


class ApiTokenScheme(OpenApiAuthenticationExtension):  # type: ignore[no-untyped-call]
    """How the OpenAPI schema describes the token."""

    target_class = ApiTokenAuthentication
    name = "tokenAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {"type": "apiKey", "in": "header", "name": "Authorization",
                "description": 'An API token from `spmis token NAME`, prefixed with "Token ", '
                               'e.g. "Token 3Zx…".'}
