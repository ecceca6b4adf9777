from __future__ import annotations

import datetime as dt

from django import template
from django.db.models import Model
from django.utils.html import format_html
from django.utils.translation import gettext as _

from spmis.access.classification import masked_fields
from spmis.access.doors import authenticated
from spmis.core import formatting

register = template.Library()

# The one formatter for the active language (spmis.core.formatting): every number, percentage,
# amount and date a page shows goes through these filters, never floatformat/intcomma/date.


@register.filter
def money(amount_minor: int | None, currency: str) -> str:
    """Integer minor units as an amount with its currency: 1500, "USD" -> "15.00 USD" (en),
    "15,00 USD" (fr)."""
    return formatting.money(amount_minor, currency)


@register.filter
def num(value: int | float | None, digits: int = 0) -> str:
    """A count or a measure: 12345 -> "12,345" (en), "12 345" (fr); ``|num:3`` for decimals."""
    return formatting.number(value, int(digits))


@register.filter
def pct(value: int | float | None, digits: int = 1) -> str:
    """A value in percent: 49.44 -> "49.4%" (en), "49,4 %" (fr); ``|pct:0`` for whole numbers."""
    return formatting.percent(value, int(digits))


@register.filter
def day(value: dt.date | None) -> str:
    """A date: "Apr 3, 2026" (en), "3 avr. 2026" (fr)."""
    return formatting.day(value)


@register.filter
def moment(value: dt.datetime | None) -> str:
    """A date and time to the minute: "Apr 3, 2026 14:05" (en), "3 avr. 2026 14:05" (fr)."""
    return formatting.moment(value)


@register.filter
def month(value: dt.date | None) -> str:
    """A month (a period): "April 2026" (en), "avril 2026" (fr)."""
    return formatting.month(value)


@register.simple_tag(takes_context=True)
def field(context: template.Context, obj: Model, name: str) -> str:
    """A model field for display, or "restricted" when above the viewer's clearance."""
    user = authenticated(context["request"])
    if name in masked_fields(user=user, model=type(obj)):
        return format_html('<span class="restricted">{}</span>', _("restricted"))
    display = getattr(obj, f"get_{name}_display", None)
    value = display() if callable(display) else getattr(obj, name)
    if isinstance(value, dt.date):
        return formatting.day(value)
    return "—" if value in (None, "") else str(value)


@register.filter
def money_major(amount: float | None, currency: str) -> str:
    """An amount in major units (an indicator's mean benefit: 12.5) with its currency, through
    ``money``: 12.5, "USD" -> "12.50 USD"; "—" for none."""
    from spmis.core.money import minor_exponent

    if amount is None:
        return "—"
    return money(round(float(amount) * 10 ** minor_exponent(currency or "")), currency)


@register.filter
def said(text: str | None) -> str | None:
    """A text stored in English when it was computed (an indicator value's note, written from
    the catalogue), in the reader's language when the catalogues know it; as stored if not."""
    return _(text) if text else text
