"""Reads of published figures: the latest run, a drill-down, a series against its targets.

Indicator values are aggregates; who may see which areas' figures is the web door's job
(coverage permission, areas in scope)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from spmis.indicators.catalogue import Indicator, catalogue
from spmis.indicators.models import IndicatorRun, IndicatorValue, Target


def indicator_get(code: str) -> Indicator | None:
    return next((i for i in catalogue() if i.code == code), None)


def run_latest(*, period: dt.date | None = None) -> IndicatorRun | None:
    runs = IndicatorRun.objects.filter(finished_at__isnull=False)
    if period is not None:
        runs = runs.filter(period=period)
    return runs.order_by("-period", "-id").first()


def values_for(*, run: IndicatorRun, indicator: str, area_codes: list[str] | None = None,
               sex: str = "_T", age_band: str = "_T",
               disability: str = "_T", scheme: str = "_T") -> list[IndicatorValue]:
    rows = IndicatorValue.objects.filter(run=run, indicator=indicator, sex=sex,
                                         age_band=age_band, disability=disability, scheme=scheme)
    if area_codes is not None:
        rows = rows.filter(area_code__in=area_codes)
    return list(rows.order_by("area_level", "area_code"))


@dataclass(frozen=True)
class SeriesPoint:
    period: str
    value: float | None


def series(*, indicator: str, area_code: str, sex: str = "_T",
           scheme: str = "_T") -> list[SeriesPoint]:
    """The indicator's value in the latest run of each period, oldest first."""
    latest: dict[str, int] = {}
    for run_id, period in IndicatorRun.objects.filter(finished_at__isnull=False).order_by(
            "period", "id").values_list("id", "period"):
        latest[f"{period:%Y-%m}"] = run_id
    values = dict(IndicatorValue.objects.filter(
        run_id__in=latest.values(), indicator=indicator, area_code=area_code, sex=sex,
        age_band="_T", disability="_T", scheme=scheme).values_list("run_id", "value"))
    return [SeriesPoint(period, values.get(run_id)) for period, run_id in latest.items()]


def targets_for(*, indicator: str, area_code: str) -> list[Target]:
    return list(Target.objects.filter(indicator=indicator, area_code=area_code).order_by("year"))


def values_by_sex(*, run: IndicatorRun, indicators: list[str], area_codes: list[str],
                  scheme: str = "_T") -> dict[tuple[str, str, str], IndicatorValue]:
    """Totals (all ages, any disability) of ``indicators`` in ``area_codes`` for both sexes and
    the total, keyed by (indicator, area_code, sex) with sex M, F or _T."""
    rows = IndicatorValue.objects.filter(
        run=run, indicator__in=indicators, area_code__in=area_codes, sex__in=("M", "F", "_T"),
        age_band="_T", disability="_T", scheme=scheme)
    return {(v.indicator, v.area_code, v.sex): v for v in rows}


def values_by_scheme(*, run: IndicatorRun, indicator: str, area_code: str,
                     schemes: list[str]) -> dict[tuple[str, str], IndicatorValue]:
    """``indicator`` in one area for each of ``schemes`` (codes), both sexes and the total,
    keyed by (scheme, sex)."""
    rows = IndicatorValue.objects.filter(
        run=run, indicator=indicator, area_code=area_code, scheme__in=schemes,
        sex__in=("M", "F", "_T"), age_band="_T", disability="_T")
    return {(v.scheme, v.sex): v for v in rows}
