"""Benchmark: one large CSV submission validated and loaded. Prints one JSON object.

    python bench/intake.py --rows 1000000 [--database-url postgresql://...]

A small synthetic country provides areas and schemes; the CSV has one row per person (with a
household, an enrolment and a payment). On PostgreSQL the same file is also loaded with a bare
COPY into a text table, in the same run, as the yardstick.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import json
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    _tmp = _django.setup(args.database_url)  # removed when the benchmark ends
    from django.db import connection

    from spmis.geography.models import Area
    from spmis.intake.models import Source
    from spmis.intake.services import mapping_save, submission_submit
    from spmis.schemes.models import Scheme
    from spmis.synth.services import country_synthesise

    country_synthesise(actor=None, persons=2000, seed=1, as_of=dt.date(2026, 5, 31),
                       replace=True)
    source = Source.objects.create(code="BENCH", name="Bench", institution="Bench", kind="NGO")
    source.schemes.set(Scheme.objects.filter(code="CHILD_GRANT"))  # the rows' scheme
    mapping_save(actor=None, source_code="BENCH", text=MAPPING)
    communes = list(Area.objects.filter(level=3).values_list("code", flat=True))
    data = make_csv(args.rows, communes)

    copy_rate = None
    if connection.vendor == "postgresql":
        header = data.split(b"\n", 1)[0].decode().split(";")
        with connection.cursor() as cursor:
            cursor.execute("CREATE TEMP TABLE bare (" + ", ".join(f'"{c}" text' for c in header)
                           + ")")
            t0 = time.perf_counter()
            with cursor.cursor.copy("COPY bare FROM STDIN WITH (FORMAT csv, HEADER true, "
                                    "DELIMITER ';')") as copy:
                copy.write(data)
            copy_rate = args.rows / (time.perf_counter() - t0)

    t0 = time.perf_counter()
    done = submission_submit(actor=None, source_code="BENCH", period=dt.date(2026, 5, 1),
                             filename="bench.csv", data=data)
    seconds = time.perf_counter() - t0
    rate = args.rows / seconds
    from spmis.intake.services import LOADED_MODELS

    written = sum(m.objects.filter(source__code="BENCH").count() for m in LOADED_MODELS)
    print(json.dumps({
        "benchmark": "intake_submission",
        "database": connection.vendor,
        "rows": args.rows,
        "megabytes": round(len(data) / 2**20, 1),
        "status": done.status,
        "rows_loaded": done.rows_loaded,
        "loaded": done.message,
        "seconds": round(seconds, 2),
        "rows_per_second": round(rate),
        "database_rows_written": written,
        "database_rows_per_second": round(written / seconds),
        "bare_copy_rows_per_second": round(copy_rate) if copy_rate else None,
        "ratio_to_bare_copy": round(rate / copy_rate, 3) if copy_rate else None,
        "peak_memory_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }, indent=2))


if __name__ == "__main__":
    main()
