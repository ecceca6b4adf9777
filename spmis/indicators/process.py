"""Process and quality indicators, read from the capabilities that hold them (intake's
reporting rates, linkage's identities, the flags, payments) as indicator values."""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl
from django.db.models import Count, Q

from spmis.core.periods import add_months
from spmis.geography.models import Area
from spmis.indicators.catalogue import Indicator
from spmis.indicators.engine import COLUMNS, TOTAL
from spmis.intake.rates import reporting_rates
from spmis.linkage.models import FlagState, PersonIdentity, VerificationFlag
from spmis.payments.models import BenefitPayment


def compute(period: dt.date, today: dt.date, indicators: list[Indicator]) -> pl.DataFrame:
    rows: list[dict[str, Any]] = []
    country = Area.objects.filter(parent__isnull=True).order_by("id").first()
    top = country.code if country else TOTAL
    for ind in (i for i in indicators if i.process):
        if ind.process in ("reporting_rate", "reporting_rate_on_time"):
            on_time = ind.process == "reporting_rate_on_time"
            rows += [_row(ind.code, r.area_code, r.level, r.on_time if on_time else r.received,
                          r.expected) for r in reporting_rates(user=None, period=period)]
        elif ind.process == "duplicate_record_rate":
            counts = PersonIdentity.objects.aggregate(
                records=Count("person_id"), identities=Count("identity", distinct=True))
            rows.append(_row(ind.code, top, 0, counts["records"] - counts["identities"],
                             counts["records"]))
        elif ind.process in ("open_flags", "overdue_flags"):
            flags = VerificationFlag.objects.filter(state=FlagState.OPEN)
            if ind.process == "overdue_flags":
                flags = flags.filter(due_on__lt=today)
            rows.append(_row(ind.code, top, 0, flags.count(), None, count=True))
        elif ind.process == "payments_on_time":
            end = add_months(period, 1) - dt.timedelta(days=1)
            counts = BenefitPayment.objects.filter(period=period).aggregate(
                all=Count("id"), on_time=Count("id", filter=Q(paid_on__lte=end)))
            rows.append(_row(ind.code, top, 0, counts["on_time"], counts["all"]))
    schema = {"indicator": pl.String, "area_code": pl.String, "area_level": pl.Int64,
              "sex": pl.String, "age_band": pl.String, "disability": pl.String,
              "scheme": pl.String, "numerator": pl.Int64, "denominator": pl.Int64,
              "value": pl.Float64, "obs_status": pl.String, "note": pl.String}
    return pl.DataFrame(rows, schema=schema).select(COLUMNS)


def _row(code: str, area: str, level: int, numerator: int, denominator: int | None,
         count: bool = False) -> dict[str, Any]:
    if count:
        value: float | None = float(numerator)
    else:
        value = round(100 * numerator / denominator, 4) if denominator else None
    return {"indicator": code, "area_code": area, "area_level": level, "sex": TOTAL,
            "age_band": TOTAL, "disability": TOTAL, "scheme": TOTAL, "numerator": numerator,
            "denominator": denominator, "value": value,
            "obs_status": "A" if value is not None else "M",
            "note": None}  # why a value is missing: services.missing_notes
