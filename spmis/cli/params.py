"""Parameter types the commands share: periods, dates and row ids checked before anything
runs, so a bad value is a usage error (exit 2, naming the option), never a traceback."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

import click

from spmis.core.errors import ApplicationError
from spmis.core.periods import date_param, period_param

# A database row id: SQLite and PostgreSQL keys are 64-bit; anything larger names no row.
MAX_ID = 2**63 - 1

if TYPE_CHECKING:  # generic in the click the types are checked with; not in click 8.1
    _DateParam = click.ParamType[dt.date, Any]
else:
    _DateParam = click.ParamType


class PeriodType(_DateParam):
    """``YYYY-MM`` between 1900-01 and 2100-12, as the first day of the month."""

    name = "YYYY-MM"

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> dt.date:
        if isinstance(value, dt.date):
            return value
        try:
            period = period_param(str(value))
        except ApplicationError as exc:
            self.fail(exc.message, param, ctx)
        if period is None:
            self.fail("Type the period as YYYY-MM.", param, ctx)
        return period


class DayType(_DateParam):
    """``YYYY-MM-DD`` between 1900-01-01 and 2100-12-31."""

    name = "YYYY-MM-DD"

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> dt.date:
        if isinstance(value, dt.date):
            return value
        try:
            day = date_param(str(value))
        except ApplicationError as exc:
            self.fail(exc.message, param, ctx)
        if day is None:
            self.fail("Type the date as YYYY-MM-DD.", param, ctx)
        return day


PERIOD = PeriodType()
DAY = DayType()
ROW_ID = click.IntRange(min=1, max=MAX_ID)
