from __future__ import annotations

from decimal import Decimal

from django import template

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
