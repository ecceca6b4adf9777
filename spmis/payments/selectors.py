"""Reads of benefit payments, scoped to the user like every read of person data."""

from __future__ import annotations

from django.db.models import QuerySet

from spmis.access.models import User
from spmis.access.policy import Permission
from spmis.access.selectors import scope_for_user
from spmis.payments.models import BenefitPayment
from spmis.registry.models import Person
from spmis.registry.selectors import persons_in_scope


def payment_list_for_user(*, user: User, person: Person) -> QuerySet[BenefitPayment]:
    """The person's payments in the user's schemes (none when the person is outside the
    user's scope), the latest period first; unaudited (the person's page audits its read)."""
    scope = scope_for_user(user=user, permission=Permission.VIEW_PERSONS)
    return (
        BenefitPayment.objects.filter(scope.scheme_q(), person=person,
                                      person__in=persons_in_scope(scope=scope))
        .select_related("scheme")
        .order_by("-period", "scheme__code")
    )
