from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django import template
from django.db.models import Model
from django.utils.html import format_html
from django.utils.translation import gettext as _

from spmis.access.classification import masked_fields
from spmis.access.doors import authenticated

register = template.Library()

# ISO 4217 minor-unit exponents that are not 2.
_EXPONENT = {"JPY": 0, "KRW": 0, "VND": 0, "XOF": 0, "XAF": 0, "UGX": 0, "RWF": 0, "BIF": 0,
             "KMF": 0, "GNF": 0, "BHD": 3, "KWD": 3, "OMR": 3, "JOD": 3, "TND": 3, "LYD": 3,
             "IQD": 3}


@register.filter
def money(amount_minor: int, currency: str) -> str:
    """Integer minor units as a decimal amount with its currency: 1500, "USD" -> "15.00 USD"."""
    exponent = _EXPONENT.get(currency, 2)
    value = Decimal(amount_minor).scaleb(-exponent)
    return f"{value:,.{exponent}f} {currency}"


@register.simple_tag(takes_context=True)
def field(context: template.Context, obj: Model, name: str) -> str:
    """A model field for display, or "restricted" when above the viewer's clearance."""
    user = authenticated(context["request"])
    if name in masked_fields(user=user, model=type(obj)):
        return format_html('<span class="restricted">{}</span>', _("restricted"))
    display = getattr(obj, f"get_{name}_display", None)
    value = display() if callable(display) else getattr(obj, name)
    if isinstance(value, dt.date):
        return value.isoformat()
    return "—" if value in (None, "") else str(value)
