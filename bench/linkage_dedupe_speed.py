"""Benchmark: `spmis linkage dedupe` against a generic splink model on the same file.

    python bench/linkage_dedupe_speed.py [--records 200000] [--seed 7]

One person file from bench/linkage_people.py (about --records records) is deduplicated twice
in one run: by `spmis linkage dedupe`'s own function, and by a generic, untuned splink model
of the kind its documentation shows (name, date-of-birth, exact and Levenshtein comparisons,
five blocking rules, u by random sampling, two EM passes). Prints one JSON object: seconds,
the ratio, and pairwise precision, recall and F1 of each at p >= 0.5.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from linkage_people import evaluate, generate


def generic_splink(frame: pl.DataFrame) -> pl.DataFrame:
    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    records = frame.rename({"id": "unique_id"}).with_columns(
        pl.col("date_of_birth").replace("", None), pl.col("national_id").replace("", None))
    settings = SettingsCreator(
        link_type="dedupe_only",
        comparisons=[
            cl.NameComparison("given_name").configure(term_frequency_adjustments=True),
            cl.NameComparison("surname").configure(term_frequency_adjustments=True),
            cl.DateOfBirthComparison("date_of_birth", input_is_string=True,
                                     datetime_format="%Y-%m-%d"),
            cl.ExactMatch("sex"), cl.ExactMatch("area"),
            cl.LevenshteinAtThresholds("address", [2]),
            cl.LevenshteinAtThresholds("national_id", [1])],
        blocking_rules_to_generate_predictions=[
            block_on("national_id"), block_on("given_name", "surname"),
            block_on("date_of_birth"), block_on("surname", "area"),
            block_on("address", "area")])
    linker = Linker(DuckDBAPI().register(records.to_arrow()), settings, log_level="ERROR")
    linker.training.estimate_probability_two_random_records_match(
        [block_on("given_name", "surname", "date_of_birth")], recall=0.7)
    linker.training.estimate_u_using_random_sampling(max_pairs=1e6, seed=1)
    for rule in (block_on("given_name", "surname"), block_on("date_of_birth")):
        linker.training.estimate_parameters_using_expectation_maximisation(rule)
    found = pl.from_arrow(linker.inference.predict(threshold_match_probability=0.5)
                          .as_pyarrow_table())
    assert isinstance(found, pl.DataFrame)
    return found.select(id_l="unique_id_l", id_r="unique_id_r",
                        match_probability="match_probability")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    from spmis.linkage.dedupe import dedupe_csv

    frame, truth = generate(int(args.records / 1.55), args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        source, target = Path(tmp) / "people.csv", Path(tmp) / "pairs.csv"
        frame.write_csv(source)
        t0 = time.perf_counter()
        dedupe_csv(source, target, threshold=0.5)
        ours_seconds = time.perf_counter() - t0
        ours = pl.read_csv(target, schema_overrides={"id_l": pl.String, "id_r": pl.String})
    t0 = time.perf_counter()
    generic = generic_splink(frame)
    generic_seconds = time.perf_counter() - t0
    print(json.dumps({
        "benchmark": "linkage_dedupe_speed", "records": frame.height, "seed": args.seed,
        "dedupe_seconds": round(ours_seconds, 2),
        "generic_splink_seconds": round(generic_seconds, 2),
        "ratio_to_generic_splink": round(ours_seconds / generic_seconds, 3),
        "dedupe": evaluate(ours, truth, 0.5),
        "generic_splink": evaluate(generic, truth, 0.5)}, indent=2))


if __name__ == "__main__":
    main()
