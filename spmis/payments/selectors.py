"""Reads of benefit payments, scoped to the user like every read of person data."""

from __future__ import annotations

from django.db.models import QuerySet

from spmis.access.models import User
from spmis.access.policy import Permission
from spmis.access.selectors import scope_for_user
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
