"""REST API of the registry, read-only: persons and households, scoped and masked like the
pages."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers
from rest_framework.request import Request

from spmis.access.doors import Classified, authenticated
from spmis.geography.models import Area
from spmis.registry import selectors as registry
from spmis.registry.models import Household, Person


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
    members_not_shown = serializers.SerializerMethodField()

    class Meta:
        model = Household
        fields = ["id", "area", "address", "registered_on", "source", "source_ref", "members",
                  "members_not_shown", "masked"]

    def get_members(self, household: Household) -> list[int]:
        """Only the members the caller may see one by one (``members_not_shown`` the rest)."""
        shown, _ = registry.household_members_for_user(
            user=authenticated(self.context["request"]), household=household)
        return [m.pk for m in shown]

    def get_members_not_shown(self, household: Household) -> int:
        _, others = registry.household_members_for_user(
            user=authenticated(self.context["request"]), household=household)
        return others


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
