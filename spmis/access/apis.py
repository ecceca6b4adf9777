"""REST API of the audit log: searching it, scoped to the auditor's areas, and exporting a
search as CSV (the same rows and the same audit entry as the page's export).

Reading the log is an access concern (who may audit where), so this door lives in access; the
log itself (audit) knows only core.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db.models import QuerySet
from django.http.response import HttpResponseBase
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, renderers, serializers
from rest_framework.decorators import api_view, renderer_classes
from rest_framework.request import Request

from spmis.access.doors import authenticated
from spmis.access.policy import Permission
from spmis.access.selectors import (
    audit_filters_parse,
    audit_search_for_user,
    user_has_permission,
)
from spmis.access.views import audit_csv_response
from spmis.audit.actions import AuditAction
from spmis.audit.models import AuditEvent
from spmis.audit.services import audit_record
from spmis.core.errors import PermissionDenied, ValidationFailed


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
        filters, errors = audit_filters_parse(self.request.query_params)
        if errors:
            raise ValidationFailed(" ".join(errors.values()))
        return audit_search_for_user(
            user=user, action=filters.action, actor=filters.actor,
            object_type=filters.object_type, object_id=filters.object_id,
            area_code=filters.area, since=filters.since, until=filters.until)


class _CsvRenderer(renderers.BaseRenderer):
    """Lets a client ask for ``text/csv``; the export answers with its own streamed CSV, and a
    refusal is rendered as JSON text."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data: Any, accepted_media_type: str | None = None,
               renderer_context: Mapping[str, Any] | None = None) -> bytes:
        return renderers.JSONRenderer().render(data)


@extend_schema(parameters=[OpenApiParameter(n, str) for n in (
    "action", "actor", "object_type", "object_id", "area", "since", "until")],
    responses={(200, "text/csv"): str})
@api_view(["GET"])
@renderer_classes([renderers.JSONRenderer, _CsvRenderer])
def audit_export(request: Request) -> HttpResponseBase:
    """The audit search as CSV, streamed with a header row, for auditors and security
    administrators within their areas; the export is recorded (``audit.export``)."""
    user = authenticated(request)
    if not user_has_permission(user=user, permission=Permission.VIEW_AUDIT):
        audit_record(actor=user, action=AuditAction.ACCESS_DENIED, object_type="api",
                     object_id=request.path[:64],
                     detail={"permission": Permission.VIEW_AUDIT.value})
        raise PermissionDenied("Your roles do not include the audit log.")
    return audit_csv_response(user=user, params=request.query_params)
