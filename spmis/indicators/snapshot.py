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

# A payment's period is the first month of the cycle it pays for: how many months a cycle
# lasts, by the scheme's periodicity (any other: one month). The payments query reads as far
# back as these reach.
CYCLE_MONTHS = {"QUARTERLY": 3, "ANNUAL": 12}
CYCLE_CASES = " ".join(f"WHEN '{name}' THEN {months}" for name, months in CYCLE_MONTHS.items())

QUERIES: dict[str, tuple[str, dict[str, Any]]] = {
    "persons": ("""
        SELECT p.id, COALESCE(i.identity, p.id), p.sex, CAST(p.date_of_birth AS TEXT),
               CAST(p.date_of_death AS TEXT), p.disability_level, p.annual_income_minor,
               p.area_id, CAST(p.registered_on AS TEXT)
        FROM registry_person p LEFT JOIN linkage_personidentity i ON i.person_id = p.id""",
        {"person_id": pl.Int64, "identity": pl.Int64, "sex": pl.String,
         "date_of_birth": pl.String, "date_of_death": pl.String,
         "disability_level": pl.Int64, "annual_income_minor": pl.Int64,
         "area_id": pl.Int64, "registered_on": pl.String}),
    "areas": ("SELECT id, code, level, path FROM geography_area",
              {"area_id": pl.Int64, "code": pl.String, "level": pl.Int64, "path": pl.String}),
    # An exit without an end date ends on the first day of the period of the submission
    # that last changed the row (its lineage): the exit was reported for that month. With
    # no lineage the end date stays empty and the enrolment is never in force (engine.in_force);
    # end_date_source says which (RECORDED, EXIT_SUBMISSION, MISSING).
    "enrolments": ("""
        SELECT e.person_id, COALESCE(i.identity, e.person_id), e.scheme_id, e.status,
               CAST(e.start_date AS TEXT),
               CAST(COALESCE(e.end_date, CASE WHEN e.status = 'EXITED' THEN s.period END)
                    AS TEXT),
               CASE WHEN e.end_date IS NOT NULL THEN 'RECORDED'
                    WHEN e.status <> 'EXITED' THEN NULL
                    WHEN s.period IS NOT NULL THEN 'EXIT_SUBMISSION' ELSE 'MISSING' END
        FROM schemes_enrolment e
        LEFT JOIN linkage_personidentity i ON i.person_id = e.person_id
        LEFT JOIN intake_submission s ON s.id = e.changed_by_submission_id""",
        {"person_id": pl.Int64, "identity": pl.Int64, "scheme_id": pl.Int64,
         "status": pl.String, "start_date": pl.String, "end_date": pl.String,
         "end_date_source": pl.String}),
    # The period's payments and those of the cycles that may cover it (a quarterly scheme's
    # payment for April covers May and June): a quarter or a year back for the schemes that
    # pay so (only theirs: a monthly scheme's older payments would be read for nothing).
    "payments": ("""
        SELECT b.person_id, COALESCE(i.identity, b.person_id), b.scheme_id,
               CAST(b.period AS TEXT), b.amount_minor, b.currency
        FROM payments_benefitpayment b
        JOIN schemes_scheme s ON s.id = b.scheme_id
        LEFT JOIN linkage_personidentity i ON i.person_id = b.person_id
        WHERE b.period = %(period)s
           OR (b.period > %(quarter_start)s AND b.period < %(period)s
               AND s.periodicity = 'QUARTERLY')
           OR (b.period > %(year_start)s AND b.period < %(period)s
               AND s.periodicity = 'ANNUAL')""",  # as CYCLE_MONTHS says
        {"person_id": pl.Int64, "identity": pl.Int64, "scheme_id": pl.Int64,
         "period": pl.String, "amount_minor": pl.Int64, "currency": pl.String}),
    "schemes": (f"""
        SELECT id, code, guarantee, function, benefit_nature = 'CASH', contributory,
               eligible_age_from, eligible_age_to, eligible_sex, eligible_disability_from,
               income_threshold_minor, social_assistance, covers_employment_injury,
               CASE periodicity {CYCLE_CASES} ELSE 1 END
        FROM schemes_scheme""",
        {"scheme_id": pl.Int64, "code": pl.String, "guarantee": pl.String,
         "function": pl.String, "cash": pl.Boolean, "contributory": pl.Boolean,
         "eligible_age_from": pl.Int64, "eligible_age_to": pl.Int64,
         "eligible_sex": pl.String, "eligible_disability_from": pl.Int64,
         "income_threshold_minor": pl.Int64, "social_assistance": pl.Boolean,
         "employment_injury": pl.Boolean, "cycle_months": pl.Int64}),
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
DATES = {"persons": ("date_of_birth", "date_of_death", "registered_on"),
         "enrolments": ("start_date", "end_date"),
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
                                    "quarter_start": add_months(period, -3).isoformat(),
                                    "year_start": add_months(period, -12).isoformat(),
                                    "year": year if year is not None else -1}
    for name, (sql, schema) in QUERIES.items():
        with connection.cursor() as cursor:
            cursor.execute(sql, params if "%(" in sql else None)
            frame = pl.DataFrame(cursor.fetchall(), schema=schema, orient="row")
        frame = frame.with_columns([pl.col(c).str.slice(0, 10).str.to_date("%Y-%m-%d")
                                    for c in DATES.get(name, ())])
        frame.write_parquet(directory / f"{name}.parquet")
        counts[name] = frame.height
        if name == "enrolments":
            counts.update(exits_without_end_date(frame))
    return counts


def exits_without_end_date(enrolments: pl.DataFrame) -> dict[str, int]:
    """The data-quality check on exits, kept with the run: enrolments EXITED with no end
    date, ended at their exit's submission period, or (no lineage) never in force."""
    source = enrolments["end_date_source"]
    return {"exits_ended_by_submission": int((source == "EXIT_SUBMISSION").sum()),
            "exits_without_end_or_lineage": int((source == "MISSING").sum())}


def export_deidentified(directory: Path, period: dt.date, fmt: str) -> dict[str, int]:
    """The person-level inputs of a run, without names, IDs or dates of birth, enough to
    recompute every figure. Record and identity keys are pseudonyms: an HMAC-SHA256 of the
    database id under a random key made for this export and never stored, so the same keys
    join persons, enrolments and payments within an export and nothing links two exports.

    persons: one row per person record with its identity, ``reference_record`` (the record
    whose demographics the identity takes: engine.identities), age at the period's end,
    whether this record and whether any record of the identity carries a death by then.
    enrolments: end dates as the engine reads them (an exit's set from its submission) and
    ``in_force_at_period_end`` (engine.in_force). payments: ``for_period`` (paid for the
    period) and ``receiving_in_period`` (for it or for a payment cycle covering it)."""
    import secrets
    import tempfile

    from spmis.indicators import engine

    if fmt not in ("parquet", "csv"):
        raise ValueError("Format must be parquet or csv.")
    end = add_months(period, 1) - dt.timedelta(days=1)
    key = secrets.token_bytes(32)  # this export's only: never written anywhere
    with tempfile.TemporaryDirectory() as tmp:
        snapshot_write(Path(tmp), period, population_year(period))
        con = engine.open_snapshot(Path(tmp))
        tables = _deidentified(con, key, period, end)
    directory.mkdir(parents=True, exist_ok=True)
    for name, frame in tables.items():
        if fmt == "parquet":
            frame.write_parquet(directory / f"{name}.parquet")
        else:
            frame.write_csv(directory / f"{name}.csv")
    return {name: frame.height for name, frame in tables.items()}


def _pseudonym(key: bytes, kind: str, column: str) -> str:
    """SQL for HMAC-SHA256(key, "<kind>:<id>") in hex (RFC 2104 over DuckDB's sha256), so
    rows are keyed set-wise. ``kind`` keeps a record's and an identity's pseudonyms apart."""
    block = key.ljust(64, b"\0")
    inner, outer = (bytes(b ^ pad for b in block).hex() for pad in (0x36, 0x5C))
    message = f"encode('{kind}:' || CAST({column} AS VARCHAR))"
    return f"sha256(unhex('{outer}') || unhex(sha256(unhex('{inner}') || {message})))"


def _deidentified(con: Any, key: bytes, period: dt.date, end: dt.date) -> dict[str, pl.DataFrame]:
    from spmis.indicators import engine

    day, start = f"DATE '{end.isoformat()}'", f"DATE '{period.isoformat()}'"

    def keys(alias: str) -> str:
        return (f"{_pseudonym(key, 'person', f'{alias}.person_id')} AS person_id, "
                f"{_pseudonym(key, 'identity', f'{alias}.identity')} AS identity")

    def frame(sql: str) -> pl.DataFrame:
        found = pl.from_arrow(con.sql(sql).to_arrow_table())
        assert isinstance(found, pl.DataFrame)
        return found

    age = engine.age_sql("p.date_of_birth", end)
    tables = {
        "persons": frame(f"""
            SELECT {keys('p')}, p.reference AS reference_record, p.sex,
                   CASE WHEN p.date_of_birth <= {day} THEN {age} END AS age_at_period_end,
                   coalesce(p.date_of_birth <= {day}, FALSE) AS born_by_period_end,
                   coalesce(p.date_of_death <= {day}, FALSE) AS record_died_by_period_end,
                   NOT p.dead AS alive_at_period_end,
                   p.disability_level >= {engine.SEVERE} AS severe_disability,
                   p.disability_level, p.annual_income_minor, p.area_id, a.path AS area_path
            FROM ({engine.identities(day)}) p LEFT JOIN areas a USING (area_id)
            ORDER BY person_id"""),
        "enrolments": frame(f"""
            SELECT {keys('e')}, e.scheme_id, e.status, e.start_date, e.end_date,
                   e.end_date_source, {engine.in_force(day, 'e.')} AS in_force_at_period_end
            FROM enrolments e ORDER BY person_id, scheme_id, start_date"""),
        "payments": frame(f"""
            SELECT {keys('b')}, b.scheme_id, b.period, b.amount_minor, b.currency,
                   b.period = {start} AS for_period,
                   {engine.receiving(start)} AS receiving_in_period
            FROM payments b JOIN schemes c USING (scheme_id)
            ORDER BY person_id, scheme_id, period"""),
        "population": frame("""
            SELECT p.*, a.path AS area_path FROM population p
            LEFT JOIN areas a USING (area_id)"""),
    }
    for name in ("areas", "schemes", "incompatible", "benchmarks"):
        tables[name] = frame(f"SELECT * FROM {name}")
    return tables
