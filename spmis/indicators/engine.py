"""The indicator engine: every indicator of the catalogue, for one period, across every
disaggregation, in DuckDB over a columnar snapshot (Parquet). Pure data work, no Django.

Snapshot tables (see :mod:`spmis.indicators.snapshot`):

- ``persons``: person_id, identity, sex, date_of_birth, date_of_death, disability_level,
  area_path (``XY/XY01/XY0101/``: the area and all its ancestors)
- ``enrolments``: person_id, identity, scheme_id, status, start_date, end_date
- ``payments``: person_id, identity, scheme_id, period
- ``schemes``: scheme_id, guarantee, function, cash, contributory
- ``population``: area_path, sex, age, population (the period's year, single years of age)

Persons are counted once per identity, with the demographics of its first record; an area's
figures include every area below it. Every total is the sum of its disjoint parts.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import polars as pl

from spmis.core.periods import add_months
from spmis.indicators.catalogue import Indicator

TOTAL = "_T"
AGE_BANDS = ((0, 17, "0-17"), (18, 64, "18-64"), (65, None, "65+"))
SEVERE = 2  # Washington Group: "a lot of difficulty" or "cannot do at all"
COLUMNS = ["indicator", "area_code", "area_level", "sex", "age_band", "disability",
           "numerator", "denominator", "value", "obs_status"]


def _band(age: str) -> str:
    cases = " ".join(f"WHEN {age} <= {high} THEN '{label}'" for low, high, label in AGE_BANDS
                     if high is not None)
    return f"CASE {cases} ELSE '{AGE_BANDS[-1][2]}' END"


def _age(dob: str, day: dt.date) -> str:
    """Completed years at ``day``, in integer arithmetic (no date formatting per row)."""
    return (f"({day.year} - year({dob}) - CASE WHEN month({dob}) * 100 + day({dob}) > "
            f"{day.month * 100 + day.day} THEN 1 ELSE 0 END)")


def _population_filter(ind: Indicator, age: str, sex: str) -> str:
    parts = [f"{age} >= {ind.age_from}"]
    if ind.age_to is not None:
        parts.append(f"{age} <= {ind.age_to}")
    if ind.sex:
        parts.append(f"{sex} = '{ind.sex}'")
    return " AND ".join(parts)


def _benefit_filter(ind: Indicator) -> str:
    parts = ["TRUE"]
    for key, value in ind.benefits.items():
        if isinstance(value, bool):
            parts.append(f"c.{key} = {str(value).upper()}")
        else:
            parts.append(f"c.{key} = '{value}'")
    return " AND ".join(parts)


def compute(snapshot: Path, period: dt.date, indicators: list[Indicator]) -> pl.DataFrame:
    """Every indicator x area (all levels) x sex x age band x disability, with totals."""
    indicators = [i for i in indicators if i.process is None]  # see services
    horizontal = [i for i in indicators if i.statistic is None]
    vertical = [i for i in indicators if i.statistic is not None]
    period_end = add_months(period, 1) - dt.timedelta(days=1)
    con = duckdb.connect()
    for name in ("persons", "enrolments", "payments", "schemes", "population", "benchmarks"):
        path = snapshot / f"{name}.parquet"
        con.execute(f"CREATE VIEW {name} AS SELECT * FROM read_parquet('{path}')")
    day = f"DATE '{period_end:%Y-%m-%d}'"
    start = f"DATE '{period:%Y-%m-%d}'"
    con.execute(f"""
        CREATE TABLE people AS
        SELECT identity, sex, {_age('date_of_birth', period_end)} AS age,
               CASE WHEN disability_level >= {SEVERE} THEN 'SEVERE' ELSE 'NOT_SEVERE' END
                 AS disability, area_path
        FROM persons
        WHERE person_id = identity AND date_of_birth <= {day}
          AND (date_of_death IS NULL OR date_of_death > {day})""")
    frames = [_horizontal(con, horizontal, day, start)] if horizontal else []
    frames += [_vertical(con, ind, start) for ind in vertical]
    return pl.concat(frames).select(COLUMNS) if frames else pl.DataFrame(schema=COLUMNS)


def _horizontal(con: duckdb.DuckDBPyConnection, indicators: list[Indicator], day: str,
                start: str) -> pl.DataFrame:
    # Covered at the period's end: an enrolment in force, or a payment for the period;
    # one flag per indicator and identity (benefits carry their identity in the snapshot).
    con.execute("""
        CREATE TABLE flags AS
        SELECT b.identity, """ + ", ".join(
        f"bool_or({_benefit_filter(ind)}) AS b{i}" for i, ind in enumerate(indicators)) + f"""
        FROM (SELECT e.identity, e.scheme_id FROM enrolments e
              WHERE e.status <> 'SUSPENDED' AND e.start_date <= {day}
                AND (e.end_date IS NULL OR e.end_date >= {day})
              UNION
              SELECT identity, scheme_id FROM payments WHERE period = {start}) b
        JOIN schemes c ON c.scheme_id = b.scheme_id
        GROUP BY b.identity""")
    # Two stages: one pass over the people to the finest cells (area x sex x age band x
    # disability, a column per indicator), then the roll-ups over that small table.
    con.execute("CREATE TABLE finest AS SELECT area_path, sex, " + _band("age")
                + " AS age_band, disability, " + ", ".join(
                    f"sum(CASE WHEN {_population_filter(ind, 'age', 'sex')} "
                    f"AND coalesce(f.b{i}, FALSE) THEN 1 ELSE 0 END) AS n{i}"
                    for i, ind in enumerate(indicators))
                + " FROM people LEFT JOIN flags f USING (identity) "
                  "GROUP BY area_path, sex, age_band, disability")
    codes = ", ".join(f"'{ind.code}'" for ind in indicators)
    numerators = f"""
        SELECT list_extract([{codes}], CAST(substr(k, 2) AS INTEGER) + 1) AS indicator,
               sex, age_band, disability, area_path, v AS n
        FROM (UNPIVOT finest ON {", ".join(f"n{i}" for i in range(len(indicators)))}
              INTO NAME k VALUE v)
        WHERE v > 0"""
    num = _cube(con, numerators, "sum(n)", with_disability=True)
    with_population = [ind for ind in indicators if ind.missing_denominator is None]
    den = None
    if with_population:
        denominators = " UNION ALL ".join(
            f"""SELECT '{ind.code}' AS indicator, sex, {_band('age')} AS age_band,
                       '{TOTAL}' AS disability, area_path, population
                FROM population WHERE {_population_filter(ind, 'age', 'sex')}"""
            for ind in with_population)
        den = _cube(con, denominators, "sum(population)", with_disability=False)
    return _combine(num, den, indicators).select(COLUMNS)


def _vertical(con: duckdb.DuckDBPyConnection, ind: Indicator, start: str) -> pl.DataFrame:
    """A statistic of what each recipient received in the period, summed across schemes, per
    area (every level) x sex. Quantiles do not add up, so this runs on per-person rows."""
    benchmark = con.execute("SELECT min(amount_minor) FROM benchmarks WHERE code = ?",
                            [ind.benchmark or ""]).fetchall()[0][0]
    statistic = {
        "median": "quantile_cont(total, 0.5) / 100.0",
        "mean": "avg(total) / 100.0",
        "share_above": f"100.0 * count(*) FILTER (WHERE total >= {benchmark or 0}) / count(*)",
        "median_ratio": f"100.0 * quantile_cont(total, 0.5) / {benchmark or 1}",
    }[ind.statistic or "median"]
    numerator = (f"count(*) FILTER (WHERE total >= {benchmark or 0})"
                 if ind.statistic == "share_above" else "count(*)")
    sql = f"""
        WITH totals AS (
            SELECT b.identity, sum(b.amount_minor) AS total
            FROM payments b JOIN schemes c ON c.scheme_id = b.scheme_id
            WHERE b.period = {start} AND {_benefit_filter(ind)}
            GROUP BY b.identity),
        rows AS (
            SELECT p.sex, t.total, string_split(rtrim(p.area_path, '/'), '/') AS codes
            FROM totals t JOIN people p ON p.identity = t.identity
            WHERE {_population_filter(ind, 'p.age', 'p.sex')}),
        levels AS (SELECT rows.*, unnest(generate_series(1, len(codes))) AS depth FROM rows)
        SELECT '{ind.code}' AS indicator, codes[depth] AS area_code,
               CAST(depth - 1 AS BIGINT) AS area_level, coalesce(sex, '{TOTAL}') AS sex,
               '{TOTAL}' AS age_band, '{TOTAL}' AS disability,
               CAST({numerator} AS BIGINT) AS numerator, CAST(count(*) AS BIGINT) AS denominator,
               round({statistic}, 4) AS value
        FROM levels
        GROUP BY GROUPING SETS ((codes[depth], depth), (codes[depth], depth, sex))"""
    frame = pl.from_arrow(con.sql(sql).to_arrow_table())
    assert isinstance(frame, pl.DataFrame)
    missing = ind.benchmark is not None and benchmark is None
    return frame.with_columns(
        value=pl.lit(None, pl.Float64) if missing else pl.col("value").cast(pl.Float64),
        obs_status=pl.lit("M" if missing else "A"))


def _cube(con: duckdb.DuckDBPyConnection, rows: str, measure: str, *,
          with_disability: bool) -> pl.DataFrame:
    """Group ``rows`` by indicator x every area on its path x CUBE(sex, age band[, disab.])."""
    dims = "sex, age_band, disability" if with_disability else "sex, age_band"
    sql = f"""
        WITH r AS ({rows}),
        paths AS (SELECT r.*, string_split(rtrim(area_path, '/'), '/') AS codes FROM r),
        levels AS (
            SELECT paths.*, codes[depth] AS area_code, depth - 1 AS area_level
            FROM (SELECT paths.*, unnest(generate_series(1, len(codes))) AS depth
                  FROM paths) paths)
        SELECT indicator, area_code, area_level,
               coalesce(sex, '{TOTAL}') AS sex, coalesce(age_band, '{TOTAL}') AS age_band,
               {"coalesce(disability, '" + TOTAL + "')" if with_disability else f"'{TOTAL}'"}
                 AS disability,
               {measure} AS n
        FROM levels
        GROUP BY GROUPING SETS ({_sets(dims)})"""
    frame = pl.from_arrow(con.sql(sql).to_arrow_table())
    assert isinstance(frame, pl.DataFrame)
    return frame.with_columns(pl.col("n").cast(pl.Int64), pl.col("area_level").cast(pl.Int64))


def _sets(dims: str) -> str:
    """indicator x area (code and level) x every subset of ``dims``."""
    names = [d.strip() for d in dims.split(",")]
    subsets = [[n for i, n in enumerate(names) if mask >> i & 1]
               for mask in range(2 ** len(names))]
    base = ["indicator", "area_code", "area_level"]
    return ", ".join("(" + ", ".join(base + s) + ")" for s in subsets)


def _combine(num: pl.DataFrame, den: pl.DataFrame | None,
             indicators: list[Indicator]) -> pl.DataFrame:
    keys = ["indicator", "area_code", "area_level", "sex", "age_band", "disability"]
    frame = num.rename({"n": "numerator"})
    if den is not None:
        # Denominators exist for every cell of the population even where no one is covered.
        frame = den.rename({"n": "denominator"}).join(frame, on=keys, how="full",
                                                      coalesce=True)
    else:
        frame = frame.with_columns(denominator=pl.lit(None, pl.Int64))
    frame = frame.with_columns(pl.col("numerator").fill_null(0))
    unit = {i.code: i.unit for i in indicators}
    percent = pl.col("indicator").replace_strict(unit, default="NUMBER") == "PERCENT"
    value = pl.when(pl.col("denominator") > 0).then(
        pl.when(percent).then(100 * pl.col("numerator") / pl.col("denominator"))
        .otherwise(pl.col("numerator").cast(pl.Float64)))
    return frame.with_columns(
        value=value.round(4),
        obs_status=pl.when(pl.col("denominator").is_null()).then(pl.lit("M"))
        .otherwise(pl.lit("A")),
    ).select(COLUMNS).sort(keys)
