"""``spmis intake mapping check FILE [--against DATA_FILE]``: is this mapping usable?

:func:`check_file` returns plain-English problems (an empty list means OK): first the
mapping's own (see :mod:`spmis.intake.mapping`), then, with a sample data file, columns the
mapping reads that the file lacks, and values in the sample that show the mapping is
incomplete: codes its tables do not cover, dates that do not match its date_format and
amounts that do not match its unit. Other data problems (a missing name, a future date)
belong to the file, not the mapping, and are not reported here.
"""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import polars as pl

from spmis.intake.mapping import Mapping, MappingError, apply_mapping, load_mapping

SAMPLE_ROWS = 100_000
MAPPING_RULES = ("code_list", "date", "number")
EXAMPLES = 5


def check_file(path: str, *, sample: str | None = None) -> list[str]:
    """Problems with the mapping at ``path`` (and against the data file ``sample``)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return [f"{path}: cannot read the mapping: {exc}"]
    try:
        mapping = load_mapping(text)
    except MappingError as exc:
        return exc.problems
    return [] if sample is None else check_sample(mapping, sample)


def check_sample(mapping: Mapping, sample: str) -> list[str]:
    """Problems the mapping has with the first rows of the data file ``sample``."""
    try:
        frame = read_sample(sample)
    except (OSError, UnicodeDecodeError, pl.exceptions.PolarsError, ValueError) as exc:
        return [f"{sample}: cannot read the data file: {exc}"]
    try:
        _, issues = apply_mapping(frame, mapping, today=date.today())
    except MappingError as exc:
        return exc.problems
    return summarise(issues.filter(pl.col("rule").is_in(MAPPING_RULES)), frame.height)


def read_sample(path: str, rows: int = SAMPLE_ROWS) -> pl.DataFrame:
    """The first ``rows`` rows of a CSV (any common delimiter) or Parquet file, as text."""
    if path.lower().endswith(".parquet"):
        frame = pl.read_parquet(path, n_rows=rows)
        frame = frame.select(pl.all().cast(pl.String))
    else:
        frame = pl.read_csv(path, separator=_delimiter(path), infer_schema=False,
                            n_rows=rows, encoding="utf8-lossy")
    # Row numbers as a spreadsheet shows them: the header is row 1.
    return frame.with_row_index("_row", offset=2).with_columns(pl.col("_row").cast(pl.Int64))


def _delimiter(path: str) -> str:
    with open(path, encoding="utf-8", errors="replace", newline="") as handle:
        head = handle.read(64 * 1024)
    try:
        return csv.Sniffer().sniff(head, delimiters=",;\t|").delimiter
    except csv.Error:
        return ","


def summarise(issues: pl.DataFrame, total: int) -> list[str]:
    """One line per (column, rule): how many rows, and a few distinct example values."""
    grouped = (issues.group_by("column", "rule", maintain_order=True)
               .agg(pl.len().alias("rows"), pl.col("message").first(),
                    pl.col("value").drop_nulls().unique(maintain_order=True)
                    .head(EXAMPLES).alias("examples")))
    return [
        f"column {row['column']!r}: {row['rows']:,} of {total:,} sample rows, e.g. "
        f"{', '.join(repr(v) for v in row['examples'])}: {row['message']}"
        for row in grouped.iter_rows(named=True)
    ]
