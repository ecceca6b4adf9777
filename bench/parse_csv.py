"""Benchmark: parse a generated 1,000,000-row, 12-column CSV (~100 MB); print JSON.

Usage: .venv/bin/python bench/parse_csv.py [rows]
"""

from __future__ import annotations

import json
import random
import resource
import sys
import time

from spmis.intake.parsers import parse_file

COLUMNS = [
    "source_ref", "household_ref", "nin", "given_name", "family_name", "sex",
    "date_of_birth", "commune", "relationship", "phone", "month", "amount",
]  # fmt: skip
GIVEN = ["Amélie", "Théo", "Nguyễn", "Sébastien", "Aïcha", "John", "Mary", "Kwame"]
FAMILY = ["Dubois", "Okello", "Tran", "Martin", "Diallo", "Smith; Jr", "N'Diaye", "Lee"]


def _row(i: int, rnd: random.Random) -> str:
    return ",".join(
        [
            f"B{i:08d}",
            f"H{i // 4:07d}",
            f"{rnd.randrange(10**11, 10**12)}",
            rnd.choice(GIVEN),
            f'"{rnd.choice(FAMILY)}"',
            rnd.choice("FM"),
            f"{rnd.randint(1, 28):02d}/{rnd.randint(1, 12):02d}/{rnd.randint(1940, 2024)}",
            f"C{rnd.randint(1, 999):03d}",
            rnd.choice(["CM", "EN", "SP", "OT"]),
            f"+2567{rnd.randrange(10**7, 10**8)}",
            "2026-05",
            f"{rnd.randint(1000, 99999) / 100:.2f}",
        ]
    )


def generate(rows: int, seed: int = 7) -> bytes:
    rnd = random.Random(seed)
    lines = [",".join(COLUMNS), *(_row(i, rnd) for i in range(rows))]
    return ("\r\n".join(lines) + "\r\n").encode("utf-8")


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def main() -> None:
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    data = generate(rows)
    before = _peak_mb()
    start = time.perf_counter()
    parsed = parse_file(data, filename="bench.csv")
    seconds = time.perf_counter() - start
    assert parsed.frame.height == rows, parsed.frame.height
    print(
        json.dumps(
            {
                "rows": rows,
                "columns": len(COLUMNS),
                "mb": round(len(data) / 1024 / 1024, 1),
                "seconds": round(seconds, 2),
                "rows_per_s": round(rows / seconds),
                "peak_rss_mb_before_parse": round(before),
                "peak_rss_mb": round(_peak_mb()),
            }
        )
    )


if __name__ == "__main__":
    main()
