"""`spmis linkage dedupe`: link any CSV of person records, without a database."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from spmis.linkage import engine


def dedupe_csv(source: Path, target: Path, *, threshold: float = 0.5,
               progress: engine.Progress | None = None) -> int:
    """Train on the file, score its pairs, write ``id_l, id_r, match_probability`` of the
    pairs at or above ``threshold``. Returns how many pairs were written."""
    try:
        records = pl.read_csv(source, infer_schema=False, encoding="utf8-lossy")
    except (pl.exceptions.ComputeError, pl.exceptions.NoDataError) as exc:
        raise engine.LinkageError(f"Cannot read {source.name} as CSV: {exc}") from None
    prepared = engine.prepare(records)
    model = engine.train(prepared, progress=progress)
    pairs = engine.score(prepared, model, threshold=threshold)
    pairs.select("id_l", "id_r", "match_probability").sort(
        "match_probability", descending=True).write_csv(target)
    return pairs.height
