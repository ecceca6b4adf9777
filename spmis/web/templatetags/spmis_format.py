from __future__ import annotations

import datetime as dt

from django import template
from django.db.models import Model
from django.utils.html import format_html
from django.utils.translation import gettext as _

from spmis.access.classification import masked_fields
from spmis.access.doors import authenticated
from spmis.core.money import format_money

register = template.Library()


@register.filter
def money(amount_minor: int, currency: str) -> str:
    """Integer minor units as an amount with its currency: 1500, "USD" -> "15.00 USD"."""
    return format_money(amount_minor, currency)


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
