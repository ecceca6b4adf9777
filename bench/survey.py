"""Benchmark: every survey estimate (quintiles, coverage, incidence, EE, IE with their CIs).

    python bench/survey.py --respondents 1000000

Generates a synthetic household survey of about that many respondents (no Django), computes
every estimate with PSUs within strata, then reads the same survey back from CSV and Stata and
times that too. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from spmis.indicators.survey import SurveyBenchmark, SurveyColumns, survey_estimates, survey_read
from spmis.synth.survey import survey_synthesise, survey_write

PERSONS_PER_HOUSEHOLD = 4.2  # about, in the synthetic survey
COLUMNS = SurveyColumns(weight="weight", welfare="welfare", benefit="benefit",
                        household="hhid", strata="stratum", psu="psu")


def as_read(sample: pl.DataFrame) -> pl.DataFrame:
    """The rows as ``survey_read`` returns them."""
    return sample.with_row_index("row", offset=1).select(
        "row", "weight", "welfare", "benefit", household="hhid",
        stratum=pl.col("stratum").cast(pl.String), psu=pl.col("psu").cast(pl.String))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--respondents", type=int, default=1_000_000)
    parser.add_argument("--no-files", action="store_true", help="Skip the file reading times.")
    args = parser.parse_args()
    t0 = time.perf_counter()
    sample = survey_synthesise(households=round(args.respondents / PERSONS_PER_HOUSEHOLD),
                               seed=1, with_population=False).sample
    generated = time.perf_counter() - t0
    frame = as_read(sample)
    import scipy.special  # noqa: F401  (imported lazily by the code; about 1 s, once a process)

    t0 = time.perf_counter()
    result = survey_estimates(frame, SurveyBenchmark.parse("q1"))
    seconds = time.perf_counter() - t0
    reads: dict[str, float] = {}
    if not args.no_files:
        with tempfile.TemporaryDirectory() as tmp:
            paths = survey_write(sample, Path(tmp))
            for ext in ("csv", "dta"):
                t0 = time.perf_counter()
                survey_read(paths[ext], COLUMNS)
                reads[f"read_{ext}_seconds"] = round(time.perf_counter() - t0, 2)
    print(json.dumps({
        "benchmark": "survey", "respondents": frame.height,
        "generate_seconds": round(generated, 2),
        "estimates": len(result.estimates), "estimate_seconds": round(seconds, 2),
        "rows_per_second": round(frame.height / seconds),
        **reads,
        "ee": round(result.get("EE").value or 0, 4), "ie": round(result.get("IE").value or 0, 4),
        "peak_memory_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }, indent=2))


if __name__ == "__main__":
    main()
