"""Benchmark: every indicator x every disaggregation on a synthetic country, in DuckDB.

    python bench/indicators.py --persons 10000000 [--keep DIR]
    python bench/indicators.py --snapshot DIR     # an existing snapshot, in a fresh process

The snapshot is written straight from the generated country (the database path is timed by
`spmis indicators run`); then the engine runs every indicator of the catalogue, then only
COV_ANY, and a single hand-written DuckDB query computes the same COV_ANY cube (any scheme
and each scheme, every area level x sex x age band x disability; numerators), in the same
run, as the yardstick. Prints one JSON object.
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

from spmis.indicators import engine
from spmis.indicators.catalogue import catalogue
from spmis.indicators.disclosure import suppress
from spmis.synth.country import generate_country

AS_OF = dt.date(2026, 6, 30)
PERIOD = dt.date(2026, 6, 1)


def write_snapshot(directory: Path, persons: int) -> dict[str, float]:
    t0 = time.perf_counter()
    country = generate_country(persons=persons, seed=1, as_of=AS_OF)
    generated = time.perf_counter() - t0
    t0 = time.perf_counter()
    country.areas.select(area_id="id", code="code", level="level", path="path").write_parquet(
        directory / "areas.parquet")
    country.persons.select(
        person_id="id", identity="id", sex="sex", date_of_birth="date_of_birth",
        date_of_death="date_of_death", disability_level="disability_level",
        annual_income_minor="annual_income_minor", area_id="area_id").write_parquet(
        directory / "persons.parquet")
    country.enrolments.select(
        "person_id", identity="person_id", scheme_id=pl.col("scheme_id").cast(pl.Int64),
        status="status", start_date="start_date", end_date="end_date").write_parquet(
        directory / "enrolments.parquet")
    country.payments.filter(pl.col("period") == PERIOD).select(
        "person_id", identity="person_id", scheme_id=pl.col("scheme_id").cast(pl.Int64),
        period="period", amount_minor="amount_minor").write_parquet(
        directory / "payments.parquet")
    country.schemes.select(
        pl.col("id").cast(pl.Int64).alias("scheme_id"), "code", "guarantee", "function",
        pl.col("benefit_nature").eq("CASH").alias("cash"), "contributory",
        *[pl.col(c).cast(pl.Int64) for c in ("eligible_age_from", "eligible_age_to")],
        "eligible_sex", pl.col("eligible_disability_from").cast(pl.Int64),
        pl.col("income_threshold_minor").cast(pl.Int64)).write_parquet(
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
            "snapshot_seconds": round(time.perf_counter() - t0, 2)}


HAND_WRITTEN = """
WITH ancestors AS (
  SELECT a.area_id, b.code, b.level
  FROM (SELECT area_id, unnest(string_split(rtrim(path, '/'), '/')) AS code
        FROM 'SNAP/areas.parquet') a
  JOIN 'SNAP/areas.parquet' b ON b.code = a.code),
people AS (
  SELECT person_id, sex, area_id, coalesce(disability_level >= 2, FALSE) AS severe,
         CASE WHEN age <= 17 THEN '0-17' WHEN age <= 64 THEN '18-64' ELSE '65+' END AS band
  FROM (SELECT *, date_diff('year', date_of_birth, DATE '2026-06-30')
               - CASE WHEN strftime(date_of_birth, '%m%d') > '0630' THEN 1 ELSE 0 END AS age
        FROM 'SNAP/persons.parquet')
  WHERE date_of_death IS NULL OR date_of_death > DATE '2026-06-30'),
covered AS (
  SELECT person_id, scheme_id FROM 'SNAP/enrolments.parquet'
  WHERE status <> 'SUSPENDED' AND start_date <= DATE '2026-06-30'
    AND (end_date IS NULL OR end_date >= DATE '2026-06-30')
  UNION SELECT person_id, scheme_id FROM 'SNAP/payments.parquet'),
-- each scheme, and any scheme (NULL), each person once in each
per_scheme AS (
  SELECT person_id, scheme_id FROM covered
  UNION ALL SELECT DISTINCT person_id, NULL FROM covered)
SELECT code, level, scheme_id, sex, band, severe, count(*) AS n
FROM people JOIN per_scheme USING (person_id) JOIN ancestors USING (area_id)
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


def _same_national_counts(values: pl.DataFrame, hand: pl.DataFrame | pl.Series,
                          snap: Path) -> bool:
    """The engine's national COV_ANY numerators, any scheme and each, equal the yardstick's."""
    assert isinstance(hand, pl.DataFrame)
    codes = pl.read_parquet(snap / "schemes.parquet").select("scheme_id", scheme="code")
    theirs = hand.filter(pl.col("level") == 0, pl.col("sex").is_null(), pl.col("band").is_null(),
                         pl.col("severe").is_null()).join(codes, on="scheme_id", how="left")
    theirs = theirs.with_columns(pl.col("scheme").fill_null("_T")).select("scheme", "n")
    ours = values.filter(indicator="COV_ANY", area_level=0, sex="_T", age_band="_T",
                         disability="_T").select("scheme", n="numerator")
    return theirs.sort("scheme").equals(ours.sort("scheme"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--persons", type=int, default=1_000_000)
    parser.add_argument("--keep", type=Path, help="write the snapshot here and keep it")
    parser.add_argument("--snapshot", type=Path, help="time the engine on this snapshot "
                        "(from --keep): no country generated in the same process")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        snap = args.snapshot or args.keep or Path(tmp)
        times: dict[str, float] = {}
        if args.snapshot is None:
            snap.mkdir(parents=True, exist_ok=True)
            times = write_snapshot(snap, args.persons)
        everything = list(catalogue())
        t0 = time.perf_counter()
        values = engine.compute(snap, PERIOD, everything)
        all_seconds = time.perf_counter() - t0
        cov_any = [i for i in everything if i.code == "COV_ANY"]
        t0 = time.perf_counter()
        engine.compute(snap, PERIOD, cov_any)
        cov_seconds = time.perf_counter() - t0
        t0 = time.perf_counter()
        hand = duckdb.sql(HAND_WRITTEN.replace("SNAP", str(snap))).to_arrow_table()
        hand_seconds = time.perf_counter() - t0
        agree = _same_national_counts(values, pl.from_arrow(hand), snap)
        public_seconds, suppressed = _public_release(values, snap)
    print(json.dumps({
        "benchmark": "indicators",
        "persons": pl.scan_parquet(snap / "persons.parquet").select(pl.len()).collect().item(),
        **times,
        "indicators": sum(1 for i in everything if i.process is None),
        "values": values.height,
        "engine_all_indicators_seconds": round(all_seconds, 2),
        "engine_cov_any_seconds": round(cov_seconds, 2),
        "hand_written_cov_any_cube_seconds": round(hand_seconds, 2),
        "hand_written_rows": hand.num_rows,
        "national_numerators_agree": agree,
        "public_release_min_count_5_seconds": public_seconds,
        "public_release_cells_suppressed": suppressed,
        "ratio_cov_any_to_hand_written": round(cov_seconds / hand_seconds, 2),
        "peak_memory_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }, indent=2))


if __name__ == "__main__":
    main()
