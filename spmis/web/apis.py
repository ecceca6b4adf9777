"""REST API, read-only for now: thin doors onto the same selectors as the pages."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers
from rest_framework.request import Request

from spmis.access.classification import masked_fields
from spmis.access.policy import Permission
from spmis.access.selectors import user_has_permission
from spmis.audit.models import AuditEvent
from spmis.audit.selectors import audit_search_for_user
from spmis.audit.services import audit_record
from spmis.core.auth import authenticated
from spmis.core.errors import PermissionDenied
from spmis.core.periods import parse_iso_date
from spmis.geography.models import Area
from spmis.registry import selectors as registry
from spmis.registry.models import Household, Person
from spmis.schemes import selectors as schemes
from spmis.schemes.models import Enrolment, Scheme


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


class AreaSerializer(serializers.ModelSerializer[Area]):
    parent: serializers.SlugRelatedField[Area] = serializers.SlugRelatedField(  # type: ignore[assignment]
        slug_field="code", read_only=True
    )

    class Meta:
        model = Area
        fields = ["code", "name", "level", "parent", "is_urban"]


class SchemeSerializer(serializers.ModelSerializer[Scheme]):
    class Meta:
        model = Scheme
        fields = ["code", "name", "managing_institution", "function", "guarantee",
                  "contributory", "means_tested", "benefit_nature", "periodicity",
                  "legal_basis", "currency", "description"]


class PersonSerializer(Classified):
    area: serializers.SlugRelatedField[Area] = serializers.SlugRelatedField(
        slug_field="code", read_only=True
    )
    # A field named like Field.source: fine at run time (the metaclass collects it), not to mypy.
    source = serializers.SlugRelatedField(  # type: ignore[assignment,var-annotated]
        slug_field="code", read_only=True
    )

    class Meta:
        model = Person
        fields = ["id", "national_id", "given_name", "family_name", "sex", "date_of_birth",
                  "date_of_death", "area", "household", "relationship_to_head",
                  "disability_level", "registered_on", "source", "source_ref", "masked"]


class HouseholdSerializer(Classified):
    area: serializers.SlugRelatedField[Area] = serializers.SlugRelatedField(
        slug_field="code", read_only=True
    )
    # A field named like Field.source: fine at run time (the metaclass collects it), not to mypy.
    source = serializers.SlugRelatedField(  # type: ignore[assignment,var-annotated]
        slug_field="code", read_only=True
    )
    members = serializers.SerializerMethodField()

    class Meta:
        model = Household
        fields = ["id", "area", "address", "registered_on", "source", "source_ref", "members",
                  "masked"]

    def get_members(self, household: Household) -> list[int]:
        return list(registry.household_members(household=household).values_list("id", flat=True))


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


class AreaList(generics.ListAPIView[Area]):
    serializer_class = AreaSerializer

    @extend_schema(parameters=[OpenApiParameter("level", int), OpenApiParameter("parent", str)])
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Any:
        return super().get(request, *args, **kwargs)

    def get_queryset(self) -> QuerySet[Area]:
        areas = Area.objects.select_related("parent").order_by("path")
        level = self.request.query_params.get("level")
        if level and level.isdigit():
            areas = areas.filter(level=int(level))
        parent = self.request.query_params.get("parent")
        if parent:
            areas = areas.filter(parent__code=parent)
        return areas


class AreaDetail(generics.RetrieveAPIView[Area]):
    serializer_class = AreaSerializer
    queryset = Area.objects.select_related("parent")
    lookup_field = "code"


class SchemeList(generics.ListAPIView[Scheme]):
    serializer_class = SchemeSerializer

    def get_queryset(self) -> QuerySet[Scheme]:
        return schemes.scheme_list()


class SchemeDetail(generics.RetrieveAPIView[Scheme]):
    serializer_class = SchemeSerializer

    def get_object(self) -> Scheme:
        return schemes.scheme_get(code=self.kwargs["code"])


class PersonList(generics.ListAPIView[Person]):
    """Persons in the caller's areas and schemes; filter by name words, national ID, area."""

    serializer_class = PersonSerializer

    @extend_schema(parameters=[OpenApiParameter("q", str), OpenApiParameter("national_id", str),
                               OpenApiParameter("area", str)])
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Any:
        return super().get(request, *args, **kwargs)

    def get_queryset(self) -> QuerySet[Person]:
        params = self.request.query_params
        return registry.person_search_for_user(
            user=authenticated(self.request),
            text=params.get("q", ""),
            national_id=params.get("national_id", ""),
            area_code=params.get("area", ""),
            purpose=params.get("purpose", ""),
        ).select_related("source")


class PersonDetail(generics.RetrieveAPIView[Person]):
    serializer_class = PersonSerializer

    def get_object(self) -> Person:
        return registry.person_get_for_user(
            user=authenticated(self.request),
            person_id=self.kwargs["pk"],
            purpose=self.request.query_params.get("purpose", ""),
        )


class HouseholdDetail(generics.RetrieveAPIView[Household]):
    serializer_class = HouseholdSerializer

    def get_object(self) -> Household:
        return registry.household_get_for_user(
            user=authenticated(self.request),
            household_id=self.kwargs["pk"],
        )


class EnrolmentList(generics.ListAPIView[Enrolment]):
    serializer_class = EnrolmentSerializer

    @extend_schema(parameters=[OpenApiParameter("person", int), OpenApiParameter("scheme", str),
                               OpenApiParameter("status", str)])
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Any:
        return super().get(request, *args, **kwargs)

    def get_queryset(self) -> QuerySet[Enrolment]:
        params = self.request.query_params
        person = params.get("person", "")
        return registry.enrolment_search_for_user(
            user=authenticated(self.request),
            person_id=int(person) if person.isdigit() else None,
            scheme_code=params.get("scheme", ""),
            status=params.get("status", ""),
        )


class AuditEventSerializer(serializers.ModelSerializer[AuditEvent]):
    class Meta:
        model = AuditEvent
        fields = ["seq", "occurred_at", "actor_username", "action", "object_type", "object_id",
                  "area_code", "purpose", "detail", "leaf_hash"]


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
            audit_record(actor=user, action="access.denied", object_type="api",
                         object_id=self.request.path[:64],
                         detail={"permission": Permission.VIEW_AUDIT.value})
            raise PermissionDenied("Your roles do not include the audit log.")
        p = self.request.query_params
        return audit_search_for_user(
            user=user, action=p.get("action", ""), actor=p.get("actor", ""),
            object_type=p.get("object_type", ""), object_id=p.get("object_id", ""),
            area_code=p.get("area", ""), since=parse_iso_date(p.get("since", "")),
            until=parse_iso_date(p.get("until", "")),
        )

