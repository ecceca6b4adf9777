"""Benchmark: `linkage run` over a synthetic country whose offices recorded people twice.

    python bench/linkage_registry.py --persons 50000 [--database-url URL]

Prints one JSON object: time of the whole run (read records, train, score, store links,
derive identities) against bare splink scoring the same prepared records with the same model,
cluster pairwise precision and recall against the known truth (a record's id in its source
carries the synthetic person's number), and the blocking's recall bound on that truth.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import resource
import sys
import time
from pathlib import Path

import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _django


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--persons", type=int, default=50_000)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    tmp = _django.setup(args.database_url)
    from django.db import connection

    from spmis.linkage.models import PersonIdentity
    from spmis.linkage.services import linkage_run
    from spmis.synth.services import country_synthesise, office_files_ingest

    files = Path(tmp.name) / "offices"
    country_synthesise(actor=None, persons=args.persons, seed=3, as_of=dt.date(2026, 6, 30),
                       replace=True, office_files=files)
    office_files_ingest(actor=None, directory=files)
    t0 = time.perf_counter()
    trained = linkage_run(actor=None, retrain=True)
    train_seconds = time.perf_counter() - t0
    marks: list[tuple[str, float]] = []
    t0 = time.perf_counter()
    run = linkage_run(actor=None,  # end to end with the saved model
                      progress=lambda step: marks.append((step, time.perf_counter())))
    seconds = time.perf_counter() - t0
    marks.append(("done", time.perf_counter()))
    steps = {step: round(marks[i + 1][1] - at, 2) for i, (step, at) in enumerate(marks[:-1])}
    # The yardstick: bare splink scoring the same prepared records with the same model.
    from splink import DuckDBAPI, Linker

    from spmis.linkage import engine
    from spmis.linkage.services import registry_records

    prepared = engine.prepare(registry_records())
    t0 = time.perf_counter()
    db = DuckDBAPI()
    spec = {k: v for k, v in trained.model.spec.items() if k != engine.SPMIS}  # ours only
    linker = Linker(db.register(prepared.frame.to_arrow()), spec, log_level="ERROR")
    bare = linker.inference.predict(threshold_match_probability=trained.model.lower)
    bare_rows = bare.as_pyarrow_table().num_rows
    bare_seconds = time.perf_counter() - t0
    rows = pl.DataFrame(list(PersonIdentity.objects.values_list(
        "person_id", "identity", "person__source_ref")), schema=["id", "identity", "ref"],
        orient="row").with_columns(truth=pl.col("ref").str.slice(1))

    def pairs(key: str) -> set[tuple[int, int]]:
        joined = rows.join(rows, on=key).filter(pl.col("id") < pl.col("id_right"))
        return set(joined.select("id", "id_right").iter_rows())

    found, truth = pairs("identity"), pairs("truth")
    hit = len(found & truth)
    # The most recall the blocking allows: true pairs some blocking rule compares.
    bound = engine.blocking_recall(prepared, trained.model.spec, pl.DataFrame(
        list(truth), schema={"id_l": pl.Int64, "id_r": pl.Int64}, orient="row"))
    print(json.dumps({
        "benchmark": "linkage_registry", "database": connection.vendor,
        "records": run.counts["records"], "train_and_run_seconds": round(train_seconds, 2),
        "run_seconds": round(seconds, 2),
        "records_per_second": round(run.counts["records"] / seconds),
        "bare_splink_seconds": round(bare_seconds, 2), "bare_splink_pairs": bare_rows,
        "ratio_to_bare_splink": round(seconds / bare_seconds, 2),
        "run_steps_seconds": steps,
        "counts": run.counts,
        "cluster_pair_precision": round(hit / len(found), 4) if found else None,
        "cluster_pair_recall": round(hit / len(truth), 4) if truth else None,
        "blocking_recall_bound": bound,
        "peak_memory_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }, indent=2))


if __name__ == "__main__":
    main()
