"""REST API of intake: the submissions a caller may see, and system-to-system pushes."""

from __future__ import annotations

import json
from typing import Any

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
from rest_framework.views import APIView

from spmis.access.doors import authenticated
from spmis.core.errors import ValidationFailed
from spmis.core.periods import parse_period, period_param
from spmis.intake import selectors as intake
from spmis.intake.models import Submission
from spmis.intake.parsers import MAX_BYTES
from spmis.intake.progress import submission_state
from spmis.intake.services import submission_push


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

        return {"self": url("api:submission-detail"), "page": url("intake:submission-detail"),
                "state": url("api:submission-state"),
                "errors_csv": url("intake:submission-errors", "csv"),
                "errors_xlsx": url("intake:submission-errors", "xlsx")}


class SubmissionPushJson(serializers.Serializer[Any]):
    source = serializers.CharField(max_length=40)  # type: ignore[assignment]
    period = serializers.CharField(help_text="YYYY-MM")
    records = serializers.ListField(child=serializers.DictField())


class SubmissionPushFile(serializers.Serializer[Any]):
    source = serializers.CharField(max_length=40)  # type: ignore[assignment]
    period = serializers.CharField(help_text="YYYY-MM")
    file = serializers.FileField()


class SubmissionList(generics.ListAPIView[Submission]):
    """Submissions of the sources in the caller's areas (GET); a system-to-system push (POST).

    A push is a multipart file or a JSON list of records, and needs an ``Idempotency-Key``
    header: the same key from the same user for the same source answers the first submission
    again (200) instead of submitting twice; a new key answers 201. So does the same content
    again for the period under a new key: 200 with the earlier submission. The answer to a
    push says ``repeat`` (true for those 200s) and, for a repeat, a ``note``: "Already
    received as submission N; nothing changed."
    """

    serializer_class = SubmissionSerializer

    @extend_schema(parameters=[OpenApiParameter("source", str), OpenApiParameter("period", str)])
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Any:
        return super().get(request, *args, **kwargs)

    def get_queryset(self) -> QuerySet[Submission]:
        p = self.request.query_params
        return intake.submission_list_for_user(
            user=authenticated(self.request), source_code=p.get("source", ""),
            period=period_param(p.get("period", "")))

    @extend_schema(
        request={"multipart/form-data": SubmissionPushFile,
                 "application/json": SubmissionPushJson},
        parameters=[OpenApiParameter("Idempotency-Key", OpenApiTypes.STR,
                                     OpenApiParameter.HEADER, required=True,
                                     description="Up to 100 letters, digits, '_', ':' or '-'.")],
        responses={200: OpenApiResponse(SubmissionSerializer, "The key (or the same content "
                                        "for the period) was seen: the same submission, with "
                                        "repeat: true and a note."),
                   201: OpenApiResponse(SubmissionSerializer, "A new submission.")},
    )
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        payload: dict[str, Any] = request.data if isinstance(request.data, dict) else {}
        receipt = submission_push(
            actor=authenticated(request), source_code=str(payload.get("source", "")).strip(),
            period=parse_period(str(payload.get("period", ""))),
            key=request.headers.get("Idempotency-Key", "").strip(),
            read=lambda: _push_content(request, payload))
        body = {**SubmissionSerializer(receipt.submission, context={"request": request}).data,
                "repeat": receipt.repeat}
        if receipt.repeat:
            body["note"] = receipt.note
        return Response(body, status=status.HTTP_200_OK if receipt.repeat
                        else status.HTTP_201_CREATED)


def _push_content(request: Request, payload: dict[str, Any]) -> tuple[str, bytes]:
    """The pushed file (its extension) or the JSON records, as bytes."""
    upload = request.FILES.get("file")
    if upload is not None:
        if upload.size is not None and upload.size > MAX_BYTES:
            raise ValidationFailed(f"The file is larger than the limit of "
                                   f"{MAX_BYTES // (1024 * 1024)} MB.")
        name = upload.name or ""
        ext = name[name.rfind(".") + 1:].lower()[:9] if "." in name else "unknown"
        return ext, upload.read()
    records = payload.get("records")
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        raise ValidationFailed("Send a file (multipart) or a JSON list of records in 'records'.")
    return "json", json.dumps(records, ensure_ascii=False, default=str).encode()


class SubmissionDetail(generics.RetrieveAPIView[Submission]):
    serializer_class = SubmissionSerializer

    def get_object(self) -> Submission:
        return intake.submission_get_for_user(user=authenticated(self.request),
                                              submission_id=self.kwargs["pk"])


class SubmissionState(APIView):
    """Where a submission's load stands: its status, stage, steps in order (each table
    loaded with its rows done and total), whether it is over (``final``) or ``stalled``, and
    the reason when it was refused or failed. A push is loaded before it is answered, so its
    state is already final; an upload through the page is loaded in the background."""

    @extend_schema(responses={200: OpenApiResponse(OpenApiTypes.OBJECT, "The state.")})
    def get(self, request: Request, pk: int) -> Response:
        submission = intake.submission_get_for_user(user=authenticated(request),
                                                    submission_id=pk)
        return Response(submission_state(submission).as_json())
