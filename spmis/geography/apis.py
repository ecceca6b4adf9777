"""REST API of the area hierarchy, read-only (the areas are not personal data)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers
from rest_framework.request import Request

from spmis.core.doors import int_param
from spmis.geography.models import Area


class AreaSerializer(serializers.ModelSerializer[Area]):
    parent: serializers.SlugRelatedField[Area] = serializers.SlugRelatedField(  # type: ignore[assignment]
        slug_field="code", read_only=True
    )

    class Meta:
        model = Area
        fields = ["code", "name", "level", "parent", "is_urban"]


class AreaList(generics.ListAPIView[Area]):
    serializer_class = AreaSerializer

    @extend_schema(parameters=[OpenApiParameter("level", int), OpenApiParameter("parent", str)])
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Any:
        return super().get(request, *args, **kwargs)

    def get_queryset(self) -> QuerySet[Area]:
        areas = Area.objects.select_related("parent").order_by("path")
        level = int_param(self.request.query_params.get("level", ""), name="level",
                          minimum=0, maximum=99)
        if level is not None:
            areas = areas.filter(level=level)
        parent = self.request.query_params.get("parent")
        if parent:
            areas = areas.filter(parent__code=parent)
        return areas


class AreaDetail(generics.RetrieveAPIView[Area]):
    serializer_class = AreaSerializer
    queryset = Area.objects.select_related("parent")
    lookup_field = "code"
