"""Benchmark: one large CSV submission validated and loaded. Prints one JSON object.

    python bench/intake.py --rows 1000000 [--database-url postgresql://...]

A small synthetic country provides areas and schemes; the CSV has one row per person (with a
household, an enrolment and a payment). The yardstick, timed in the same run: the normalised rows
the load wrote, removed and written again by the database's bare bulk path (COPY on PostgreSQL,
``executemany`` on SQLite) into the same tables with the same indexes and constraints.
``ratio_to_bare_load`` is the load's rate over the yardstick's (1.0: as fast).
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import logging
import resource
import sys
import time
from pathlib import Path

import numpy as np
import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _django

MAPPING = """
version: 1
source: BENCH
record: beneficiary
fields:
  person_ref: {from: id}
  household_ref: {from: hh}
  national_id: {from: nin}
  given_name: {from: first}
  family_name: {from: last}
  sex: {from: gender, codes: {"1": "M", "2": "F"}}
  date_of_birth: {from: dob, date_format: "%d/%m/%Y"}
  area: {from: commune}
  scheme: {constant: CHILD_GRANT}
  period: {from: month, date_format: "%Y-%m"}
  amount: {from: paid, unit: major}
  currency: {constant: USD}
"""


def make_csv(rows: int, communes: list[str]) -> bytes:
    rng = np.random.default_rng(7)
    days = rng.integers(0, 365 * 17, rows)
    dob = pl.Series(np.datetime64("2009-01-01") + days.astype("timedelta64[D]")).cast(pl.Date)
    frame = pl.DataFrame({
        "id": pl.int_range(0, rows, eager=True).cast(pl.String).str.zfill(8),
        "hh": (pl.int_range(0, rows, eager=True) // 4).cast(pl.String),
        "nin": pl.Series([None] * rows, dtype=pl.String),
        "first": rng.choice(["Amina", "Théo", "Kofi", "Lina"], rows),
        "last": rng.choice(["Diallo", "Nguyễn", "Okafor", "Silva"], rows),
        "gender": rng.choice(["1", "2"], rows),
        "dob": dob.dt.strftime("%d/%m/%Y"),
        "commune": rng.choice(communes, rows),
        "month": ["2026-05"] * rows,
        "paid": ["15.00"] * rows,
    })
    buffer = io.BytesIO()
    frame.write_csv(buffer, separator=";")
    return buffer.getvalue()


TABLES = ("households", "persons", "enrolments", "payments")  # in load order


class StageLog(logging.Handler):
    """Collects the load's per-stage seconds from the intake log."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.seconds: dict[str, float] = {}

    def emit(self, record: logging.LogRecord) -> None:
        name, *_rest = record.getMessage().split(":")
        self.seconds[name] = record.args[-1]  # type: ignore[index]


def yardstick(models: list, source_id: int) -> dict[str, dict[str, float]]:
    """The rows the load wrote, read back, removed, then written again with the database's bare
    bulk path (PostgreSQL COPY; SQLite one executemany per chunk) into the same tables, with
    their indexes and constraints in place, in one transaction. Seconds per table."""
    from django.db import connection, transaction

    frames = {}
    with connection.cursor() as cursor:
        for model in models:
            table = model._meta.db_table
            cursor.execute(f'SELECT * FROM "{table}" WHERE source_id = %s ORDER BY id',
                           [source_id])
            names = [c[0] for c in cursor.description]
            rows = cursor.fetchall()
            if connection.vendor == "postgresql":  # COPY's input made ready before timing
                buffer = io.BytesIO()
                pl.DataFrame(rows, schema=names, orient="row", infer_schema_length=None
                             ).write_csv(buffer, include_header=False,
                                         quote_style="non_numeric", null_value="")
                rows = buffer.getvalue()
            frames[model] = (table, names, rows)
        for model in reversed(models):
            cursor.execute(f'DELETE FROM "{model._meta.db_table}" WHERE source_id = %s',
                           [source_id])
    with connection.cursor() as cursor:  # back to the tables' state before the load
        cursor.execute("VACUUM")
    took: dict[str, dict[str, float]] = {}
    with transaction.atomic(), connection.cursor() as cursor:
        for model, name in zip(models, TABLES, strict=True):
            table, names, rows = frames[model]
            t0 = time.perf_counter()
            columns = ", ".join(f'"{c}"' for c in names)
            if connection.vendor == "postgresql":
                with cursor.cursor.copy(f'COPY "{table}" ({columns}) FROM STDIN '
                                        "WITH (FORMAT csv)") as copy:
                    copy.write(rows)
            else:
                marks = ", ".join(["%s"] * len(names))
                cursor.executemany(f'INSERT INTO "{table}" ({columns}) VALUES ({marks})', rows)
            seconds = round(time.perf_counter() - t0, 2)
            took[name] = {"rows": model.objects.filter(source_id=source_id).count(),
                          "seconds": seconds}
        t_commit = time.perf_counter()
    took["commit"] = {"seconds": round(time.perf_counter() - t_commit, 2)}
    took["total"] = {"seconds": round(sum(t["seconds"] for t in took.values()), 2)}
    return took


def bench_source() -> tuple[object, list[str]]:
    """A small synthetic country (areas and schemes) and the BENCH source with its mapping;
    returns the source and the commune P-codes rows may name."""
    from spmis.geography.models import Area
    from spmis.intake.models import Source
    from spmis.intake.services import mapping_save
    from spmis.schemes.models import Scheme
    from spmis.synth.services import country_synthesise

    country_synthesise(actor=None, persons=2000, seed=1, as_of=dt.date(2026, 5, 31),
                       replace=True)
    source = Source.objects.create(code="BENCH", name="Bench", institution="Bench", kind="NGO")
    source.schemes.set(Scheme.objects.filter(code="CHILD_GRANT"))  # the rows' scheme
    mapping_save(actor=None, source_code="BENCH", text=MAPPING)
    return source, list(Area.objects.filter(level=3).values_list("code", flat=True))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    _tmp = _django.setup(args.database_url)  # removed when the benchmark ends
    from django.db import connection

    from spmis.intake.services import LOADED_MODELS, submission_submit

    source, communes = bench_source()
    data = make_csv(args.rows, communes)

    stages = StageLog()
    logging.getLogger("spmis.intake.services").addHandler(stages)
    logging.getLogger("spmis.intake.services").setLevel(logging.INFO)
    t0 = time.perf_counter()
    done = submission_submit(actor=None, source_code="BENCH", period=dt.date(2026, 5, 1),
                             filename="bench.csv", data=data)
    seconds = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    written = sum(m.objects.filter(source__code="BENCH").count() for m in LOADED_MODELS)
    bare = yardstick(list(LOADED_MODELS), source.pk)
    ratio = bare["total"]["seconds"] / seconds
    print(json.dumps({
        "benchmark": "intake_submission",
        "database": connection.vendor,
        "rows": args.rows,
        "megabytes": round(len(data) / 2**20, 1),
        "status": done.status,
        "rows_loaded": done.rows_loaded,
        "loaded": done.message,
        "seconds": round(seconds, 2),
        "rows_per_second": round(args.rows / seconds),
        "database_rows_written": written,
        "stages_seconds": {k: round(v, 2) for k, v in stages.seconds.items()},
        "bare_load": bare,
        "bare_rows_per_second": round(args.rows / bare["total"]["seconds"]),
        "ratio_to_bare_load": round(ratio, 3),
        "peak_memory_mb": round(peak),
    }, indent=2))


if __name__ == "__main__":
    main()
