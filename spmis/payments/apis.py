"""REST API of payments, read-only: the benefit payments a caller may see, scoped like the
person pages (area and schemes of their roles for viewing persons), masked by clearance (the
amount is confidential) and audited."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers
from rest_framework.request import Request

from spmis.access.doors import Classified, authenticated
from spmis.core.errors import ValidationFailed
from spmis.core.periods import parse_period
from spmis.payments import selectors as payments
from spmis.payments.models import BenefitPayment

MAX_ID = 2**63 - 1


class PaymentSerializer(Classified):
    scheme: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="code", read_only=True
    )
    # A field named like Field.source: fine at run time (the metaclass collects it), not to mypy.
    source = serializers.SlugRelatedField(  # type: ignore[assignment,var-annotated]
        slug_field="code", read_only=True
    )
    period = serializers.DateField(format="%Y-%m")

    class Meta:
        model = BenefitPayment
        fields = ["id", "person", "scheme", "period", "amount_minor", "currency", "paid_on",
                  "source", "source_ref", "masked"]


def _person(text: str) -> int | None:
    text = text.strip()
    if not text:
        return None
    if not text.isascii() or not text.isdigit() or len(text) > 19 or not 1 <= int(text) <= MAX_ID:
        raise ValidationFailed("person must be a person id: a whole number from 1.")
    return int(text)


class PaymentList(generics.ListAPIView[BenefitPayment]):
    """Payments in the caller's scope, the latest period first."""

    serializer_class = PaymentSerializer

    @extend_schema(parameters=[OpenApiParameter("person", int), OpenApiParameter("scheme", str),
                               OpenApiParameter("period", str, description="YYYY-MM")])
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Any:
        return super().get(request, *args, **kwargs)

    def get_queryset(self) -> QuerySet[BenefitPayment]:
        params = self.request.query_params
        typed = params.get("period", "").strip()
        period = parse_period(typed) if typed else None
        if typed and period is None:
            raise ValidationFailed("Type the period as YYYY-MM, between 1900-01 and 2100-12.")
        return payments.payment_search_for_user(
            user=authenticated(self.request), person_id=_person(params.get("person", "")),
            scheme_code=params.get("scheme", "").strip(), period=period)


class PaymentDetail(generics.RetrieveAPIView[BenefitPayment]):
    serializer_class = PaymentSerializer

    def get_object(self) -> BenefitPayment:
        return payments.payment_get_for_user(user=authenticated(self.request),
                                             payment_id=self.kwargs["pk"])
