"""The payments panel of a person's page (payments has no pages of its own yet)."""

from __future__ import annotations

from typing import Any

from spmis.access.classification import masked_fields
from spmis.access.models import Clearance, User
from spmis.payments.models import BenefitPayment
from spmis.payments.selectors import payment_list_for_user
from spmis.registry.models import Person

PAYMENTS_SHOWN = 24  # the latest months on a person's page


def person_payments(user: User, person: Person) -> tuple[str, dict[str, Any]] | None:
    """The person page's payments panel (registered in PaymentsConfig.ready); shown from
    internal clearance up, each amount masked above the user's clearance."""
    if user.clearance < Clearance.INTERNAL:
        return None
    return "payments/_person_payments.html", {
        "payments": payment_list_for_user(user=user, person=person)[:PAYMENTS_SHOWN],
        "hidden_payment": masked_fields(user=user, model=BenefitPayment),
    }
