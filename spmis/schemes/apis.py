"""REST API of schemes, read-only: the catalogue, and enrolments scoped and masked like the
pages."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers
from rest_framework.request import Request

from spmis.access.doors import Classified, authenticated
from spmis.core.doors import int_param
from spmis.schemes import selectors as schemes
from spmis.schemes.models import Enrolment, Scheme


class SchemeSerializer(serializers.ModelSerializer[Scheme]):
    class Meta:
        model = Scheme
        fields = ["code", "name", "managing_institution", "function", "guarantee",
                  "contributory", "means_tested", "benefit_nature", "periodicity",
                  "legal_basis", "currency", "description"]


class EnrolmentSerializer(Classified):
    scheme: serializers.SlugRelatedField[Scheme] = serializers.SlugRelatedField(
        slug_field="code", read_only=True
    )
    # A field named like Field.source: fine at run time (the metaclass collects it), not to mypy.
    source = serializers.SlugRelatedField(  # type: ignore[assignment,var-annotated]
        slug_field="code", read_only=True
    )

    class Meta:
        model = Enrolment
        fields = ["id", "person", "scheme", "status", "start_date", "end_date", "source",
                  "source_ref", "masked"]


class SchemeList(generics.ListAPIView[Scheme]):
    serializer_class = SchemeSerializer

    def get_queryset(self) -> QuerySet[Scheme]:
        return schemes.scheme_list()


class SchemeDetail(generics.RetrieveAPIView[Scheme]):
    serializer_class = SchemeSerializer

    def get_object(self) -> Scheme:
        return schemes.scheme_get(code=self.kwargs["code"])


class EnrolmentList(generics.ListAPIView[Enrolment]):
    serializer_class = EnrolmentSerializer

    @extend_schema(parameters=[OpenApiParameter("person", int), OpenApiParameter("scheme", str),
                               OpenApiParameter("status", str)])
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Any:
        return super().get(request, *args, **kwargs)

    def get_queryset(self) -> QuerySet[Enrolment]:
        params = self.request.query_params
        return schemes.enrolment_search_for_user(
            user=authenticated(self.request),
            person_id=int_param(params.get("person", ""), name="person"),
            scheme_code=params.get("scheme", ""),
            status=params.get("status", ""),
        )
