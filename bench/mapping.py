"""Benchmark: map and validate a synthetic beneficiary file. Prints one JSON object.

    python bench/mapping.py [--rows 1000000]

Builds a frame of text columns the way a CSV reader would (every column String, plus
``_row``), with a few percent of bad values, then times ``apply_mapping`` (translation,
typing and every validation rule). Peak memory is the process's maximum resident set.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import sys
import time
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from spmis.intake.mapping import apply_mapping, load_mapping

MAPPING = """
version: 1
source: BENCH
national_id_check: luhn
fields:
  person_ref:    {from: "Beneficiary ID"}
  household_ref: {from: "HH_ID"}
  national_id:   {from: "NIN"}
  given_name:    {from: "First name"}
  family_name:   {from: "Surname"}
  sex:           {from: "Gender", codes: {"M": "M", "H": "M", "1": "M", "F": "F", "2": "F"}}
  date_of_birth: {from: "DOB", date_format: "%d/%m/%Y"}
  area:          {from: "Commune code"}
  relationship_to_head: {from: "Rel", codes: {"1": "HEAD", "2": "SPOUSE", "3": "CHILD"}}
  disability_level: {from: "WG"}
  scheme:        {constant: "CHILD_GRANT"}
  enrolment_status: {from: "Status", codes: {"active": "ACTIVE"}, default: "ACTIVE"}
  enrolment_start: {from: "Enrolled"}
  period:        {from: "Month", date_format: "%Y-%m"}
  amount:        {from: "Paid", unit: "major"}
  currency:      {constant: "USD"}
extensions:
  school_grade:  {from: "Grade"}
"""


def luhn_ids(rng: np.random.Generator, n: int) -> np.ndarray:
    body = rng.integers(10**9, 10**10, n)
    digits = np.array([(body // 10**k) % 10 for k in range(10)])  # k=0 is rightmost
    doubled = np.where(np.arange(10)[:, None] % 2 == 0, digits * 2, digits)
    total = np.where(doubled > 9, doubled - 9, doubled).sum(axis=0)
    return np.char.add(body.astype(str), ((10 - total % 10) % 10).astype(str))


def frame(n: int, seed: int = 7) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    born = date(1950, 1, 1).toordinal() + rng.integers(0, 70 * 365, n)
    dob = pl.Series(born - date(1970, 1, 1).toordinal()).cast(pl.Date)
    ids = pl.Series(luhn_ids(rng, n))
    return pl.DataFrame({
        "_row": np.arange(2, n + 2),
        "Beneficiary ID": pl.Series(np.arange(n)).cast(pl.String),
        "HH_ID": pl.Series(np.arange(n) // 4).cast(pl.String),
        "NIN": ids.scatter(rng.integers(0, n, n // 100), "12345"),
        "First name": rng.choice(["Awa", "Moussa", "Fatou", ""], n),
        "Surname": rng.choice(["Diallo", "Ba", "Sow"], n),
        "Gender": rng.choice(["M", "H", "1", "F", "2", "X"], n),
        "DOB": dob.dt.strftime("%d/%m/%Y").scatter(rng.integers(0, n, n // 100), "31/02/1990"),
        "Commune code": rng.choice(["SN01", "SN02", "SN03"], n),
        "Rel": pl.Series((np.arange(n) % 4).clip(1, 3)).cast(pl.String),
        "WG": rng.choice(["0", "1", "2", "3", "9"], n),
        "Status": rng.choice(["active", "", "suspended"], n),
        "Enrolled": rng.choice(["2023-01-15", "2024-06-01", "2031-01-01"], n),
        "Month": rng.choice(["2024-05", "2024-06"], n),
        "Paid": rng.choice(["15.00", "15.10", "7.5", "-1", "abc"], n),
        "Grade": rng.choice(["1", "2", "3", ""], n),
    })


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    mapping = load_mapping(MAPPING)
    data = frame(args.rows)
    start = time.perf_counter()
    mapped, issues = apply_mapping(data, mapping, today=date(2025, 1, 1))
    seconds = time.perf_counter() - start
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({
        "rows": mapped.height,
        "issues": issues.height,
        "seconds": round(seconds, 3),
        "rows_per_second": round(mapped.height / seconds),
        "peak_memory_mb": round(peak_kb / 1024, 1),
        "polars": pl.__version__,
        "python": platform.python_version(),
    }))


if __name__ == "__main__":
    main()
