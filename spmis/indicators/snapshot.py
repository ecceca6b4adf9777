"""A columnar snapshot of what indicators read: a handful of queries, written as Parquet.

Dates are read as ISO text (both databases give the same) and typed in Polars. The snapshot
is the engine's only input, so a run can be recomputed, and exported, exactly.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import polars as pl
from django.db import connection

from spmis.core.periods import add_months

QUERIES: dict[str, tuple[str, dict[str, Any]]] = {
    "persons": ("""
        SELECT p.id, COALESCE(i.identity, p.id), p.sex, CAST(p.date_of_birth AS TEXT),
               CAST(p.date_of_death AS TEXT), p.disability_level, p.annual_income_minor,
               p.area_id
        FROM registry_person p LEFT JOIN linkage_personidentity i ON i.person_id = p.id""",
        {"person_id": pl.Int64, "identity": pl.Int64, "sex": pl.String,
         "date_of_birth": pl.String, "date_of_death": pl.String,
         "disability_level": pl.Int64, "annual_income_minor": pl.Int64,
         "area_id": pl.Int64}),
    "areas": ("SELECT id, code, level, path FROM geography_area",
              {"area_id": pl.Int64, "code": pl.String, "level": pl.Int64, "path": pl.String}),
    "enrolments": ("""
        SELECT e.person_id, COALESCE(i.identity, e.person_id), e.scheme_id, e.status,
               CAST(e.start_date AS TEXT), CAST(e.end_date AS TEXT)
        FROM schemes_enrolment e
        LEFT JOIN linkage_personidentity i ON i.person_id = e.person_id""",
        {"person_id": pl.Int64, "identity": pl.Int64, "scheme_id": pl.Int64,
         "status": pl.String, "start_date": pl.String, "end_date": pl.String}),
    "payments": ("""
        SELECT b.person_id, COALESCE(i.identity, b.person_id), b.scheme_id,
               CAST(b.period AS TEXT), b.amount_minor, b.currency
        FROM payments_benefitpayment b
        LEFT JOIN linkage_personidentity i ON i.person_id = b.person_id
        WHERE b.period = %(period)s""",
        {"person_id": pl.Int64, "identity": pl.Int64, "scheme_id": pl.Int64,
         "period": pl.String, "amount_minor": pl.Int64, "currency": pl.String}),
    "schemes": ("""
        SELECT id, code, guarantee, function, benefit_nature = 'CASH', contributory,
               eligible_age_from, eligible_age_to, eligible_sex, eligible_disability_from,
               income_threshold_minor
        FROM schemes_scheme""",
        {"scheme_id": pl.Int64, "code": pl.String, "guarantee": pl.String,
         "function": pl.String, "cash": pl.Boolean, "contributory": pl.Boolean,
         "eligible_age_from": pl.Int64, "eligible_age_to": pl.Int64,
         "eligible_sex": pl.String, "eligible_disability_from": pl.Int64,
         "income_threshold_minor": pl.Int64}),
    "incompatible": ("SELECT scheme_a_id, scheme_b_id FROM schemes_incompatibleschemes",
                     {"scheme_a": pl.Int64, "scheme_b": pl.Int64}),
    "benchmarks": ("""
        SELECT code, amount_minor FROM indicators_benchmark
        WHERE valid_from <= %(period_end)s
          AND (valid_to IS NULL OR valid_to >= %(period_end)s)""",
        {"code": pl.String, "amount_minor": pl.Int64}),
    "population": ("""
        SELECT area_id, sex, age_from, age_to, population FROM geography_populationdenominator
        WHERE year = %(year)s""",
        {"area_id": pl.Int64, "sex": pl.String, "age": pl.Int64, "age_to": pl.Int64,
         "population": pl.Int64}),
}
DATES = {"persons": ("date_of_birth", "date_of_death"), "enrolments": ("start_date", "end_date"),
         "payments": ("period",)}


def population_year(period: dt.date) -> int | None:
    """The latest population year at or before the period's."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT MAX(year) FROM geography_populationdenominator WHERE year <= %s",
                       [period.year])
        year = cursor.fetchone()[0]
    return int(year) if year is not None else None


def snapshot_write(directory: Path, period: dt.date, year: int | None) -> dict[str, int]:
    """Write every snapshot table as ``directory/<name>.parquet``; returns row counts."""
    directory.mkdir(parents=True, exist_ok=True)
    counts = {}
    end = add_months(period, 1) - dt.timedelta(days=1)
    params: dict[str, str | int] = {"period": period.isoformat(), "period_end": end.isoformat(),
                                    "year": year if year is not None else -1}
    for name, (sql, schema) in QUERIES.items():
        with connection.cursor() as cursor:
            cursor.execute(sql, params if "%(" in sql else None)
            frame = pl.DataFrame(cursor.fetchall(), schema=schema, orient="row")
        frame = frame.with_columns([pl.col(c).str.slice(0, 10).str.to_date("%Y-%m-%d")
                                    for c in DATES.get(name, ())])
        frame.write_parquet(directory / f"{name}.parquet")
        counts[name] = frame.height
    return counts


def export_deidentified(directory: Path, period: dt.date, fmt: str) -> dict[str, int]:
    """The person-level inputs of a run, without names, IDs or dates of birth: new record and
    identity numbers (a random permutation each export), age at the period's end, whether
    alive then, disability level, declared yearly income (for schemes' means tests), area
    path. Enough to recompute every figure."""
    import secrets
    import tempfile

    if fmt not in ("parquet", "csv"):
        raise ValueError("Format must be parquet or csv.")
    end = add_months(period, 1) - dt.timedelta(days=1)
    with tempfile.TemporaryDirectory() as tmp:
        counts = snapshot_write(Path(tmp), period, population_year(period))
        tables = {name: pl.read_parquet(Path(tmp) / f"{name}.parquet") for name in counts}
    seed = secrets.randbelow(2**63)
    persons = tables["persons"]
    new_id = persons.select(
        "person_id", new=pl.col("person_id").hash(seed).rank("ordinal").cast(pl.Int64))

    def swap(frame: pl.DataFrame, column: str) -> pl.DataFrame:
        """Replace ``column``'s record ids by their new numbers (a join, set-wise)."""
        renamed = new_id.rename({"person_id": column, "new": "_new"})
        return frame.join(renamed, on=column, how="left").with_columns(
            pl.col("_new").alias(column)).drop("_new")

    dob, dod = pl.col("date_of_birth"), pl.col("date_of_death")
    age = (end.year - dob.dt.year() - ((dob.dt.month() > end.month) | (
        (dob.dt.month() == end.month) & (dob.dt.day() > end.day))).cast(pl.Int64))
    paths = tables["areas"].select("area_id", area_path="path")
    persons = persons.join(paths, on="area_id", how="left")
    tables["population"] = tables["population"].join(paths, on="area_id", how="left")
    tables["persons"] = swap(swap(persons, "person_id"), "identity").filter(
        dob <= end).select(
        "person_id", "identity", "sex", age_at_period_end=age,
        alive_at_period_end=dod.is_null() | (dod > end),
        severe_disability=pl.col("disability_level") >= 2,
        disability_level="disability_level", annual_income_minor="annual_income_minor",
        area_id="area_id", area_path="area_path",
    ).sort("person_id")
    for name in ("enrolments", "payments"):
        tables[name] = swap(tables[name], "person_id").sort("person_id")
    directory.mkdir(parents=True, exist_ok=True)
    for name, frame in tables.items():
        if fmt == "parquet":
            frame.write_parquet(directory / f"{name}.parquet")
        else:
            frame.write_csv(directory / f"{name}.csv")
    return {name: frame.height for name, frame in tables.items()}
