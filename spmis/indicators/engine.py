"""The indicator engine: every indicator of the catalogue, for one period, across every
disaggregation, in DuckDB over a columnar snapshot (Parquet). Pure data work, no Django.

Snapshot tables (see :mod:`spmis.indicators.snapshot`):

- ``persons``: person_id, identity, sex, date_of_birth, date_of_death, disability_level,
  annual_income_minor, area_id, registered_on (optional)
- ``areas``: area_id, code, level, path (``XY/XY01/XY0101/``: the area and its ancestors)
- ``enrolments``: person_id, identity, scheme_id, status, start_date, end_date (an exit's
  set from its submission, see snapshot), end_date_source
- ``payments``: person_id, identity, scheme_id, period, amount_minor, currency (optional;
  amounts in one currency are summed, its ISO 4217 minor unit turns them into major units):
  the period's, and for schemes paying by quarter or year the earlier ones whose cycle may
  cover it
- ``benchmarks``: code, amount_minor (those in force at the period's end)
- ``schemes``: scheme_id, code, guarantee, function, cash, contributory, social_assistance,
  employment_injury, cycle_months (optional: see OPTIONAL), and the declared
  criteria eligible_age_from, eligible_age_to, eligible_sex, eligible_disability_from,
  income_threshold_minor (yearly)
- ``incompatible``: scheme_a, scheme_b (one may not receive both)
- ``population``: area_id, sex, age, age_to (optional), population (the period's year): single
  years of age, or bands from ``age`` to ``age_to`` (inclusive; null: open-ended). A band
  that straddles the edge of an age range gives that range no denominator (never a guessed one)

Persons are counted once per identity, with the demographics of its reference record and dead
if any of its records says so (``identities``); enrolments count when in force (``in_force``),
payments when they pay for the period (``receiving``); an area's figures include every area
below it. Every total is the sum of its disjoint parts.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl

from spmis.core.money import minor_exponent
from spmis.core.parameters import AgeBand, parameters_in_force
from spmis.core.periods import add_months
from spmis.indicators.catalogue import Indicator

TOTAL = "_T"
SEVERE = 2  # Washington Group: "a lot of difficulty" or "cannot do at all"
COLUMNS = ["indicator", "area_code", "area_level", "sex", "age_band", "disability", "scheme",
           "numerator", "denominator", "value", "obs_status", "note"]
KEYS = COLUMNS[:7]
MAX_SCHEMES = 127  # one bit each in a HUGEINT (BIGINT up to 63): a person's schemes


def age_sql(dob: str, day: dt.date) -> str:
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


def _population_filter(ind: Indicator, ages: str, sex: str, severe: str | None) -> str:
    """Who is in the indicator's population: ``ages`` (a condition), sex, severe disability
    (``severe``: a boolean column; None: a table without it, e.g. the population tables)."""
    parts = [ages]
    if ind.sex:
        parts.append(f"{sex} = '{ind.sex}'")
    if ind.severe_disability and severe is not None:
        parts.append(severe)
    return " AND ".join(parts)


def _mask(bits: int) -> str:
    """A set of schemes as an SQL literal, typed 64-bit when it fits (DuckDB widens as
    needed). Typed, not a bare number: a bare one is a 32-bit INTEGER to DuckDB, and the
    mixed-width arithmetic made the run a fifth slower (measured)."""
    kind = "BIGINT" if bits < 2**63 else "HUGEINT"
    return f"CAST('{bits}' AS {kind})"


@dataclass(frozen=True)
class _Scheme:
    code: str
    bit: int
    age_from: int | None
    age_to: int | None
    sex: str | None
    disability_from: int | None
    income_threshold: int | None
    incompatible: int  # bits of the schemes one may not receive with this one

    @property
    def assessed(self) -> bool:
        """Declares criteria the registry can check."""
        return any(v not in (None, "") for v in (self.age_from, self.age_to, self.sex,
                                                  self.disability_from,
                                                  self.income_threshold))


@dataclass(frozen=True)
class _Target:
    """One series of counts: an indicator for one scheme (or any, _T)."""

    indicator: Indicator
    scheme: str
    numerator: str  # condition on the finest cells
    denominator: str | None  # condition, when the registry is the denominator
    # With a denominator from the population tables: registry persons to take out of it
    # (condition), e.g. the working-age persons protected by a contributory scheme, who are
    # not vulnerable.
    less: str | None = None


TABLES = ("persons", "enrolments", "payments", "schemes", "incompatible", "population",
          "benchmarks", "areas")
# Columns a snapshot may lack (one written by an older version, or by hand), with what
# their absence means.
OPTIONAL = {
    "persons": {"registered_on": "CAST(NULL AS DATE)"},
    "schemes": {"social_assistance": "NOT contributory", "employment_injury": "FALSE",
                "cycle_months": "1"},
}


REFERENCE_FIELDS = ("sex", "date_of_birth", "area_id", "disability_level", "annual_income_minor")


def in_force(day: str, e: str = "") -> str:
    """The one definition of an enrolment in force on ``day`` (SQL over the snapshot's
    enrolments, alias ``e``): started by then, not suspended, and not ended before it. An
    exit ends on its end date (set from the exit's submission when the record had none,
    see snapshot); an exit with no end date at all is never in force."""
    return (f"({e}status <> 'SUSPENDED' AND {e}start_date <= {day} "
            f"AND coalesce({e}end_date >= {day}, {e}status <> 'EXITED'))")


def receiving(start: str, b: str = "b", c: str = "c") -> str:
    """A payment (alias ``b``, of scheme ``c``) that pays for the period starting ``start``:
    one for the period itself, or for an earlier period whose payment cycle covers it (a
    quarterly scheme's payment for April covers April to June: the period names the cycle's
    first month)."""
    return (f"({b}.period <= {start} AND {b}.period + to_months(CAST({c}.cycle_months AS "
            f"INTEGER)) > {start})")


def identities(day: str) -> str:
    """Every person record with its identity's facts on ``day`` (SQL over the snapshot's
    persons): ``reference`` marks the record whose demographics the identity takes (the one
    with most of sex, date of birth, area, disability level and declared income filled in;
    then the most recently registered; then the highest record id), ``dead`` whether any
    record of the identity carries a death on or before ``day``."""
    complete = " + ".join(f"CAST({c} IS NOT NULL AS INTEGER)" for c in REFERENCE_FIELDS)
    return f"""
        SELECT *, row_number() OVER (
                   PARTITION BY identity
                   ORDER BY {complete} DESC, registered_on DESC NULLS LAST,
                            person_id DESC) = 1 AS reference,
               coalesce(min(date_of_death) OVER (PARTITION BY identity) <= {day}, FALSE)
                   AS dead
        FROM persons"""

POPULATION_ROW = 2  # the disability code of population rows (population has no disability)


def compute(snapshot: Path, period: dt.date, indicators: list[Indicator],
            age_bands: tuple[AgeBand, ...] | None = None) -> pl.DataFrame:
    """Every indicator x area (all levels) x sex x age band x disability x scheme, with
    totals. ``age_bands`` default to the national parameters in force at the period's end."""
    indicators = [i for i in indicators if i.process is None]  # see services
    counted = [i for i in indicators if i.statistic is None]
    vertical = [i for i in indicators if i.statistic is not None]
    period_end = add_months(period, 1) - dt.timedelta(days=1)
    bands = age_bands or parameters_in_force(period_end).age_bands
    con = open_snapshot(snapshot)
    # Every area with each of its ancestors (itself included), for statistics that do not
    # add up (quantiles); counts are rolled up level by level (see _rollup).
    con.execute("""
        CREATE TABLE ancestors AS
        SELECT a.area_id, b.area_id AS ancestor, b.code, b.level
        FROM (SELECT area_id, unnest(string_split(rtrim(path, '/'), '/')) AS code
              FROM areas) a
        JOIN areas b ON b.code = a.code""")
    schemes = _schemes(con)
    cuts = _cuts(counted, schemes, bands)
    day = f"DATE '{period_end:%Y-%m-%d}'"
    con.execute(f"""
        CREATE TABLE people AS
        SELECT identity, sex, age, {_age_class('age', cuts)} AS age_class,
               coalesce(disability_level >= {SEVERE}, FALSE) AS severe, disability_level,
               {_income_class(schemes)} AS income_class, area_id
        FROM (SELECT *, {age_sql('date_of_birth', period_end)} AS age
              FROM ({identities(day)})
              WHERE reference AND NOT dead AND date_of_birth <= {day})""")
    frames = []
    start = f"DATE '{period:%Y-%m-%d}'"
    if counted:
        frames.append(_counted(con, counted, schemes, cuts, bands, day, start))
    if vertical:
        frames.append(_vertical(con, vertical, start))
    return pl.concat(frames).select(COLUMNS) if frames else pl.DataFrame(schema=COLUMNS)


def open_snapshot(snapshot: Path) -> duckdb.DuckDBPyConnection:
    """A connection with a view per snapshot table, optional columns filled in."""
    con = duckdb.connect()
    for name in TABLES:
        path = snapshot / f"{name}.parquet"
        con.execute(f"CREATE VIEW {name}_file AS SELECT * FROM read_parquet('{path}')")
        have = {row[0] for row in con.execute(f"DESCRIBE {name}_file").fetchall()}
        extra = "".join(f", {sql} AS {column}" for column, sql in OPTIONAL.get(name, {}).items()
                        if column not in have)
        con.execute(f"CREATE VIEW {name} AS SELECT *{extra} FROM {name}_file")
    return con


def _cuts(indicators: list[Indicator], schemes: list[_Scheme],
          bands: tuple[AgeBand, ...]) -> list[int]:
    """Ages where some population, age band or scheme's criterion starts: between two cuts,
    every person is in or out of each, so persons can be counted per age class."""
    cuts = {band.age_from for band in bands}
    groups = [(low, high) for i in indicators for low, high in i.vulnerable or ()]
    for low, high in [(i.age_from, i.age_to) for i in indicators] + groups + [
            (s.age_from or 0, s.age_to) for s in schemes]:
        cuts.add(low)
        if high is not None:
            cuts.add(high + 1)
    return sorted(cuts - {0})


def _age_class(age: str, cuts: list[int]) -> str:
    return ("CASE " + " ".join(f"WHEN {age} < {cut} THEN {k}" for k, cut in enumerate(cuts))
            + f" ELSE {len(cuts)} END")


def _class_of(cuts: list[int], age: int) -> int:
    """The age class a given age falls in."""
    return sum(1 for cut in cuts if age >= cut)


def _thresholds(schemes: list[_Scheme]) -> list[int]:
    return sorted({s.income_threshold for s in schemes if s.income_threshold is not None})


def _income_class(schemes: list[_Scheme]) -> str:
    """k when the declared income is at most the k-th means-test threshold (NULL: unknown)."""
    cases = " ".join(f"WHEN annual_income_minor <= {t} THEN {k}"
                     for k, t in enumerate(_thresholds(schemes)))
    return f"CASE WHEN annual_income_minor IS NULL THEN NULL {cases} ELSE 99 END"


def _schemes(con: duckdb.DuckDBPyConnection) -> list[_Scheme]:
    count = con.execute("SELECT count(*) FROM schemes").fetchall()[0][0]
    if count > MAX_SCHEMES:
        raise ValueError(f"The engine handles up to {MAX_SCHEMES} schemes; there are {count}.")
    kind = "BIGINT" if count <= 63 else "HUGEINT"  # 64-bit arithmetic is faster
    con.execute(f"""
        CREATE TABLE bits AS
        SELECT *, CAST(1 AS {kind}) << CAST(row_number() OVER (ORDER BY scheme_id) - 1
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
    return [_Scheme(code=row[0], bit=int(row[1]), age_from=row[2], age_to=row[3], sex=row[4],
                    disability_from=row[5], income_threshold=row[6],
                    incompatible=int(row[7])) for row in rows]


def _criteria(s: _Scheme, cuts: list[int], thresholds: list[int]) -> str:
    """A scheme's declared criteria over the finest cells: TRUE eligible, FALSE not, NULL
    unknown (no declared income for a means test, no recorded disability level)."""
    parts = []
    if s.age_from is not None or s.age_to is not None:
        parts.append(_between("age_class", _class_of(cuts, s.age_from or 0),
                              None if s.age_to is None else _class_of(cuts, s.age_to)))
    if s.sex:
        parts.append(f"sex = '{'F' if s.sex == 'F' else 'M'}'")
    if s.disability_from is not None:
        parts.append(f"disability_level >= {int(s.disability_from)}")
    if s.income_threshold is not None:
        parts.append(f"income_class <= {thresholds.index(s.income_threshold)}")
    return " AND ".join(parts)


def _counted(con: duckdb.DuckDBPyConnection, indicators: list[Indicator],
             schemes: list[_Scheme], cuts: list[int], age_bands: tuple[AgeBand, ...],
             day: str, start: str) -> pl.DataFrame:
    """Persons counted per indicator (coverage, administrative errors), per scheme and any."""
    # Each identity gets two sets of its schemes as bits (bit_or: duplicates do no harm):
    # combo, covered at the period's end (an enrolment in force, or a payment for the
    # period: COV_* and the administrative errors); paid, receiving a benefit in the period
    # (a payment for it or for the payment cycle covering it: the SDG 1.3.1 series).
    con.execute(f"""
        CREATE TABLE combos AS
        SELECT b.identity, bit_or(c.bit) FILTER (WHERE b.covered) AS combo,
               bit_or(c.bit) FILTER (WHERE b.paid) AS paid
        FROM (SELECT identity, scheme_id, TRUE AS covered, FALSE AS paid FROM enrolments e
              WHERE {in_force(day, 'e.')}
              UNION ALL
              SELECT b.identity, b.scheme_id, b.period = {start}, {receiving(start)}
              FROM payments b JOIN schemes c USING (scheme_id)) b
        JOIN bits c USING (scheme_id)
        GROUP BY b.identity""")
    # The one pass over the people: to the finest cells, keyed by everything a population
    # filter or a scheme's criteria look at, and the sets of schemes covering them.
    con.execute("""
        CREATE TABLE finest AS
        SELECT area_id, sex, age_class, severe, disability_level, income_class,
               coalesce(k.combo, 0) AS combo, coalesce(k.paid, 0) AS paid, count(*) AS n
        FROM people p LEFT JOIN combos k USING (identity)
        GROUP BY ALL""")
    elig, inel = _eligibility(schemes, cuts, any(i.admin_error for i in indicators))
    targets = [t for ind in indicators for t in _targets(con, ind, schemes, cuts)]
    if not targets:
        return pl.DataFrame(schema=COLUMNS)
    bands = " ".join(f"WHEN age_class <= {_class_of(cuts, a.age_to)} THEN {b}"
                     for b, a in enumerate(age_bands) if a.age_to is not None)
    band = f"CASE {bands} ELSE {len(age_bands) - 1} END"
    # Wide: a numerator and a denominator column per target, by area x sex x age band x
    # disability. Population rows (the population tables have no disability) are marked
    # so they count only where disability is not a dimension. Each target's counts are
    # projected first and then summed: several times faster in DuckDB than sum() FILTER.
    persons = ", ".join(
        f"CASE WHEN {t.numerator} THEN n ELSE 0 END AS n{k}, "
        + (f"CASE WHEN {t.denominator} THEN n END AS d{k}" if t.denominator
           else f"CASE WHEN {t.less} THEN -n END AS d{k}" if t.less
           else f"CAST(NULL AS BIGINT) AS d{k}") for k, t in enumerate(targets))
    population = ", ".join(f"CAST(NULL AS BIGINT) AS n{k}, {_population_sum(t, cuts)} AS d{k}"
                           for k, t in enumerate(targets))
    zeros = ", ".join(f"CAST(0 AS BIGINT) AS n{k}, CAST(0 AS BIGINT) AS d{k}"
                      for k in range(len(targets)))
    projected = _frame(con, f"""
        SELECT area_id, sex, {band} AS band, CAST(severe AS INTEGER) AS disab, {persons}
        FROM (SELECT area_id, sex, age_class, severe, combo, paid, elig, inel,
                     CAST(sum(n) AS BIGINT) AS n
              FROM (SELECT *, {elig} AS elig, {inel} AS inel FROM finest) GROUP BY ALL)
        UNION ALL
        SELECT area_id, sex, {band} AS band, {POPULATION_ROW} AS disab, {population}
        FROM (SELECT area_id, sex, {_age_class('age', cuts)} AS age_class,
                     CAST(sum(population) AS BIGINT) AS population
              FROM population GROUP BY ALL)
        UNION ALL  -- nothing, in each country: every series keeps its national total
        SELECT area_id, 'F', 0, {POPULATION_ROW}, {zeros} FROM areas WHERE level = 0""")
    # The wide sums run in Polars: DuckDB's hash aggregation is several times slower with
    # this many aggregates.
    measures = [f"{m}{k}" for k in range(len(targets)) for m in "nd"]
    cells = projected.group_by(DIMS).agg(pl.col(measures).sum())
    areas = _frame(con, """
        SELECT c.area_id, c.code, CAST(c.level AS BIGINT) AS area_level, p.area_id AS parent_id
        FROM areas c LEFT JOIN areas p
          ON p.path = substr(c.path, 1, length(c.path) - length(c.code) - 1)""")
    return _publish(_rollup(cells, areas, measures), targets, areas, age_bands,
                    _straddled(con, targets, age_bands))


DIMS = ["area_id", "sex", "band", "disab"]


def _rollup(cells: pl.DataFrame, areas: pl.DataFrame, measures: list[str]) -> pl.DataFrame:
    """Sum ``measures`` by area x CUBE(sex, band, disab), each area including every area below
    it; null marks a total. The cube is made once on each area's own rows, then added up to
    the parents a level at a time (group_by keeps nulls together): far fewer rows than
    expanding every row to all its ancestors."""
    dims = DIMS[1:]
    sums = pl.col(measures).sum()
    own = pl.concat([cells.group_by(["area_id", *(d for i, d in enumerate(dims) if mask >> i & 1)])
                     .agg(sums) for mask in range(2 ** len(dims))], how="diagonal_relaxed")
    own = own.join(areas.select("area_id", "area_level", "parent_id"), on="area_id")
    deepest: int = areas.select(pl.col("area_level").max()).item() or 0
    levels = [own.filter(pl.col("area_level") == deepest)]
    for level in range(deepest - 1, -1, -1):
        up = levels[-1].drop("area_id").rename({"parent_id": "area_id"}).select(*DIMS, *measures)
        here = pl.concat([own.filter(pl.col("area_level") == level).select(*DIMS, *measures), up],
                         how="vertical_relaxed").group_by(DIMS).agg(sums)
        levels.append(here.join(areas.select("area_id", "area_level", "parent_id"),
                                on="area_id"))
    return pl.concat([f.select(*DIMS, *measures) for f in levels], how="vertical_relaxed")


def _straddled(con: duckdb.DuckDBPyConnection, targets: list[_Target],
               age_bands: tuple[AgeBand, ...]) -> pl.DataFrame:
    """(target, band, area_id): cells whose population denominator would need part of an age
    band of the population tables (15-19 for children 0-17), in the area or any below it.
    Band -1 is the all-ages cell. Empty when the tables give single years of age."""
    empty = pl.DataFrame(schema={"target": pl.Int64, "band_key": pl.Int64,
                                 "area_id": pl.Int64})
    columns = {row[0] for row in con.execute("DESCRIBE population").fetchall()}
    if "age_to" not in columns or not con.execute(
            "SELECT count(*) FROM population WHERE age_to IS DISTINCT FROM age").fetchall()[0][0]:
        return empty
    ranges = []
    for k, t in enumerate(targets):
        ind = t.indicator
        if t.denominator is not None or ind.missing_denominator is not None:
            continue
        for b, band in [(-1, None), *enumerate(age_bands)]:
            low = max(ind.age_from, band.age_from) if band else ind.age_from
            highs = [h for h in (ind.age_to, band.age_to if band else None) if h is not None]
            high = min(highs) if highs else None
            if high is None or low <= high:
                ranges.append((k, b, low, high))
    if not ranges:
        return empty
    con.register("ranges", pl.DataFrame(ranges, schema=["target", "band_key", "low", "high"],
                                        orient="row").to_arrow())
    return _frame(con, """
        SELECT DISTINCT r.target, r.band_key, a.ancestor AS area_id
        FROM population p
        JOIN ranges r  -- the band overlaps the range ...
          ON (r.high IS NULL OR p.age <= r.high) AND (p.age_to IS NULL OR p.age_to >= r.low)
         AND NOT (p.age >= r.low  -- ... and does not lie inside it
                  AND (r.high IS NULL OR coalesce(p.age_to <= r.high, FALSE)))
        JOIN ancestors a ON a.area_id = p.area_id
        WHERE p.population > 0""").with_columns(pl.col("*").cast(pl.Int64))


def _publish(rolled: pl.DataFrame, targets: list[_Target], areas: pl.DataFrame,
             age_bands: tuple[AgeBand, ...], straddled: pl.DataFrame) -> pl.DataFrame:
    """One row per target x cell with someone counted, named as published."""
    count = len(targets)
    # unpivot stacks the columns in order: row i belongs to target i // rows.
    long = pl.concat([
        rolled.unpivot(on=[f"n{k}" for k in range(count)], index=DIMS,
                       value_name="numerator").drop("variable"),
        rolled.unpivot(on=[f"d{k}" for k in range(count)], index=[],
                       value_name="denominator").drop("variable"),
    ], how="horizontal").with_columns(
        target=pl.int_range(pl.len(), dtype=pl.Int64) // max(rolled.height, 1))
    meta = pl.DataFrame({
        "target": range(count),
        "indicator": [t.indicator.code for t in targets],
        "scheme": [t.scheme for t in targets],
        "percent": [t.indicator.unit == "PERCENT" for t in targets],
        "from_population": [t.denominator is None for t in targets],
        "missing": [t.indicator.missing_denominator for t in targets]},
        schema_overrides={"target": pl.Int64, "missing": pl.String})
    # Sums of nothing are 0: no denominator is a zero one, or one the population tables
    # cannot give for a disability (population rows carry POPULATION_ROW instead). A
    # population-based series keeps its national total even with nobody in it, so every
    # series is published (missing, with its reason, when there is no denominator).
    num, den = pl.col("numerator"), pl.col("denominator")
    national = (pl.col("area_level") == 0) & pl.col("sex").is_null() \
        & pl.col("band").is_null() & pl.col("disab").is_null() & pl.col("from_population")
    by_disability = pl.col("from_population") & pl.col("disab").is_not_null()
    frame = (long.lazy()
             .filter(pl.col("disab").ne_missing(POPULATION_ROW))
             .join(meta.lazy(), on="target")
             .join(areas.lazy().select("area_id", area_code="code", area_level="area_level"),
                   on="area_id")
             .filter((num > 0) | (den > 0) | national)
             .with_columns(band_key=pl.col("band").fill_null(-1))
             .join(straddled.lazy().with_columns(straddles=pl.lit(True)),
                   on=["target", "band_key", "area_id"], how="left")
             .with_columns(
                 denominator=pl.when((den <= 0) | by_disability
                                     | pl.col("straddles").is_not_null())
                 .then(None).otherwise(den)))
    bands = {b: band.label for b, band in enumerate(age_bands)}
    return frame.select(
        "indicator", "area_code", "area_level", pl.col("sex").fill_null(TOTAL),
        age_band=pl.col("band").replace_strict(bands, default=None).fill_null(TOTAL),
        disability=pl.col("disab").replace_strict({0: "NOT_SEVERE", 1: "SEVERE"},
                                                  default=None).fill_null(TOTAL),
        scheme="scheme", numerator=num.cast(pl.Int64), denominator=den.cast(pl.Int64),
        value=pl.when(den > 0).then(pl.when(pl.col("percent")).then(100 * num / den)
                                    .otherwise(num.cast(pl.Float64))).round(
            4, mode="half_away_from_zero"),  # as DuckDB and most readers round
        obs_status=pl.when(den.is_null()).then(pl.lit("M")).otherwise(pl.lit("A")),
        # Why a value is missing, when the catalogue says; the run adds the other reasons
        # (services.missing_notes: the population tables, a benchmark, ...).
        note=pl.when(den.is_null()).then(pl.col("missing")),
    ).collect()


def _population_sum(t: _Target, cuts: list[int]) -> str:
    """A target's denominator from the population tables, if it takes one from them."""
    ind = t.indicator
    if t.denominator is not None or ind.missing_denominator is not None:
        return "NULL"
    return f"CASE WHEN {_population_filter(ind, _ages(ind, cuts), 'sex', None)} THEN " \
           "population END"


def _ages(ind: Indicator, cuts: list[int]) -> str:
    return _between("age_class", _class_of(cuts, ind.age_from),
                    None if ind.age_to is None else _class_of(cuts, ind.age_to))


def _eligibility(schemes: list[_Scheme], cuts: list[int], needed: bool) -> tuple[str, str]:
    """SQL for the sets of schemes a cell's persons are eligible for, and known not to be:
    declared criteria hold (or fail), and no incompatible scheme is received."""
    assessed = [s for s in schemes if s.assessed] if needed else []
    if not assessed:
        return _mask(0), _mask(0)
    thresholds = _thresholds(schemes)
    elig = " | ".join(
        f"CASE WHEN ({_criteria(s, cuts, thresholds)}) IS TRUE AND "
        f"(combo & {_mask(s.incompatible)}) = 0 THEN {_mask(s.bit)} ELSE {_mask(0)} END"
        for s in assessed)
    inel = " | ".join(
        f"CASE WHEN ({_criteria(s, cuts, thresholds)}) IS FALSE OR "
        f"(combo & {_mask(s.incompatible)}) <> 0 THEN {_mask(s.bit)} ELSE {_mask(0)} END"
        for s in assessed)
    return f"({elig})", f"({inel})"


def _bits(con: duckdb.DuckDBPyConnection, schemes: list[_Scheme], where: str) -> list[_Scheme]:
    codes = {row[0] for row in con.execute(f"SELECT code FROM schemes c WHERE {where}")
             .fetchall()}
    return [s for s in schemes if s.code in codes]


def _vulnerable(con: duckdb.DuckDBPyConnection, ind: Indicator, schemes: list[_Scheme],
                cuts: list[int]) -> tuple[str, str]:
    """SDG 1.3.1 vulnerable persons, and the registry persons who are not: every child; a
    working-age person unless covered by a contributory scheme at the period's end; an older
    person unless receiving a contributory benefit in the period. Returns (vulnerable, not
    vulnerable) as conditions on the finest cells."""
    assert ind.vulnerable is not None
    contributory = _mask(sum(s.bit for s in _bits(con, schemes, "c.contributory")))
    (_, child_to), (work_from, work_to), (old_from, old_to) = ind.vulnerable

    def ages(low: int, high: int | None) -> str:
        return _between("age_class", _class_of(cuts, low),
                        None if high is None else _class_of(cuts, high))

    protected = (f"({ages(work_from, work_to)} AND (combo & {contributory}) <> 0) OR "
                 f"({ages(old_from, old_to)} AND (paid & {contributory}) <> 0)")
    vulnerable = (f"({ages(0, child_to)} OR {ages(work_from, work_to)} OR "
                  f"{ages(old_from, old_to)}) AND NOT ({protected})")
    return f"({vulnerable})", f"({protected})"


def _targets(con: duckdb.DuckDBPyConnection, ind: Indicator, schemes: list[_Scheme],
             cuts: list[int]) -> list[_Target]:
    matching = _bits(con, schemes, _benefit_filter(ind))
    pop = _population_filter(ind, _ages(ind, cuts), "sex", "severe")
    less = None
    if ind.vulnerable is not None:
        vulnerable, less = _vulnerable(con, ind, schemes, cuts)
        pop = f"{pop} AND {vulnerable}"
    if ind.admin_error is None:
        covering = "paid" if ind.coverage == "receiving" else "combo"
        every = [(TOTAL, sum(s.bit for s in matching))] if matching else []
        each = [(s.code, s.bit) for s in matching] if ind.by_scheme else []
        if not every:
            # No scheme of the kind: nobody is covered, and the series is still published
            # (all nine SDG 1.3.1 series are always there, missing ones with their reason).
            every = [(TOTAL, 0)]
        return [_Target(ind, code, f"{pop} AND ({covering} & {_mask(bits)}) <> 0", None,
                        less) for code, bits in every + each]
    assessed = [(s.code, s.bit) for s in matching if s.assessed]
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
                                 "p.severe")
        groups.setdefault((_benefit_filter(ind), pop), []).append(ind)
    benchmarks = dict(con.execute("SELECT code, min(amount_minor) FROM benchmarks "
                                  "GROUP BY code").fetchall())
    scale = 10 ** minor_exponent(_currency(con))
    return pl.concat([_statistics(con, benefits, pop, group, benchmarks, start, scale)
                      for (benefits, pop), group in groups.items()])


def _currency(con: duckdb.DuckDBPyConnection) -> str:
    """The payments' currency (the most used one), "" when the snapshot does not say."""
    columns = {row[0] for row in con.execute("DESCRIBE payments").fetchall()}
    if "currency" not in columns:
        return ""
    found = con.execute("SELECT currency FROM payments GROUP BY currency "
                        "ORDER BY count(*) DESC, currency LIMIT 1").fetchall()
    return str(found[0][0]) if found and found[0][0] else ""


def _statistics(con: duckdb.DuckDBPyConnection, benefits: str, pop: str,
                indicators: list[Indicator], benchmarks: dict[str, int],
                start: str, scale: int) -> pl.DataFrame:
    """Per area (every level) x sex: recipients, and each indicator's numerator and value.
    Amounts repeat (schemes pay set amounts), so recipients are first counted per area, sex
    and amount; medians come from the cumulative counts, exactly as quantile_cont would give
    them on per-person rows."""
    levels = sorted({benchmarks.get(i.benchmark or "") or 0 for i in indicators})
    above = {level: f"coalesce(sum(cnt) FILTER (WHERE total >= {level}), 0)" for level in levels}
    columns = []
    for k, ind in enumerate(indicators):
        bench = benchmarks.get(ind.benchmark or "") or 0
        value = {
            "median": f"median / {scale}.0",
            "mean": f"total_sum / n / {scale}.0",
            "share_above": f"100.0 * above{levels.index(bench)} / n",
            "median_ratio": f"100.0 * median / {bench or 1}",
        }[ind.statistic or "median"]
        numerator = f"above{levels.index(bench)}" if ind.statistic == "share_above" else "n"
        columns.append(f"CAST({numerator} AS BIGINT) AS n{k}, round({value}, 4) AS v{k}")
    # quantile_cont(0.5) over n sorted values: those at 0-based positions floor and ceil of
    # (n - 1) / 2, interpolated.
    sql = f"""
        WITH totals AS (
            SELECT b.identity, sum(b.amount_minor) AS total
            FROM payments b JOIN schemes c ON c.scheme_id = b.scheme_id
            WHERE b.period = {start} AND {benefits}
            GROUP BY b.identity),
        hist AS (
            SELECT p.area_id, p.sex, t.total, count(*) AS cnt
            FROM totals t JOIN people p ON p.identity = t.identity WHERE {pop}
            GROUP BY ALL),
        grouped AS (
            SELECT a.code, a.level, h.sex, h.total, sum(h.cnt) AS cnt
            FROM hist h JOIN ancestors a USING (area_id)
            GROUP BY GROUPING SETS ((a.code, a.level, h.total),
                                    (a.code, a.level, h.sex, h.total))),
        cum AS (
            SELECT *, sum(cnt) OVER (PARTITION BY code, level, sex ORDER BY total) AS upto,
                   sum(cnt) OVER (PARTITION BY code, level, sex) AS n
            FROM grouped),
        stats AS (
            SELECT code, level, sex, n, sum(total * cnt) AS total_sum,
                   {", ".join(f"{sql} AS above{i}" for i, sql in enumerate(above.values()))},
                   min(total) FILTER (WHERE upto > floor((n - 1) / 2)) AS low,
                   min(total) FILTER (WHERE upto > ceil((n - 1) / 2)) AS high
            FROM cum GROUP BY code, level, sex, n)
        SELECT code AS area_code, CAST(level AS BIGINT) AS area_level,
               coalesce(sex, '{TOTAL}') AS sex, CAST(n AS BIGINT) AS denominator,
               {", ".join(columns)}
        FROM (SELECT *, low + (high - low) * ((n - 1) / 2 - floor((n - 1) / 2)) AS median
              FROM stats)"""
    frame = _frame(con, sql)
    found = []
    for k, ind in enumerate(indicators):
        # No benchmark in force: no value, and no numerator either (not "everyone"); the
        # run says why (services.missing_notes).
        missing = ind.benchmark is not None and ind.benchmark not in benchmarks
        found.append(frame.select(
            "area_code", "area_level", "sex", "denominator",
            indicator=pl.lit(ind.code), age_band=pl.lit(TOTAL), disability=pl.lit(TOTAL),
            scheme=pl.lit(TOTAL),
            numerator=pl.lit(None, pl.Int64) if missing else pl.col(f"n{k}"),
            value=pl.lit(None, pl.Float64) if missing else pl.col(f"v{k}").cast(pl.Float64),
            obs_status=pl.lit("M" if missing else "A"),
            note=pl.lit(None, pl.String)).select(COLUMNS))
    return pl.concat(found)


def _frame(con: duckdb.DuckDBPyConnection, sql: str) -> pl.DataFrame:
    frame = pl.from_arrow(con.sql(sql).to_arrow_table())
    assert isinstance(frame, pl.DataFrame)
    return frame
