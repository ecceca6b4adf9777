"""The indicator engine: every indicator of the catalogue, for one period, across every
disaggregation, in DuckDB over a columnar snapshot (Parquet). Pure data work, no Django.

Snapshot tables (see :mod:`spmis.indicators.snapshot`):

- ``persons``: person_id, identity, sex, date_of_birth, date_of_death, disability_level,
  annual_income_minor, area_path (``XY/XY01/XY0101/``: the area and all its ancestors)
- ``enrolments``: person_id, identity, scheme_id, status, start_date, end_date
- ``payments``: person_id, identity, scheme_id, period
- ``schemes``: scheme_id, code, guarantee, function, cash, contributory, and the declared
  criteria eligible_age_from, eligible_age_to, eligible_sex, eligible_disability_from,
  income_threshold_minor (yearly)
- ``incompatible``: scheme_a, scheme_b (one may not receive both)
- ``population``: area_path, sex, age, population (the period's year, single years of age)

Persons are counted once per identity, with the demographics of its first record; an area's
figures include every area below it. Every total is the sum of its disjoint parts.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl

from spmis.core.periods import add_months
from spmis.indicators.catalogue import Indicator

TOTAL = "_T"
AGE_BANDS = ((0, 17, "0-17"), (18, 64, "18-64"), (65, None, "65+"))
SEVERE = 2  # Washington Group: "a lot of difficulty" or "cannot do at all"
COLUMNS = ["indicator", "area_code", "area_level", "sex", "age_band", "disability", "scheme",
           "numerator", "denominator", "value", "obs_status"]
KEYS = COLUMNS[:7]
MAX_SCHEMES = 127  # one bit each in a HUGEINT: the schemes a person is covered by


def _band(age: str) -> str:
    cases = " ".join(f"WHEN {age} <= {high} THEN '{label}'" for low, high, label in AGE_BANDS
                     if high is not None)
    return f"CASE {cases} ELSE '{AGE_BANDS[-1][2]}' END"


def _age(dob: str, day: dt.date) -> str:
    """Completed years at ``day``, in integer arithmetic (no date formatting per row)."""
    return (f"({day.year} - year({dob}) - CASE WHEN month({dob}) * 100 + day({dob}) > "
            f"{day.month * 100 + day.day} THEN 1 ELSE 0 END)")


def _benefit_filter(ind: Indicator) -> str:
    parts = ["TRUE"]
    for key, value in ind.benefits.items():
        if isinstance(value, bool):
            parts.append(f"c.{key} = {str(value).upper()}")
        else:
            parts.append(f"c.{key} = '{value}'")
    return " AND ".join(parts)


def _between(value: str, low: int, high: int | None) -> str:
    return f"{value} >= {low}" + (f" AND {value} <= {high}" if high is not None else "")


def _population_filter(ind: Indicator, ages: str, sex: str, disability: str | None) -> str:
    """Who is in the indicator's population: ``ages`` (a condition), sex, severe disability
    (``disability`` None: a table without it, e.g. the population tables)."""
    parts = [ages]
    if ind.sex:
        parts.append(f"{sex} = '{ind.sex}'")
    if ind.severe_disability and disability is not None:
        parts.append(f"{disability} = 'SEVERE'")
    return " AND ".join(parts)


def _mask(bits: int) -> str:
    return f"CAST('{bits}' AS HUGEINT)"


@dataclass(frozen=True)
class _Scheme:
    code: str
    bit: int
    criteria: str | None  # SQL over people's columns; NULL when a fact is unknown
    incompatible: int  # bits of the schemes one may not receive with this one


@dataclass(frozen=True)
class _Target:
    """One series of counts: an indicator for one scheme (or any, _T)."""

    indicator: Indicator
    scheme: str
    numerator: str  # condition on the finest cells
    denominator: str | None  # condition, when the registry is the denominator


def compute(snapshot: Path, period: dt.date, indicators: list[Indicator]) -> pl.DataFrame:
    """Every indicator x area (all levels) x sex x age band x disability x scheme, with
    totals."""
    indicators = [i for i in indicators if i.process is None]  # see services
    counted = [i for i in indicators if i.statistic is None]
    vertical = [i for i in indicators if i.statistic is not None]
    period_end = add_months(period, 1) - dt.timedelta(days=1)
    con = duckdb.connect()
    for name in TABLES:
        path = snapshot / f"{name}.parquet"
        con.execute(f"CREATE VIEW {name} AS SELECT * FROM read_parquet('{path}')")
    day = f"DATE '{period_end:%Y-%m-%d}'"
    cuts = _cuts(counted)
    classes = " ".join(f"WHEN age < {cut} THEN {k}" for k, cut in enumerate(cuts))
    con.execute(f"""
        CREATE TABLE people AS
        SELECT identity, sex, age, CASE {classes} ELSE {len(cuts)} END AS age_class,
               CASE WHEN disability_level >= {SEVERE} THEN 'SEVERE' ELSE 'NOT_SEVERE' END
                 AS disability, disability_level, annual_income_minor, area_path
        FROM (SELECT *, {_age('date_of_birth', period_end)} AS age FROM persons
              WHERE person_id = identity AND date_of_birth <= {day}
                AND (date_of_death IS NULL OR date_of_death > {day}))""")
    frames = []
    if counted:
        frames.append(_counted(con, counted, cuts, day, f"DATE '{period:%Y-%m-%d}'"))
    if vertical:
        frames.append(_vertical(con, vertical, f"DATE '{period:%Y-%m-%d}'"))
    return pl.concat(frames).select(COLUMNS) if frames else pl.DataFrame(schema=COLUMNS)


TABLES = ("persons", "enrolments", "payments", "schemes", "incompatible", "population",
          "benchmarks")


def _cuts(indicators: list[Indicator]) -> list[int]:
    """Ages where some population or age band starts: between two cuts, every person is in
    or out of every indicator's population, so counts can be made per age class."""
    cuts = {low for low, _, _ in AGE_BANDS}
    for ind in indicators:
        cuts.add(ind.age_from)
        if ind.age_to is not None:
            cuts.add(ind.age_to + 1)
    return sorted(cuts - {0})


def _schemes(con: duckdb.DuckDBPyConnection) -> list[_Scheme]:
    count = con.execute("SELECT count(*) FROM schemes").fetchall()[0][0]
    if count > MAX_SCHEMES:
        raise ValueError(f"The engine handles up to {MAX_SCHEMES} schemes; there are {count}.")
    con.execute("""
        CREATE TABLE bits AS
        SELECT *, CAST(1 AS HUGEINT) << CAST(row_number() OVER (ORDER BY scheme_id) - 1
                                              AS INTEGER) AS bit
        FROM schemes""")
    rows = con.execute("""
        SELECT c.code, CAST(c.bit AS VARCHAR), c.eligible_age_from, c.eligible_age_to,
               c.eligible_sex, c.eligible_disability_from, c.income_threshold_minor,
               CAST(coalesce((SELECT bit_or(o.bit) FROM incompatible i JOIN bits o
                     ON o.scheme_id = CASE WHEN i.scheme_a = c.scheme_id THEN i.scheme_b
                                           ELSE i.scheme_a END
                     WHERE c.scheme_id IN (i.scheme_a, i.scheme_b)), 0) AS VARCHAR)
        FROM bits c ORDER BY c.scheme_id""").fetchall()
    return [_Scheme(code, int(bit), _criteria(*criteria), int(incompatible))
            for code, bit, *criteria, incompatible in rows]


def _criteria(age_from: int | None, age_to: int | None, sex: str | None,
              disability_from: int | None, income_threshold: int | None) -> str | None:
    """A scheme's declared criteria as SQL: TRUE eligible, FALSE not, NULL unknown (e.g. no
    declared income for a means test)."""
    parts = []
    if age_from is not None:
        parts.append(f"age >= {int(age_from)}")
    if age_to is not None:
        parts.append(f"age <= {int(age_to)}")
    if sex:
        parts.append(f"sex = '{'F' if sex == 'F' else 'M'}'")
    if disability_from is not None:
        parts.append(f"disability_level >= {int(disability_from)}")
    if income_threshold is not None:
        parts.append(f"annual_income_minor <= {int(income_threshold)}")
    return " AND ".join(parts) or None


def _counted(con: duckdb.DuckDBPyConnection, indicators: list[Indicator], cuts: list[int],
             day: str, start: str) -> pl.DataFrame:
    """Persons counted per indicator (coverage, administrative errors), per scheme and any."""
    schemes = _schemes(con)
    # Covered at the period's end: an enrolment in force, or a payment for the period; each
    # identity gets the set of its schemes as bits (bit_or: duplicates do no harm).
    con.execute(f"""
        CREATE TABLE combos AS
        SELECT b.identity, bit_or(c.bit) AS combo
        FROM (SELECT identity, scheme_id FROM enrolments
              WHERE status <> 'SUSPENDED' AND start_date <= {day}
                AND (end_date IS NULL OR end_date >= {day})
              UNION ALL
              SELECT identity, scheme_id FROM payments WHERE period = {start}) b
        JOIN bits c USING (scheme_id)
        GROUP BY b.identity""")
    elig, inel = _eligibility(schemes, any(i.admin_error for i in indicators))
    # The one pass over the people: to the finest cells, keyed by the sets of schemes each
    # person is covered by, eligible for and known to be ineligible for.
    con.execute(f"""
        CREATE TABLE finest AS
        SELECT area_path, sex, age_class, disability, combo, elig, inel, count(*) AS n
        FROM (SELECT p.*, {elig} AS elig, {inel} AS inel
              FROM (SELECT p.*, coalesce(k.combo, 0) AS combo
                    FROM people p LEFT JOIN combos k USING (identity)) p)
        GROUP BY ALL""")
    targets = [t for ind in indicators for t in _targets(con, ind, schemes, cuts)]
    if not targets:
        return pl.DataFrame(schema=COLUMNS)
    con.execute("CREATE TABLE cells AS SELECT area_path, sex, age_class, disability, " + ", ".join(
        f"sum(n) FILTER (WHERE {t.numerator}) AS n{k}, "
        + (f"sum(n) FILTER (WHERE {t.denominator}) AS d{k}" if t.denominator
           else f"CAST(NULL AS HUGEINT) AS d{k}")
        for k, t in enumerate(targets)) + " FROM finest GROUP BY ALL")
    bands = " ".join(f"WHEN age_class <= {_class_of(cuts, high)} THEN '{label}'"
                     for _, high, label in AGE_BANDS if high is not None)
    counts = " UNION ALL ".join(
        f"""SELECT '{t.indicator.code}' AS indicator, '{t.scheme}' AS scheme, area_path, sex,
                   CASE {bands} ELSE '{AGE_BANDS[-1][2]}' END AS age_band, disability,
                   coalesce(n{k}, 0) AS n, d{k} AS d
            FROM cells WHERE n{k} > 0 OR d{k} > 0""" for k, t in enumerate(targets))
    con.execute(f"CREATE TABLE num AS {_cube(counts, 'sum(n) AS n, sum(d) AS d', True)}")
    population = [t for t in targets if t.denominator is None
                  and t.indicator.missing_denominator is None]
    codes = sorted({t.indicator.code for t in population})
    den = " UNION ALL ".join(
        f"""SELECT '{ind.code}' AS indicator, '{TOTAL}' AS scheme, sex,
                   {_band('age')} AS age_band, '{TOTAL}' AS disability, area_path, population
            FROM population
            WHERE {_population_filter(ind, _between('age', ind.age_from, ind.age_to), 'sex',
                                      None)}"""
        for ind in indicators if ind.code in codes) or (
        "SELECT '' AS indicator, '' AS scheme, '' AS sex, '' AS age_band, '' AS disability, "
        "'' AS area_path, 0 AS population WHERE FALSE")
    con.execute(f"CREATE TABLE pop AS {_cube(den, 'sum(population) AS n', False)}")
    pairs = ", ".join(f"('{t.indicator.code}', '{t.scheme}')" for t in population) or "('', '')"
    percent = ", ".join(f"'{i.code}'" for i in indicators if i.unit == "PERCENT") or "''"
    sql = f"""
        WITH den AS (SELECT p.indicator, t.scheme, p.area_code, p.area_level, p.sex,
                            p.age_band, p.disability, p.n
                     FROM pop p JOIN (VALUES {pairs}) t(indicator, scheme) USING (indicator)),
        j AS (SELECT indicator, area_code, area_level, sex, age_band, disability, scheme,
                     CAST(coalesce(num.n, 0) AS BIGINT) AS numerator,
                     CAST(coalesce(den.n, num.d) AS BIGINT) AS denominator
              FROM num FULL JOIN den USING ({", ".join(KEYS)}))
        SELECT *, round(CASE WHEN denominator > 0 THEN CASE WHEN indicator IN ({percent})
                             THEN 100.0 * numerator / denominator ELSE numerator END END, 4)
                    AS value,
               CASE WHEN denominator IS NULL THEN 'M' ELSE 'A' END AS obs_status
        FROM j ORDER BY {", ".join(KEYS)}"""
    return _frame(con, sql)


def _class_of(cuts: list[int], age: int) -> int:
    """The age class a given age falls in."""
    return sum(1 for cut in cuts if age >= cut)


def _eligibility(schemes: list[_Scheme], needed: bool) -> tuple[str, str]:
    """SQL for the sets of schemes a person is eligible for, and known not to be: declared
    criteria hold (or fail), and no incompatible scheme is received."""
    assessed = [s for s in schemes if s.criteria] if needed else []
    if not assessed:
        return _mask(0), _mask(0)
    elig = " | ".join(
        f"CASE WHEN ({s.criteria}) IS TRUE AND (combo & {_mask(s.incompatible)}) = 0 "
        f"THEN {_mask(s.bit)} ELSE {_mask(0)} END" for s in assessed)
    inel = " | ".join(
        f"CASE WHEN ({s.criteria}) IS FALSE OR (combo & {_mask(s.incompatible)}) <> 0 "
        f"THEN {_mask(s.bit)} ELSE {_mask(0)} END" for s in assessed)
    return f"({elig})", f"({inel})"


def _targets(con: duckdb.DuckDBPyConnection, ind: Indicator, schemes: list[_Scheme],
             cuts: list[int]) -> list[_Target]:
    codes = {row[0] for row in con.execute(
        f"SELECT code FROM schemes c WHERE {_benefit_filter(ind)}").fetchall()}
    matching = [s for s in schemes if s.code in codes]
    ages = _between("age_class", _class_of(cuts, ind.age_from),
                    None if ind.age_to is None else _class_of(cuts, ind.age_to))
    pop = _population_filter(ind, ages, "sex", "disability")
    if ind.admin_error is None:
        every = [(TOTAL, sum(s.bit for s in matching))] if matching else []
        each = [(s.code, s.bit) for s in matching] if ind.by_scheme else []
        return [_Target(ind, code, f"{pop} AND (combo & {_mask(bits)}) <> 0", None)
                for code, bits in every + each]
    assessed = [(s.code, s.bit) for s in matching if s.criteria]
    if not assessed:
        return []
    found = []
    for code, bits in [(TOTAL, sum(bits for _, bits in assessed)), *assessed]:
        m = _mask(bits)
        if ind.admin_error == "exclusion":
            den = f"{pop} AND (elig & {m}) <> 0"
            # Any scheme: eligible for at least one, enrolled in none of those.
            num = f"{den} AND (elig & combo & {m}) = 0"
        else:
            # Covered, and the record answers every criterion (eligible or known not to be).
            den = f"{pop} AND (combo & (elig | inel) & {m}) <> 0"
            num = f"{den} AND (combo & inel & {m}) <> 0"
        found.append(_Target(ind, code, num, den))
    return found


def _vertical(con: duckdb.DuckDBPyConnection, indicators: list[Indicator],
              start: str) -> pl.DataFrame:
    """Statistics of what each recipient received in the period, summed across schemes, per
    area (every level) x sex. Quantiles do not add up, so these run on per-person rows: one
    query per benefit filter and population, every statistic of those at once."""
    groups: dict[tuple[str, str], list[Indicator]] = {}
    for ind in indicators:
        pop = _population_filter(ind, _between("p.age", ind.age_from, ind.age_to), "p.sex",
                                 "p.disability")
        groups.setdefault((_benefit_filter(ind), pop), []).append(ind)
    benchmarks = dict(con.execute("SELECT code, min(amount_minor) FROM benchmarks "
                                  "GROUP BY code").fetchall())
    return pl.concat([_statistics(con, benefits, pop, group, benchmarks, start)
                      for (benefits, pop), group in groups.items()])


def _statistics(con: duckdb.DuckDBPyConnection, benefits: str, pop: str,
                indicators: list[Indicator], benchmarks: dict[str, int],
                start: str) -> pl.DataFrame:
    columns = []
    for k, ind in enumerate(indicators):
        bench = benchmarks.get(ind.benchmark or "")
        above = f"count(*) FILTER (WHERE total >= {bench or 0})"
        value = {
            "median": "quantile_cont(total, 0.5) / 100.0",
            "mean": "avg(total) / 100.0",
            "share_above": f"100.0 * {above} / count(*)",
            "median_ratio": f"100.0 * quantile_cont(total, 0.5) / {bench or 1}",
        }[ind.statistic or "median"]
        numerator = above if ind.statistic == "share_above" else "count(*)"
        columns.append(f"CAST({numerator} AS BIGINT) AS n{k}, round({value}, 4) AS v{k}")
    sql = f"""
        WITH totals AS (
            SELECT b.identity, sum(b.amount_minor) AS total
            FROM payments b JOIN schemes c ON c.scheme_id = b.scheme_id
            WHERE b.period = {start} AND {benefits}
            GROUP BY b.identity),
        rows AS (
            SELECT p.sex, t.total, string_split(rtrim(p.area_path, '/'), '/') AS codes
            FROM totals t JOIN people p ON p.identity = t.identity WHERE {pop}),
        levels AS (SELECT rows.*, unnest(generate_series(1, len(codes))) AS depth FROM rows)
        SELECT codes[depth] AS area_code, CAST(depth - 1 AS BIGINT) AS area_level,
               coalesce(sex, '{TOTAL}') AS sex, CAST(count(*) AS BIGINT) AS denominator,
               {", ".join(columns)}
        FROM levels
        GROUP BY GROUPING SETS ((codes[depth], depth), (codes[depth], depth, sex))"""
    frame = _frame(con, sql)
    found = []
    for k, ind in enumerate(indicators):
        missing = ind.benchmark is not None and ind.benchmark not in benchmarks
        found.append(frame.select(
            "area_code", "area_level", "sex", "denominator",
            indicator=pl.lit(ind.code), age_band=pl.lit(TOTAL), disability=pl.lit(TOTAL),
            scheme=pl.lit(TOTAL), numerator=pl.col(f"n{k}"),
            value=pl.lit(None, pl.Float64) if missing else pl.col(f"v{k}").cast(pl.Float64),
            obs_status=pl.lit("M" if missing else "A")).select(COLUMNS))
    return pl.concat(found)


def _cube(rows: str, measures: str, with_disability: bool) -> str:
    """SQL grouping ``rows`` by indicator x scheme x every area on its path x CUBE(sex, age
    band[, disability])."""
    dims = ["sex", "age_band", "disability"] if with_disability else ["sex", "age_band"]
    base = ["indicator", "scheme", "area_code", "area_level"]
    sets = ", ".join("(" + ", ".join(base + [d for i, d in enumerate(dims) if mask >> i & 1])
                     + ")" for mask in range(2 ** len(dims)))
    return f"""
        WITH r AS ({rows}),
        levels AS (
            SELECT r.*, codes[depth] AS area_code, CAST(depth - 1 AS BIGINT) AS area_level
            FROM (SELECT r.*, unnest(generate_series(1, len(codes))) AS depth
                  FROM (SELECT r.*, string_split(rtrim(area_path, '/'), '/') AS codes
                        FROM r) r) r)
        SELECT indicator, scheme, area_code, area_level,
               coalesce(sex, '{TOTAL}') AS sex, coalesce(age_band, '{TOTAL}') AS age_band,
               {"coalesce(disability, '" + TOTAL + "')" if with_disability else f"'{TOTAL}'"}
                 AS disability, {measures}
        FROM levels
        GROUP BY GROUPING SETS ({sets})"""


def _frame(con: duckdb.DuckDBPyConnection, sql: str) -> pl.DataFrame:
    frame = pl.from_arrow(con.sql(sql).to_arrow_table())
    assert isinstance(frame, pl.DataFrame)
    return frame
