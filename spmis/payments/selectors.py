"""Reads of benefit payments, scoped to the user like every read of person data."""

from __future__ import annotations

import datetime as dt

from django.db.models import QuerySet

from spmis.access.models import User
from spmis.access.policy import Permission
from spmis.access.selectors import scope_for_user
from spmis.audit.actions import AuditAction
from spmis.audit.services import audit_record
from spmis.core.errors import NotFound
from spmis.payments.models import BenefitPayment
from spmis.registry.models import Person


def payment_list_for_user(*, user: User, person: Person) -> QuerySet[BenefitPayment]:
    """The person's payments the user may see: of a scheme of the role that covers the
    person's area (none outside every role), the latest period first; unaudited (the person's
    page audits its read)."""
    scope = scope_for_user(user=user, permission=Permission.VIEW_PERSONS)
    return (
        BenefitPayment.objects.filter(scope.record_q("person__area"), person=person)
        .select_related("scheme")
        .order_by("-period", "scheme__code")
    )


def payment_scope_for_user(*, user: User) -> QuerySet[BenefitPayment]:
    """Every payment the user may see: in the area and schemes of one of their roles for
    viewing persons, like enrolments; unaudited (the callers below audit)."""
    scope = scope_for_user(user=user, permission=Permission.VIEW_PERSONS)
    return (BenefitPayment.objects.filter(scope.record_q("person__area"))
            .select_related("scheme", "source"))


def payment_search_for_user(*, user: User, person_id: int | None = None, scheme_code: str = "",
                            period: dt.date | None = None) -> QuerySet[BenefitPayment]:
    """Payments in scope, filtered by person, scheme and period (a month), the latest period
    first; audited like any other search of person data (the filters used, never their
    values)."""
    payments = payment_scope_for_user(user=user)
    if person_id is not None:
        payments = payments.filter(person_id=person_id)
    if scheme_code:
        payments = payments.filter(scheme__code=scheme_code)
    if period is not None:
        payments = payments.filter(period=period.replace(day=1))
    used = {"person": person_id, "scheme": scheme_code, "period": period}
    audit_record(actor=user, action=AuditAction.PAYMENT_SEARCH, object_type="payment",
                 detail={"by": sorted(k for k, v in used.items() if v)})
    return payments.order_by("-period", "person_id", "scheme__code", "id")


def payment_get_for_user(*, user: User, payment_id: int) -> BenefitPayment:
    """One payment in scope, its read audited; NotFound also outside the scope (the refusal
    audited too, so probing ids shows in the log)."""
    payment = payment_scope_for_user(user=user).filter(pk=payment_id).first()
    if payment is None:
        audit_record(actor=user, action=AuditAction.PAYMENT_VIEW_REFUSED,
                     object_type="payment", object_id=payment_id)
        raise NotFound(f"No payment {payment_id}.")
    audit_record(actor=user, action=AuditAction.PAYMENT_VIEW, object_type="payment",
                 object_id=payment.pk)
    return payment


def payment_list_for_records(*, user: User, record_ids: list[int]) -> QuerySet[BenefitPayment]:
    """The payments of several person records (a person page's identity, records already in
    the user's scope) the user may see: of a scheme of the role that covers the record's area;
    the latest period first; unaudited (the page audits its reads of the records)."""
    scope = scope_for_user(user=user, permission=Permission.VIEW_PERSONS)
    return (BenefitPayment.objects.filter(scope.record_q("person__area"),
                                          person_id__in=record_ids)
            .select_related("scheme", "person__source")
            .order_by("-period", "-paid_on", "scheme__code", "id"))
