"""Parameter types the commands share: periods, dates and row ids checked before anything
runs, so a bad value is a usage error (exit 2, naming the option), never a traceback."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
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


class DateType(_DateParam):
    """A date typed as ``name`` (YYYY-MM or YYYY-MM-DD) and read by ``parse`` (the one date
    parser, bounded to 1900-2100), a clear usage error otherwise."""

    def __init__(self, name: str, parse: Callable[[str], dt.date | None]) -> None:
        self.name, self._parse = name, parse

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> dt.date:
        if isinstance(value, dt.date):
            return value
        try:
            day = self._parse(str(value))
        except ApplicationError as exc:
            self.fail(exc.message, param, ctx)
        if day is None:
            self.fail(f"Type it as {self.name}.", param, ctx)
        return day


PERIOD = DateType("YYYY-MM", period_param)
DAY = DateType("YYYY-MM-DD", date_param)
ROW_ID = click.IntRange(min=1, max=MAX_ID)
