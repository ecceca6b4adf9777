"""The payments panel of the person page (registered in PaymentsConfig.ready; see
registry.panels)."""

from __future__ import annotations

from typing import Any

from django.core.paginator import Paginator

from spmis.access.classification import masked_fields
from spmis.access.models import Clearance
from spmis.payments.models import BenefitPayment
from spmis.payments.selectors import payment_list_for_records
from spmis.registry.panels import PersonPage

PAYMENTS_SHOWN = 24  # payments a page of the panel, the latest first
PAGE_PARAM = "payments_page"


def person_payments(page: PersonPage) -> tuple[str, dict[str, Any]] | None:
    """The payments of every record of the identity the user may see, the latest first, a
    page at a time (``?payments_page=``); those for a period after the earliest known date of
    death are marked. Shown from internal clearance up, each amount masked above the user's
    clearance."""
    if page.user.clearance < Clearance.INTERNAL:
        return None
    died = page.died_on
    payments = payment_list_for_records(user=page.user, record_ids=page.record_ids)
    shown = Paginator(payments, PAYMENTS_SHOWN).get_page(page.params.get(PAGE_PARAM))
    return "payments/_person_payments.html", {
        "payments_page": shown,
        "rows": [(p, died is not None and p.period > died.replace(day=1))
                 for p in shown.object_list],
        "hidden_payment": masked_fields(user=page.user, model=BenefitPayment),
        "several": len(page.records) > 1,
        "died_on": died,
        "page_param": PAGE_PARAM,
    }
