"""Publishing a run: CSV, SDMX-CSV 1.0 (DATAFLOW, dimensions, OBS_VALUE, attributes) or JSON."""

from __future__ import annotations

import datetime as dt
import json

import polars as pl

from spmis.core.parameters import parameters_in_force
from spmis.core.periods import add_months
from spmis.geography.models import Area
from spmis.indicators.catalogue import catalogue
from spmis.indicators.disclosure import suppress
from spmis.indicators.engine import COLUMNS
from spmis.indicators.models import IndicatorRun

FORMATS = ("csv", "sdmx-csv", "json")
DATAFLOW = "SPMIS:DF_SP_COVERAGE(1.0)"


def run_values(run: IndicatorRun) -> pl.DataFrame:
    rows = run.values.order_by("indicator", "area_level", "area_code", "sex", "age_band",
                               "disability", "scheme").values_list(*COLUMNS)
    return pl.DataFrame(list(rows), schema={
        "indicator": pl.String, "area_code": pl.String, "area_level": pl.Int64,
        "sex": pl.String, "age_band": pl.String, "disability": pl.String,
        "scheme": pl.String, "numerator": pl.Int64, "denominator": pl.Int64, "value": pl.Float64,
        "obs_status": pl.String}, orient="row")


def _period_end(run: IndicatorRun) -> dt.date:
    return add_months(run.period, 1) - dt.timedelta(days=1)


def export(run: IndicatorRun, fmt: str, min_count: int = 0) -> str:
    """A run's values; with ``min_count`` k >= 2, made safe for the public: cells counting
    1 to k - 1 persons, and those that would give them away, suppressed (CONF_STATUS)."""
    if fmt not in FORMATS:
        raise ValueError(f"Format must be one of {', '.join(FORMATS)}.")
    if min_count < 0:
        raise ValueError("The minimum count cannot be negative.")
    parents = dict(Area.objects.values_list("code", "parent__code"))
    frame = suppress(run_values(run), parents, min_count,
                     {i.code for i in catalogue(_period_end(run)) if i.process is None})
    if fmt == "csv":
        return frame.write_csv()
    if fmt == "json":
        return json.dumps({"run": run.pk, "period": f"{run.period:%Y-%m}",
                           "lineage": run.lineage, "minimum_count": min_count,
                           "values": frame.to_dicts()}, indent=1)
    return _sdmx_csv(run, frame)


def _sdmx_csv(run: IndicatorRun, frame: pl.DataFrame) -> str:
    indicators = catalogue(_period_end(run))
    units = {i.code: i.unit for i in indicators}
    soc = {i.code: i.sdmx.get("SOC", "_Z") for i in indicators}
    notes = {i.code: i.missing_denominator or "" for i in indicators}
    sdmx = frame.select(
        DATAFLOW=pl.lit(DATAFLOW),
        FREQ=pl.lit("M"),
        REF_AREA="area_code",
        TIME_PERIOD=pl.lit(f"{run.period:%Y-%m}"),
        INDICATOR="indicator",
        SOC=pl.col("indicator").replace_strict(soc, default="_Z"),
        SEX=pl.col("sex").replace({"M": "M", "F": "F"}),
        AGE=pl.col("age_band").replace(
            {b.label: b.sdmx for b in parameters_in_force(_period_end(run)).age_bands}),
        DISABILITY_STATUS=pl.col("disability").replace({"SEVERE": "PWD", "NOT_SEVERE": "PWOD"}),
        SCHEME="scheme",
        OBS_VALUE=pl.col("value").cast(pl.String).fill_null("NaN"),
        UNIT_MEASURE=pl.col("indicator").replace_strict(
            {k: ("PT" if v == "PERCENT" else "PS") for k, v in units.items()}, default="PS"),
        OBS_STATUS="obs_status",
        CONF_STATUS="conf_status",
        NUMERATOR="numerator",
        DENOMINATOR="denominator",
        NOTE_INDICATOR=pl.col("indicator").replace_strict(notes, default=""),
    )
    return sdmx.write_csv()
