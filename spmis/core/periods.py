"""Calendar arithmetic on reporting periods (months). Pure: no Django, usable by compute code."""

from __future__ import annotations

import datetime as dt


def add_months(day: dt.date, months: int) -> dt.date:
    """First day of the month ``months`` after ``day``'s month."""
    index = day.year * 12 + (day.month - 1) + months
    return dt.date(index // 12, index % 12 + 1, 1)


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def parse_iso_date(text: str) -> dt.date | None:
    """``YYYY-MM-DD`` as a date; anything else (a typo in a filter box) as None."""
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        return None


def parse_period(text: str) -> dt.date | None:
    """``YYYY-MM`` (or a full ISO date) as the first day of its month; anything else None."""
    text = text.strip()
    try:
        if len(text) == 7:
            return dt.date.fromisoformat(text + "-01")
        return dt.date.fromisoformat(text).replace(day=1)
    except ValueError:
        return None
