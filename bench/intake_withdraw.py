"""Benchmark: a correction of a large submission loaded, then withdrawn. Prints one JSON object.

    python bench/intake_withdraw.py --rows 1000000 [--database-url postgresql://...]

The first file (``bench/intake.py``'s) is loaded; then a correction for the same month in which
every payment's amount and one person in ten's given name change, and one row in ten is new —
so the load writes a before-image for each changed row; then the correction is withdrawn
(maker-checker), which restores the changed rows and deletes the new ones. Timed: the
correction's load and the withdrawal; checked: the database is back to the first file's rows.
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

import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _django
from intake import bench_source, make_csv

MAY = dt.date(2026, 5, 1)


def correction(data: bytes) -> bytes:
    """Every amount changed, one given name in ten, and one row in ten new."""
    frame = pl.read_csv(data, separator=";", infer_schema=False)
    tenth = pl.int_range(0, frame.height) % 10 == 0
    changed = frame.with_columns(
        paid=pl.lit("17.50"),
        first=pl.when(tenth).then(pl.col("first") + "-Marie").otherwise(pl.col("first")))
    new = frame.filter(tenth).with_columns(id="N" + pl.col("id"))
    buffer = io.BytesIO()
    pl.concat([changed, new]).write_csv(buffer, separator=";")
    return buffer.getvalue()


def snapshot(models: tuple) -> int:
    """A fingerprint of every loaded row (order-independent)."""
    total = 0
    for model in models:
        for row in model.objects.filter(source__code="BENCH").values_list():
            total ^= hash(row)
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    _tmp = _django.setup(args.database_url)  # removed when the benchmark ends
    from django.db import connection

    from spmis.access.services import role_assign, user_create
    from spmis.geography.models import Area
    from spmis.intake.models import ChangedRow
    from spmis.intake.services import LOADED_MODELS, submission_submit
    from spmis.intake.withdrawals import (
        submission_withdraw_decide,
        submission_withdraw_request,
    )

    _source, communes = bench_source()
    country = Area.objects.get(parent__isnull=True).code
    users = {}
    for name, role in (("maker", "REGISTRAR"), ("checker", "APPROVER")):
        users[name] = user_create(actor=None, username=name, password="x",
                                  check_password_strength=False)
        role_assign(actor=None, user=users[name], role=role, area_code=country)
    first = make_csv(args.rows, communes)
    submission_submit(actor=None, source_code="BENCH", period=MAY, filename="may.csv",
                      data=first)
    before = snapshot(LOADED_MODELS)

    fix = correction(first)
    t0 = time.perf_counter()
    done = submission_submit(actor=None, source_code="BENCH", period=MAY,
                             filename="may-fix.csv", data=fix)
    load_seconds = time.perf_counter() - t0
    images = ChangedRow.objects.filter(submission=done).count()

    submission_withdraw_request(actor=users["maker"], submission_id=done.pk, reason="bench")
    t0 = time.perf_counter()
    submission_withdraw_decide(actor=users["checker"], submission_id=done.pk, approve=True)
    withdraw_seconds = time.perf_counter() - t0
    print(json.dumps({
        "benchmark": "intake_withdraw",
        "database": connection.vendor,
        "rows": args.rows,
        "correction_rows": fix.count(b"\n") - 1,
        "correction": done.message,
        "correction_seconds": round(load_seconds, 2),
        "before_images": images,
        "withdraw_seconds": round(withdraw_seconds, 2),
        "withdrawn_rows_per_second": round(images / withdraw_seconds),
        "back_to_before": snapshot(LOADED_MODELS) == before,
        "peak_memory_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }, indent=2))


if __name__ == "__main__":
    main()
