"""Benchmark: every indicator x every disaggregation on a synthetic country, in DuckDB.

    python bench/indicators.py --persons 10000000 [--as-of 2026-06-30] [--keep DIR]
    python bench/indicators.py --snapshot DIR     # an existing snapshot, in a fresh process

The snapshot is written straight from the generated country (the database path is timed by
`spmis indicators run`), its period the month of the country's reference date (with
--snapshot: the latest month the snapshot pays). A share of persons (DUPLICATE_SHARE) is
recorded twice, as registries do, the second record holding some of their enrolments and
payments and, for the dead, the death: an identity is one person. Then the engine runs every
indicator of the catalogue, then only COV_ANY, and a single hand-written DuckDB query
computes the same COV_ANY cube (any scheme and each, every area level x sex x age band x
disability; numerators: persons, each identity once), in the same run, as the yardstick;
every cell of the two is checked equal. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from spmis.core.parameters import AgeBand, parameters_in_force
from spmis.core.periods import add_months, month_start
from spmis.indicators import engine
from spmis.indicators.catalogue import catalogue
from spmis.indicators.disclosure import suppress
from spmis.synth.country import generate_country

AS_OF = dt.date(2026, 6, 30)  # the default reference date: reproducible numbers
DUPLICATE_SHARE = 0.05  # persons recorded twice (linked into one identity)


def write_snapshot(directory: Path, persons: int, as_of: dt.date) -> dict[str, float]:
    t0 = time.perf_counter()
    country = generate_country(persons=persons, seed=1, as_of=as_of)
    generated = time.perf_counter() - t0
    period = month_start(country.as_of)
    t0 = time.perf_counter()
    country.areas.select(area_id="id", code="code", level="level", path="path").write_parquet(
        directory / "areas.parquet")
    records, moved = _with_second_records(country.persons)
    records.write_parquet(directory / "persons.parquet")

    def to_records(frame: pl.DataFrame) -> pl.DataFrame:
        """Some benefits of a person recorded twice are on the second record (odd schemes)."""
        rest = [c for c in frame.columns if c not in ("person_id", "scheme_id")]
        return frame.join(moved, left_on="person_id", right_on="identity", how="left").select(
            pl.when(pl.col("scheme_id") % 2 == 1).then(
                pl.col("second").fill_null(pl.col("person_id"))).otherwise(
                pl.col("person_id")).alias("person_id"),
            pl.col("person_id").alias("identity"), pl.col("scheme_id").cast(pl.Int64), *rest)

    to_records(country.enrolments.select(
        "person_id", "scheme_id", "status", "start_date", "end_date")).write_parquet(
        directory / "enrolments.parquet")
    # The period's payments and the eleven months' before (a cycle may cover the period).
    to_records(country.payments.filter(
        pl.col("period").is_between(add_months(period, -11), period)).select(
        "person_id", "scheme_id", "period", "amount_minor", "currency")).write_parquet(
        directory / "payments.parquet")
    country.schemes.select(
        pl.col("id").cast(pl.Int64).alias("scheme_id"), "code", "guarantee", "function",
        pl.col("benefit_nature").eq("CASH").alias("cash"), "contributory",
        *[pl.col(c).cast(pl.Int64) for c in ("eligible_age_from", "eligible_age_to")],
        "eligible_sex", pl.col("eligible_disability_from").cast(pl.Int64),
        pl.col("income_threshold_minor").cast(pl.Int64), "social_assistance",
        employment_injury="covers_employment_injury",
        cycle_months=pl.col("periodicity").replace_strict(
            {"QUARTERLY": 3, "ANNUAL": 12}, default=1, return_dtype=pl.Int64)).write_parquet(
        directory / "schemes.parquet")
    # The social pension is for those without a contributory one.
    ids = dict(country.schemes.select("code", "id").iter_rows())
    pl.DataFrame({"scheme_a": [ids["CONTRIB_PENSION"]], "scheme_b": [ids["SOCIAL_PENSION"]]},
                 schema={"scheme_a": pl.Int64, "scheme_b": pl.Int64}).write_parquet(
        directory / "incompatible.parquet")
    pl.DataFrame({"code": ["POVERTY_LINE"], "amount_minor": [2000]}).write_parquet(
        directory / "benchmarks.parquet")
    country.population.select(
        "area_id", "sex", age="age_from", population="population").write_parquet(
        directory / "population.parquet")
    return {"generate_seconds": round(generated, 2),
            "snapshot_seconds": round(time.perf_counter() - t0, 2),
            "records_recorded_twice": moved.height}


def _with_second_records(persons: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Persons as records: a seeded DUPLICATE_SHARE of them also has a second record (same
    facts, registered later, a new id); of those who died, only the second record says so.
    Returns the records and (identity, second) for those recorded twice."""
    base = persons.select(
        person_id="id", identity="id", sex="sex", date_of_birth="date_of_birth",
        date_of_death="date_of_death", disability_level="disability_level",
        annual_income_minor="annual_income_minor", area_id="area_id",
        registered_on="registered_on")
    twice = base.filter(pl.col("person_id").hash(7) % 1000 < int(DUPLICATE_SHARE * 1000))
    top: int = base.select(pl.col("person_id").max()).item() or 0
    seconds = twice.with_columns(
        person_id=pl.int_range(top + 1, top + 1 + twice.height, dtype=pl.Int64),
        registered_on=pl.col("registered_on") + dt.timedelta(days=30))
    first = base.with_columns(date_of_death=pl.when(pl.col("person_id").is_in(
        twice["person_id"].implode())).then(None).otherwise("date_of_death"))
    return (pl.concat([first, seconds]),
            seconds.select("identity", second="person_id"))


def hand_written(snap: Path, period: dt.date, bands: tuple[AgeBand, ...]) -> str:
    """The COV_ANY cube in one query, written from the documented definitions, not from the
    engine's code: persons are identities (alive if none of their records says dead, their
    facts those of any record: a person's records agree here), covered by an enrolment in
    force at the period's end (not suspended, started, not ended; an exit without an end
    date never) or a payment for the period; each identity once per scheme and once for any."""
    day = f"DATE '{add_months(period, 1) - dt.timedelta(days=1):%Y-%m-%d}'"
    band = " ".join(f"WHEN age <= {b.age_to} THEN '{b.label}'" for b in bands
                    if b.age_to is not None)
    return f"""
WITH ancestors AS (
  SELECT a.area_id, b.code, b.level
  FROM (SELECT area_id, unnest(string_split(rtrim(path, '/'), '/')) AS code
        FROM '{snap}/areas.parquet') a
  JOIN '{snap}/areas.parquet' b ON b.code = a.code),
identities AS (
  SELECT identity, min(date_of_death) AS died, arg_min(sex, person_id) AS sex,
         arg_min(date_of_birth, person_id) AS date_of_birth,
         arg_min(area_id, person_id) AS area_id,
         arg_min(disability_level, person_id) AS disability_level
  FROM '{snap}/persons.parquet' GROUP BY identity),
people AS (
  SELECT identity, sex, area_id, coalesce(disability_level >= 2, FALSE) AS severe,
         CASE {band} ELSE '{bands[-1].label}' END AS band
  FROM (SELECT *, date_diff('year', date_of_birth, {day})
               - CASE WHEN strftime(date_of_birth, '%m%d') > strftime({day}, '%m%d')
                      THEN 1 ELSE 0 END AS age
        FROM identities)
  WHERE (died IS NULL OR died > {day}) AND date_of_birth <= {day}),
covered AS (
  SELECT identity, scheme_id FROM '{snap}/enrolments.parquet'
  WHERE status <> 'SUSPENDED' AND start_date <= {day}
    AND (end_date >= {day} OR (end_date IS NULL AND status <> 'EXITED'))
  UNION SELECT identity, scheme_id FROM '{snap}/payments.parquet'
  WHERE period = DATE '{period:%Y-%m-%d}'),
per_scheme AS (
  SELECT identity, scheme_id FROM covered
  UNION ALL SELECT DISTINCT identity, NULL FROM covered)
SELECT code, level, scheme_id, sex, band, severe, count(*) AS n
FROM people JOIN per_scheme USING (identity) JOIN ancestors USING (area_id)
GROUP BY code, level, scheme_id, CUBE(sex, band, severe)
"""


def _public_release(values: pl.DataFrame, snap: Path) -> tuple[float, int]:
    """Disclosure control of the whole run (threshold 5 and secondary suppression)."""
    # "XY/XY01/XY0101/" -> XY01: the code before the area's own
    parents = dict(pl.read_parquet(snap / "areas.parquet").select(
        "code", pl.col("path").str.split("/").list.get(-3, null_on_oob=True)).iter_rows())
    t0 = time.perf_counter()
    safe = suppress(values, parents, 5, {i.code for i in catalogue() if i.process is None})
    return round(time.perf_counter() - t0, 2), safe.filter(pl.col("conf_status") != "F").height


def _same_cube(values: pl.DataFrame, hand: pl.DataFrame, snap: Path) -> dict[str, int]:
    """Every COV_ANY numerator of the engine (each area, sex, age band, disability, scheme
    and any) against the yardstick's: cells compared, and those that differ."""
    codes = pl.read_parquet(snap / "schemes.parquet").select("scheme_id", scheme="code")
    theirs = hand.join(codes, on="scheme_id", how="left").select(
        area_code="code", sex=pl.col("sex").fill_null("_T"),
        age_band=pl.col("band").fill_null("_T"),
        disability=pl.when(pl.col("severe").is_null()).then(pl.lit("_T"))
        .when(pl.col("severe")).then(pl.lit("SEVERE")).otherwise(pl.lit("NOT_SEVERE")),
        scheme=pl.col("scheme").fill_null("_T"), theirs="n")
    ours = values.filter(pl.col("indicator") == "COV_ANY", pl.col("numerator") > 0).select(
        "area_code", "sex", "age_band", "disability", "scheme", ours="numerator")
    both = theirs.join(ours, on=["area_code", "sex", "age_band", "disability", "scheme"],
                       how="full", coalesce=True)
    differ = both.filter(pl.col("theirs").fill_null(0) != pl.col("ours").fill_null(0))
    return {"cells": both.height, "differ": differ.height}


def snapshot_period(snap: Path) -> dt.date:
    """The period of a snapshot: the latest month it pays."""
    latest = pl.scan_parquet(snap / "payments.parquet").select(pl.col("period").max())
    return month_start(latest.collect().item())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--persons", type=int, default=1_000_000)
    parser.add_argument("--as-of", type=dt.date.fromisoformat, default=AS_OF,
                        help="the country's reference date (YYYY-MM-DD); the period is its "
                             f"month (default {AS_OF})")
    parser.add_argument("--keep", type=Path, help="write the snapshot here and keep it")
    parser.add_argument("--snapshot", type=Path, help="time the engine on this snapshot "
                        "(from --keep): no country generated in the same process")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        snap = args.snapshot or args.keep or Path(tmp)
        times: dict[str, float] = {}
        if args.snapshot is None:
            snap.mkdir(parents=True, exist_ok=True)
            times = write_snapshot(snap, args.persons, args.as_of)
        period = snapshot_period(snap)
        period_end = add_months(period, 1) - dt.timedelta(days=1)
        everything = list(catalogue(period_end))
        bands = parameters_in_force(period_end).age_bands
        t0 = time.perf_counter()
        values = engine.compute(snap, period, everything, bands)
        all_seconds = time.perf_counter() - t0
        cov_any = [i for i in everything if i.code == "COV_ANY"]
        t0 = time.perf_counter()
        engine.compute(snap, period, cov_any, bands)
        cov_seconds = time.perf_counter() - t0
        t0 = time.perf_counter()
        relation = duckdb.sql(hand_written(snap, period, bands))
        assert relation is not None
        hand = relation.to_arrow_table()
        hand_seconds = time.perf_counter() - t0
        frame = pl.from_arrow(hand)
        assert isinstance(frame, pl.DataFrame)
        agree = _same_cube(values, frame, snap)
        public_seconds, suppressed = _public_release(values, snap)
        records = pl.scan_parquet(snap / "persons.parquet").select(
            pl.len(), pl.col("identity").n_unique()).collect().row(0)
    print(json.dumps({
        "benchmark": "indicators",
        "period": f"{period:%Y-%m}",
        "records": records[0],
        "persons": records[1],
        **times,
        "indicators": sum(1 for i in everything if i.process is None),
        "values": values.height,
        "engine_all_indicators_seconds": round(all_seconds, 2),
        "engine_cov_any_seconds": round(cov_seconds, 2),
        "hand_written_cov_any_cube_seconds": round(hand_seconds, 2),
        "hand_written_rows": hand.num_rows,
        "cov_any_cells_compared": agree["cells"],
        "cov_any_cells_that_differ": agree["differ"],
        "public_release_min_count_5_seconds": public_seconds,
        "public_release_cells_suppressed": suppressed,
        "ratio_cov_any_to_hand_written": round(cov_seconds / hand_seconds, 2),
        "peak_memory_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }, indent=2))


if __name__ == "__main__":
    main()
