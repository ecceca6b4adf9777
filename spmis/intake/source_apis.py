"""REST API of sources for the MIS unit: list, one source, add (POST) and change (PATCH),
inside the caller's areas (MANAGE_SOURCES), through the same services as the pages and the
``spmis intake source`` commands."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from spmis.access.doors import authenticated
from spmis.core.errors import ValidationFailed
from spmis.intake import selectors as intake
from spmis.intake.models import Source
from spmis.intake.services import SourceFields, source_create, source_update

TEXT = ("name", "institution", "kind", "schedule", "policy", "contact")
NUMBERS = ("deadline_days", "error_threshold")


class SourceSerializer(serializers.ModelSerializer[Source]):
    area = serializers.SlugRelatedField(  # type: ignore[var-annotated]
        slug_field="code", read_only=True)
    schemes = serializers.SlugRelatedField(  # type: ignore[var-annotated]
        slug_field="code", many=True, read_only=True)

    class Meta:
        model = Source
        fields = ["code", "name", "institution", "kind", "area", "schemes", "schedule",
                  "deadline_days", "policy", "error_threshold", "contact"]


class SourceWrite(serializers.Serializer[Any]):
    """The body of a POST (``code``, ``name`` and ``kind`` required) or a PATCH (any
    field)."""

    code = serializers.CharField(required=False, help_text="POST only.")
    name = serializers.CharField(required=False)
    institution = serializers.CharField(required=False)
    kind = serializers.CharField(required=False)
    area = serializers.CharField(required=False, allow_null=True,
                                 help_text="P-code; null or empty: national.")
    schemes = serializers.ListField(child=serializers.CharField(), required=False)
    schedule = serializers.CharField(required=False)
    deadline_days = serializers.IntegerField(required=False)
    policy = serializers.CharField(required=False)
    error_threshold = serializers.IntegerField(required=False)
    contact = serializers.CharField(required=False)


def _fields(payload: Any) -> SourceFields:
    """The settings in a JSON body, each checked for its type (the service checks values)."""
    if not isinstance(payload, dict):
        raise ValidationFailed("Send a JSON object of the source's settings.")
    problems = []
    given: dict[str, Any] = {}
    for name in TEXT:
        if name in payload:
            if isinstance(payload[name], str):
                given[name] = payload[name]
            else:
                problems.append(f"'{name}' must be text.")
    for name in NUMBERS:
        if name in payload:
            value = payload[name]
            if isinstance(value, int | str) and not isinstance(value, bool):
                given[name] = value
            else:
                problems.append(f"'{name}' must be a whole number.")
    if "area" in payload:
        if payload["area"] is None or isinstance(payload["area"], str):
            given["area"] = payload["area"] or ""
        else:
            problems.append("'area' must be a P-code (text), or null for a national source.")
    if "schemes" in payload:
        schemes = payload["schemes"]
        if isinstance(schemes, list) and all(isinstance(c, str) for c in schemes):
            given["schemes"] = tuple(schemes)
        else:
            problems.append("'schemes' must be a list of scheme codes.")
    if problems:
        raise ValidationFailed(" ".join(problems))
    return SourceFields(**given)


class SourceList(generics.ListAPIView[Source]):
    """The sources in the caller's areas (GET); register one (POST)."""

    serializer_class = SourceSerializer

    def get_queryset(self) -> QuerySet[Source]:
        return intake.source_manage_list_for_user(user=authenticated(self.request))

    @extend_schema(request=SourceWrite, responses={201: OpenApiResponse(SourceSerializer)})
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        payload = request.data
        code = payload.get("code") if isinstance(payload, dict) else None
        if not isinstance(code, str):
            raise ValidationFailed("Give the source's 'code'.")
        fields = _fields(payload)
        if fields.area is None:
            fields = SourceFields(**{**fields.__dict__, "area": ""})
        done = source_create(actor=authenticated(request), code=code, fields=fields)
        return Response(SourceSerializer(done).data, status=status.HTTP_201_CREATED)


class SourceDetail(generics.RetrieveAPIView[Source]):
    """One source in the caller's areas (GET); change some of its settings (PATCH)."""

    serializer_class = SourceSerializer

    def get_object(self) -> Source:
        return intake.source_manage_get_for_user(user=authenticated(self.request),
                                                 code=self.kwargs["code"])

    @extend_schema(request=SourceWrite, responses={200: OpenApiResponse(SourceSerializer)})
    def patch(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        if isinstance(request.data, dict) and "code" in request.data:
            raise ValidationFailed("A source's code cannot be changed.")
        done = source_update(actor=authenticated(request), code=self.kwargs["code"],
                             fields=_fields(request.data))
        return Response(SourceSerializer(done).data)
