"""Benchmark: generate and load a synthetic country. Prints one JSON object.

    python bench/synth.py --persons 1000000 [--database-url postgresql://...]

Uses a fresh SQLite file in a temporary folder unless --database-url is given (that database
must be empty or hold a country; it is replaced).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--persons", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    tmp = tempfile.TemporaryDirectory()
    os.environ["SPMIS_DATABASE_URL"] = args.database_url or f"sqlite:///{tmp.name}/bench.db"
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.base"
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from spmis.synth.country import generate_country
    from spmis.synth.services import country_synthesise

    call_command("migrate", interactive=False, verbosity=0)
    as_of = dt.date(2026, 10, 31)
    t0 = time.perf_counter()
    country = generate_country(persons=args.persons, seed=args.seed, as_of=as_of,
                               months=args.months)
    generate_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    country_synthesise(actor=None, persons=args.persons, seed=args.seed, as_of=as_of,
                       months=args.months, replace=True)
    total_s = time.perf_counter() - t0
    rows = sum(country.counts().values())
    print(json.dumps({
        "benchmark": "synth",
        "database": connection.vendor,
        "persons": args.persons,
        "rows_loaded": rows,
        "counts": country.counts(),
        "generate_seconds": round(generate_s, 2),
        "seconds": round(total_s, 2),
        "persons_per_second": round(args.persons / total_s),
        "rows_per_second": round(rows / total_s),
        "peak_memory_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
    }, indent=2))


if __name__ == "__main__":
    main()
