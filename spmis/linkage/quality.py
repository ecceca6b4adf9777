"""Data-quality indicators from linkage and cross-checks, for dashboards and the closing of a
period: how many records are duplicates, how well each source links, which flags wait."""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl

from spmis.core import clock
from spmis.linkage.models import FlagState, PersonIdentity, VerificationFlag

AGE_BANDS = ((0, 7, "0-7 days"), (8, 30, "8-30 days"), (31, None, "over 30 days"))


def linkage_quality(*, today: dt.date | None = None) -> dict[str, Any]:
    """Duplicate-record rate (records that are not the first of their identity), per source the
    share of records linked to another source's record, and open flags by reason and age."""
    rows = pl.DataFrame(
        list(PersonIdentity.objects.values_list("person_id", "identity",
                                                "person__source__code")),
        schema={"person_id": pl.Int64, "identity": pl.Int64, "source": pl.String},
        orient="row")
    records, identities = rows.height, rows["identity"].n_unique()
    sources_of = rows.group_by("identity").agg(sources=pl.col("source").n_unique())
    per_source = (rows.join(sources_of, on="identity").group_by("source")
                  .agg(records=pl.len(), linked=(pl.col("sources") > 1).sum())
                  .with_columns(linkage_rate=(pl.col("linked") / pl.col("records")).round(4))
                  .sort("source"))
    return {
        "records": records,
        "identities": identities,
        "duplicate_record_rate": round(1 - identities / records, 4) if records else None,
        "linkage_rate_by_source": per_source.to_dicts(),
        "open_flags": _open_flags(today or clock.today()),
    }


def _open_flags(today: dt.date) -> list[dict[str, Any]]:
    flags = pl.DataFrame(
        list(VerificationFlag.objects.filter(state=FlagState.OPEN).values_list(
            "reason_code", "raised_at", "due_on")),
        schema={"reason": pl.String, "raised_at": pl.Datetime("us", "UTC"),
                "due_on": pl.Date}, orient="row")
    age = (pl.lit(today) - pl.col("raised_at").dt.date()).dt.total_days()
    band = pl.lit(AGE_BANDS[-1][2])
    for low, high, label in reversed(AGE_BANDS[:-1]):
        band = pl.when(age.is_between(low, high)).then(pl.lit(label)).otherwise(band)
    return (flags.with_columns(age=band, overdue=pl.col("due_on") < today)
            .group_by("reason", "age").agg(open=pl.len(), overdue=pl.col("overdue").sum())
            .sort("reason", "age").to_dicts())
