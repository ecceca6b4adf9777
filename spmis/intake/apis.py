"""REST API, read-only for now: thin doors onto the same selectors as the pages."""

from __future__ import annotations

import json
import re
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
)
from rest_framework import generics, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from spmis.access.classification import masked_fields
from spmis.access.policy import Permission
from spmis.access.selectors import user_has_permission
from spmis.audit.actions import AuditAction
from spmis.audit.models import AuditEvent
from spmis.audit.selectors import audit_search_for_user
from spmis.audit.services import audit_record
from spmis.core.auth import authenticated
from spmis.core.errors import NotFound, PermissionDenied, ValidationFailed
from spmis.core.periods import parse_iso_date, parse_period
from spmis.geography.models import Area
from spmis.intake import selectors as intake
from spmis.intake.models import Source, Submission
from spmis.intake.parsers import MAX_BYTES
from spmis.intake.services import submission_submit
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
            audit_record(actor=user, action=AuditAction.ACCESS_DENIED, object_type="api",
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



class SubmissionSerializer(serializers.ModelSerializer[Submission]):
    # A field named like Field.source: fine at run time (the metaclass collects it), not to mypy.
    source = serializers.SlugRelatedField(  # type: ignore[assignment,var-annotated]
        slug_field="code", read_only=True
    )
    period = serializers.SerializerMethodField()
    counts = serializers.SerializerMethodField()
    links = serializers.SerializerMethodField()

    class Meta:
        model = Submission
        fields = ["id", "source", "period", "status", "filename", "file_format", "received_at",
                  "counts", "message", "supersedes", "links"]

    def get_period(self, submission: Submission) -> str:
        return f"{submission.period:%Y-%m}"

    @extend_schema_field({"type": "object", "properties": {
        "rows_total": {"type": "integer"}, "rows_loaded": {"type": "integer"},
        "rows_rejected": {"type": "integer"}}})
    def get_counts(self, submission: Submission) -> dict[str, int]:
        return {"rows_total": submission.rows_total, "rows_loaded": submission.rows_loaded,
                "rows_rejected": submission.rows_rejected}

    @extend_schema_field({"type": "object", "additionalProperties": {"type": "string"}})
    def get_links(self, submission: Submission) -> dict[str, str]:
        request = self.context.get("request")

        def url(name: str, *args: Any) -> str:
            path = reverse(name, args=[submission.pk, *args])
            return request.build_absolute_uri(path) if request is not None else path

        return {"self": url("api:submission-detail"), "page": url("web:submission-detail"),
                "errors_csv": url("web:submission-errors", "csv"),
                "errors_xlsx": url("web:submission-errors", "xlsx")}


class SubmissionPushJson(serializers.Serializer[Any]):
    source = serializers.CharField(max_length=40)  # type: ignore[assignment]
    period = serializers.CharField(help_text="YYYY-MM")
    records = serializers.ListField(child=serializers.DictField())


class SubmissionPushFile(serializers.Serializer[Any]):
    source = serializers.CharField(max_length=40)  # type: ignore[assignment]
    period = serializers.CharField(help_text="YYYY-MM")
    file = serializers.FileField()


IDEMPOTENCY_KEY = re.compile(r"[A-Za-z0-9_:-]{1,100}")


class SubmissionList(generics.ListAPIView[Submission]):
    """Submissions of the sources in the caller's areas (GET); a system-to-system push (POST).

    A push is a multipart file or a JSON list of records, and needs an ``Idempotency-Key``
    header: the same key from the same user for the same source answers the first submission
    again (200) instead of submitting twice; a new key answers 201.
    """

    serializer_class = SubmissionSerializer

    @extend_schema(parameters=[OpenApiParameter("source", str), OpenApiParameter("period", str)])
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Any:
        return super().get(request, *args, **kwargs)

    def get_queryset(self) -> QuerySet[Submission]:
        p = self.request.query_params
        period = p.get("period", "")
        return intake.submission_list_for_user(
            user=authenticated(self.request), source_code=p.get("source", ""),
            period=parse_period(period) if period else None)

    @extend_schema(
        request={"multipart/form-data": SubmissionPushFile,
                 "application/json": SubmissionPushJson},
        parameters=[OpenApiParameter("Idempotency-Key", OpenApiTypes.STR,
                                     OpenApiParameter.HEADER, required=True,
                                     description="Up to 100 letters, digits, '_', ':' or '-'.")],
        responses={200: OpenApiResponse(SubmissionSerializer, "The key was seen: the same "
                                        "submission."),
                   201: OpenApiResponse(SubmissionSerializer, "A new submission.")},
    )
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        user = authenticated(request)
        if not user_has_permission(user=user, permission=Permission.SUBMIT_DATA):
            audit_record(actor=user, action=AuditAction.ACCESS_DENIED, object_type="api",
                         object_id=request.path[:64],
                         detail={"permission": Permission.SUBMIT_DATA.value})
            raise PermissionDenied("Your roles do not include submitting data.")
        key = request.headers.get("Idempotency-Key", "").strip()
        if not IDEMPOTENCY_KEY.fullmatch(key):
            raise ValidationFailed("Send an Idempotency-Key header: up to 100 letters, digits, "
                                   "'_', ':' or '-', the same again only to repeat a push.")
        payload: dict[str, Any] = request.data if isinstance(request.data, dict) else {}
        code = str(payload.get("source", "")).strip()
        source = intake.source_list_for_user(user=user, permission=Permission.SUBMIT_DATA
                                             ).filter(code=code).first()
        if source is None:
            raise NotFound(f"No source {code!r} among yours.")
        period = parse_period(str(payload.get("period", "")))
        if period is None:
            raise ValidationFailed("Give the period as YYYY-MM.")
        filename, data = _push_content(request, payload, key)
        prefix = f"push-{key}."
        with transaction.atomic():
            # One push per source at a time, so a retried key cannot slip in twice.
            list(Source.objects.select_for_update().filter(pk=source.pk))
            done = (Submission.objects.filter(source=source, created_by=user,
                                              filename__startswith=prefix)
                    .order_by("id").first())
            created = False
            if done is None:
                done = submission_submit(actor=user, source_code=source.code, period=period,
                                         filename=filename, data=data)
                created = done.filename == filename and done.created_by_id == user.pk
        body = SubmissionSerializer(done, context={"request": request}).data
        return Response(body, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


def _push_content(request: Request, payload: dict[str, Any], key: str) -> tuple[str, bytes]:
    """The pushed file (name ``push-<key>.<its extension>``) or the JSON records as bytes."""
    upload = request.FILES.get("file")
    if upload is not None:
        if upload.size is not None and upload.size > MAX_BYTES:
            raise ValidationFailed(f"The file is larger than the limit of "
                                   f"{MAX_BYTES // (1024 * 1024)} MB.")
        name = upload.name or ""
        ext = name[name.rfind("."):].lower()[:10] if "." in name else ".unknown"
        return f"push-{key}{ext}", upload.read()
    records = payload.get("records")
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        raise ValidationFailed("Send a file (multipart) or a JSON list of records in 'records'.")
    return f"push-{key}.json", json.dumps(records, ensure_ascii=False, default=str).encode()


class SubmissionDetail(generics.RetrieveAPIView[Submission]):
    serializer_class = SubmissionSerializer

    def get_object(self) -> Submission:
        return intake.submission_get_for_user(user=authenticated(self.request),
                                              submission_id=self.kwargs["pk"])
