"""REST API of the audit log: searching it, scoped to the auditor's areas.

Reading the log is an access concern (who may audit where), so this door lives in access; the
log itself (audit) knows only core.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers
from rest_framework.request import Request

from spmis.access.doors import authenticated
from spmis.access.policy import Permission
from spmis.access.selectors import audit_search_for_user, user_has_permission
from spmis.audit.actions import AuditAction
from spmis.audit.models import AuditEvent
from spmis.audit.services import audit_record
from spmis.core.errors import PermissionDenied
from spmis.core.periods import date_param


class AuditEventSerializer(serializers.ModelSerializer[AuditEvent]):
    class Meta:
        model = AuditEvent
        fields = ["seq", "occurred_at", "actor_username", "action", "object_type", "object_id",
                  "area_code", "purpose", "detail", "client_address", "leaf_hash"]


class AuditEventList(generics.ListAPIView[AuditEvent]):
    """Search the audit log (auditors and security administrators, within their areas)."""

    serializer_class = AuditEventSerializer

    @extend_schema(parameters=[OpenApiParameter(n, str) for n in (
        "action", "actor", "object_type", "object_id", "area", "since", "until")])
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Any:
        return super().get(request, *args, **kwargs)

    def get_queryset(self) -> QuerySet[AuditEvent]:
        user = authenticated(self.request)
        if not user_has_permission(user=user, permission=Permission.VIEW_AUDIT):
            audit_record(actor=user, action=AuditAction.ACCESS_DENIED, object_type="api",
                         object_id=self.request.path[:64],
                         detail={"permission": Permission.VIEW_AUDIT.value})
            raise PermissionDenied("Your roles do not include the audit log.")
        p = self.request.query_params
        return audit_search_for_user(
            user=user, action=p.get("action", ""), actor=p.get("actor", ""),
            object_type=p.get("object_type", ""), object_id=p.get("object_id", ""),
            area_code=p.get("area", ""), since=date_param(p.get("since", ""), name="since date"),
            until=date_param(p.get("until", ""), name="until date"),
        )
