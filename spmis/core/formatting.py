"""The one formatter for the active language: numbers, percentages, amounts and dates as a page
shows them. CLDR data (through Babel), the same data the browser's Intl.NumberFormat uses, so a
figure printed by the server and the same figure drawn by a chart read alike ("49,4 %" in French,
"49.4%" in English). Exports and files keep their own fixed formats (spmis.core.money)."""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache

from babel import Locale
from babel.dates import format_date, format_skeleton
from babel.numbers import parse_pattern
from django.conf import settings
from django.utils import timezone
from django.utils.translation import get_language

from spmis.core.money import minor_exponent, to_major

Number = int | float | Decimal
DASH = "—"


@lru_cache(maxsize=32)
def _locale(code: str) -> Locale:
    try:
        return Locale.parse(code.replace("-", "_"))
    except (ValueError, LookupError):
        return Locale.parse(settings.LANGUAGE_CODE)


def active_locale() -> Locale:
    """The Babel locale of the language the request runs in (settings.LANGUAGE_CODE outside)."""
    return _locale(get_language() or settings.LANGUAGE_CODE)


def _fixed(pattern: str, digits: int) -> str:
    """A CLDR pattern ("#,##0 %") with exactly ``digits`` decimals ("#,##0.0 %")."""
    integer = "#,##0"
    fraction = "." + "0" * digits if digits > 0 else ""
    return pattern.split(";")[0].replace(integer, integer + fraction, 1)


def _rounded(value: Number, digits: int) -> Decimal:
    """The exact value rounded half up to ``digits`` decimals, as Intl.NumberFormat and Python's
    own formatting do (Babel alone rounds half to even: 49.45 would read 49.4 here, 49.5 there)."""
    exact = value if isinstance(value, Decimal) else Decimal(value)
    return exact.quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP)


def number(value: Number | None, digits: int = 0) -> str:
    """12345.6 -> "12,346" (en), "12 346" (fr), "12.346" (es, pt); ``digits`` decimals (a match
    probability: number(0.9871, 3) -> "0.987", "0,987")."""
    if value is None:
        return DASH
    loc = active_locale()
    return parse_pattern(_fixed("#,##0", digits)).apply(_rounded(value, digits), loc)


def percent(value: Number | None, digits: int = 1) -> str:
    """A value in percent (49.4, not 0.494) -> "49.4%" (en), "49,4 %" (fr, es), "49,4%" (pt)."""
    if value is None:
        return DASH
    loc = active_locale()
    pattern = _fixed(loc.percent_formats[None].pattern, digits)
    return parse_pattern(pattern).apply(_rounded(value, digits) / 100, loc)


def interval(low: Number, high: Number, digits: int = 1) -> str:
    """A confidence interval: "[10.1, 14.5]" (en); where the comma is the decimal mark, a
    semicolon parts the bounds: "[10,1 ; 14,5]" (fr), "[10,1; 14,5]" (es, pt)."""
    loc = active_locale()
    comma = loc.number_symbols.get("latn", loc.number_symbols).get("decimal") == ","
    sep = ("\u202f; " if loc.language == "fr" else "; ") if comma else ", "
    return f"[{number(low, digits)}{sep}{number(high, digits)}]"


def money(amount_minor: int | None, currency: str) -> str:
    """Integer minor units with the currency's ISO code: 150000, "USD" -> "1,500.00 USD" (en),
    "1 500,00 USD" (fr); the currency's ISO 4217 decimals (0 for CLP, 3 for KWD)."""
    if amount_minor is None:
        return DASH
    code = currency.strip().upper()
    return f"{number(to_major(amount_minor, code), minor_exponent(code))} {code}"


def day(value: dt.date | None) -> str:
    """A date: "Apr 3, 2026" (en), "3 avr. 2026" (fr), "3 abr 2026" (es), "3 de abr. de 2026"."""
    if value is None:
        return DASH
    if isinstance(value, dt.datetime):
        value = timezone.localtime(value).date() if timezone.is_aware(value) else value.date()
    return format_date(value, "medium", locale=active_locale())


def moment(value: dt.datetime | None) -> str:
    """A date and time to the minute, in the server's time zone: "Apr 3, 2026, 14:05"."""
    if value is None:
        return DASH
    if timezone.is_aware(value):
        value = timezone.localtime(value)
    loc = active_locale()
    return f"{format_date(value.date(), 'medium', locale=loc)} {value:%H:%M}"


def month(value: dt.date | None) -> str:
    """A month (a period): "April 2026" (en), "avril 2026" (fr), "abril de 2026" (es, pt)."""
    if value is None:
        return DASH
    return format_skeleton("yMMMM", value, locale=active_locale())
