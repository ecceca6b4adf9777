"""Door helpers about the user: who is logged in, whether they may open a page, and API fields
above their clearance. (Generic helpers, route policies and menu entries: ``spmis.core.doors``.)
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import HttpRequest
from rest_framework import serializers

from spmis.access.classification import masked_fields
from spmis.access.models import User
from spmis.access.policy import Permission
from spmis.access.selectors import user_has_permission
from spmis.audit.actions import AuditAction
from spmis.audit.services import audit_record
from spmis.core.errors import NotFound


def authenticated(request: Any) -> User:
    """The logged-in user of a request, typed: doors call this after authentication has run."""
    user = request.user
    if not isinstance(user, User) or not user.is_authenticated:
        # Views are behind login_required and the API behind IsAuthenticated; this is a backstop.
        raise NotFound("No such page.")
    return user


def require_permission(request: HttpRequest, permission: Permission) -> User:
    """The user, if they hold ``permission`` somewhere; else a logged 403."""
    user = authenticated(request)
    if not user_has_permission(user=user, permission=permission):
        audit_record(actor=user, action=AuditAction.ACCESS_DENIED, object_type="page",
                     object_id=request.path[:64], detail={"permission": permission.value})
        raise DjangoPermissionDenied
    return user


class Classified(serializers.ModelSerializer[Any]):
    """Sets fields above the caller's clearance to null and lists them in ``masked``."""

    masked = serializers.SerializerMethodField()

    def get_masked(self, instance: Any) -> list[str]:
        return []

    def to_representation(self, instance: Any) -> dict[str, Any]:
        data = dict(super().to_representation(instance))
        user = authenticated(self.context["request"])
        hidden = masked_fields(user=user, model=self.Meta.model)
        masked = sorted(
            name for name, field in self.fields.items()
            if name != "masked" and {name, (field.source or name).split(".")[0]} & hidden
        )
        for name in masked:
            data[name] = None
        data["masked"] = masked
        return data
