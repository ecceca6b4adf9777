"""Calendar arithmetic on reporting periods (months), and the one parser of the dates and
periods people type. Pure: no Django, usable by compute code.

Typed dates are bounded to ``EARLIEST``..``LATEST`` (1900-01-01 to 2100-12-31): no period of
social protection data lies outside, and month arithmetic on a period (the month before and
after it) stays inside what ``datetime.date`` can hold (year 1 to 9999).
"""

from __future__ import annotations

import datetime as dt

from spmis.core.errors import ValidationFailed

EARLIEST = dt.date(1900, 1, 1)
LATEST = dt.date(2100, 12, 31)
MAX_TEXT = 32  # longer than any way of writing a date; anything longer is not one


def add_months(day: dt.date, months: int) -> dt.date:
    """First day of the month ``months`` after ``day``'s month."""
    index = day.year * 12 + (day.month - 1) + months
    return dt.date(index // 12, index % 12 + 1, 1)


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def _bounded(day: dt.date) -> dt.date | None:
    return day if EARLIEST <= day <= LATEST else None


def parse_iso_date(text: str) -> dt.date | None:
    """``YYYY-MM-DD`` as a date between ``EARLIEST`` and ``LATEST``; anything else (a typo in
    a filter box, a year like 0001 or 9999) as None."""
    text = text.strip()
    if len(text) > MAX_TEXT:
        return None
    try:
        return _bounded(dt.date.fromisoformat(text))
    except ValueError:
        return None


def parse_period(text: str) -> dt.date | None:
    """``YYYY-MM`` (or a full ISO date) as the first day of its month, between ``EARLIEST``
    and ``LATEST``; anything else None."""
    text = text.strip()
    if len(text) > MAX_TEXT:
        return None
    try:
        if len(text) == 7:
            return _bounded(dt.date.fromisoformat(text + "-01"))
        return _bounded(dt.date.fromisoformat(text).replace(day=1))
    except ValueError:
        return None


def period_param(text: str, *, name: str = "period") -> dt.date | None:
    """A period typed in a filter or form: None when left empty, else the first day of its
    month; anything that is not a month between 1900-01 and 2100-12 is refused
    (``ValidationFailed``, naming ``name``)."""
    if not text.strip():
        return None
    period = parse_period(text)
    if period is None:
        raise ValidationFailed(f"Type the {name} as YYYY-MM, between {EARLIEST:%Y-%m} and "
                               f"{LATEST:%Y-%m}.")
    return period


def date_param(text: str, *, name: str = "date") -> dt.date | None:
    """A date typed in a filter or form: None when left empty, else the date; anything that
    is not a date between 1900-01-01 and 2100-12-31 is refused (``ValidationFailed``)."""
    if not text.strip():
        return None
    day = parse_iso_date(text)
    if day is None:
        raise ValidationFailed(f"Type the {name} as YYYY-MM-DD, between {EARLIEST} and "
                               f"{LATEST}.")
    return day
