"""``spmis intake mapping check FILE [--against DATA_FILE]``: is this mapping usable?

:func:`check_report` returns plain-English problems (none means OK), warnings and notes:
first the mapping's own problems (see :mod:`spmis.intake.mapping`) and warnings (codes tables
that may mean different things, such as ``M`` next to ``H`` for sex); then, with a data file,
what reading it says. The data file is read exactly as a submission reads it
(:func:`spmis.intake.mapping.read_data`: encoding, delimiter, header row, group prefixes,
types), so a file that passes the check is read the same way by ``submit``. Its problems are
columns the mapping reads that the file lacks, a file that cannot be read, rows of the wrong
shape, and values that show the mapping is incomplete: codes its tables do not cover, dates
that do not match its date_format and amounts that do not match its unit or number
convention. Other data problems (a missing name, a future date) belong to the file, not the
mapping, and are not reported here. Notes say what reading decided (the header row found
below a title, group prefixes stripped). A Parquet file is read as it is (no header search).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import polars as pl

from spmis.intake.mapping import (
    Mapping,
    MappingError,
    apply_mapping,
    code_warnings,
    load_mapping,
    read_data,
)
from spmis.intake.parsers import ParseError

SAMPLE_ROWS = 100_000
MAPPING_RULES = ("code_list", "date", "number", "row_shape")
EXAMPLES = 5


@dataclass
class Report:
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def check_file(path: str, *, sample: str | None = None) -> list[str]:
    """Problems with the mapping at ``path`` (and against the data file ``sample``)."""
    return check_report(path, sample=sample).problems


def check_report(path: str, *, sample: str | None = None) -> Report:
    """Problems, warnings and notes for the mapping at ``path`` (and the data ``sample``)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return Report(problems=[f"{path}: cannot read the mapping: {exc}"])
    try:
        mapping = load_mapping(text)
    except MappingError as exc:
        return Report(problems=exc.problems)
    report = Report(warnings=code_warnings(mapping))
    if sample is not None:
        check_sample_into(mapping, sample, report)
    return report


def check_sample(mapping: Mapping, sample: str) -> list[str]:
    """Problems the mapping has with the data file ``sample``."""
    report = Report()
    check_sample_into(mapping, sample, report)
    return report.problems


def check_sample_into(mapping: Mapping, sample: str, report: Report) -> None:
    try:
        if sample.lower().endswith(".parquet"):
            frame = read_sample(sample)
            _, issues = apply_mapping(frame, mapping, today=date.today())
            total = frame.height
        else:
            read = read_data(Path(sample).read_bytes(), filename=Path(sample).name,
                             mapping=mapping, today=date.today())
            issues, total = read.issues, read.parsed.frame.height
            report.notes += read.notes
    except ParseError as exc:
        report.problems.append(f"{sample}: {exc}")
        return
    except MappingError as exc:
        report.problems += exc.problems
        return
    except (OSError, pl.exceptions.PolarsError) as exc:
        report.problems.append(f"{sample}: cannot read the data file: {exc}")
        return
    report.problems += summarise(issues.filter(pl.col("rule").is_in(MAPPING_RULES)), total)


def read_sample(path: str, rows: int = SAMPLE_ROWS) -> pl.DataFrame:
    """The first ``rows`` rows of a Parquet file, as text."""
    frame = pl.read_parquet(path, n_rows=rows).select(pl.all().cast(pl.String))
    # Row numbers as a spreadsheet shows them: the header is row 1.
    return frame.with_row_index("_row", offset=2).with_columns(pl.col("_row").cast(pl.Int64))


def summarise(issues: pl.DataFrame, total: int) -> list[str]:
    """One line per (column, rule): how many rows, and a few distinct example values (rows
    for a row's shape)."""
    grouped = (issues.group_by("column", "rule", maintain_order=True)
               .agg(pl.len().alias("rows"), pl.col("message").first(),
                    pl.col("value").drop_nulls().unique(maintain_order=True)
                    .head(EXAMPLES).alias("examples"),
                    pl.col("_row").head(EXAMPLES).alias("at")))
    return [
        (f"column {row['column']!r}: {row['rows']:,} of {total:,} sample rows, e.g. "
         f"{', '.join(repr(v) for v in row['examples'])}: {row['message']}")
        if row["rule"] != "row_shape" else
        (f"row shape: {row['rows']:,} of {total:,} sample rows (row "
         f"{', '.join(str(r) for r in row['at'])}), e.g. {row['message']}")
        for row in grouped.iter_rows(named=True)
    ]
