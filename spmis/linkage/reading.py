"""Reading a file of person records for linkage, as intake reads a submission.

One reader: the bytes go through :func:`spmis.intake.parsers.parse_file` (UTF-8 with or without
BOM, or Windows-1252; ``,`` ``;`` tab or ``|``; the header found below title rows; blank rows
dropped; XLSX and JSON too). Then the columns are matched to the engine's by name, case,
accents, spaces, underscores and brackets ignored, in the languages of intake's mapping draft
(``Given Name``, ``first_name``, ``DOB``, ``Prénom``, ``Fecha de nacimiento`` …), and dates of
birth written in any common way are turned into ISO ``YYYY-MM-DD`` strings (:func:`read_dates`).

Dates are read set-wise with Polars expressions. A date is three numbers (``1980-04-03``,
``03/04/1980``, ``3.4.80``, ``03-04-1980``, optionally followed by a time) or eight digits
(``19800403``, always year, month, day). A four-digit part is the year, wherever it is; a
year first is followed by month then day. When the year is last, the file's *date order* says
whether day or month comes first: given (``dmy``, ``mdy``), or detected from the values whose
first part is above 12 (day first) or whose second part is (month first); when no value
decides, day first is assumed and said. With only two-digit parts the year is last, unless
the order is ``ymd``. A two-digit year is the latest year ending in those digits that is not
after ``latest_year`` (this year by default: nobody is born in the future), so with 2025,
``25`` is 2025 and ``26`` is 1926. Dates outside 1900-2100 or not in the calendar are
unreadable: the record keeps linking on its other fields, and the count is reported.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from spmis.core.periods import EARLIEST, LATEST
from spmis.intake import draft, parsers
from spmis.linkage.engine import OPTIONAL, REQUIRED, LinkageError

DATE_ORDERS = ("dmy", "mdy", "ymd")
EXAMPLES = 3
# Three numbers split by - / . or a space, maybe a time after them (spreadsheet exports).
# ASCII digits only: \d would take other scripts' digits too, which a cast cannot read.
N = "[0-9]"
SPLIT = (rf"^({N}{{1,4}})[-/. ]({N}{{1,2}})[-/. ]({N}{{1,4}})"
         rf"(?:[ T]{N}{{1,2}}:{N}{{2}}(?::{N}{{2}}(?:\.{N}+)?)?)?$")
COMPACT = rf"^({N}{{4}})({N}{{2}})({N}{{2}})$"
# The engine's fields and the mapping draft's names for them (one list of names for both).
DRAFT_FIELD = {"id": "person_ref", "given_name": "given_name", "surname": "family_name",
               "date_of_birth": "date_of_birth", "sex": "sex", "area": "area",
               "national_id": "national_id", "address": "address"}
ORDER_WORDS = {"dmy": "day first (dd/mm/yyyy)", "mdy": "month first (mm/dd/yyyy)"}


@dataclass(frozen=True)
class Records:
    """The records with the engine's column names and ISO dates, and what reading decided
    (``notes``) or could not do (``warnings``), in words for the person who sent the file."""

    frame: pl.DataFrame
    notes: tuple[str, ...]
    warnings: tuple[str, ...]


@dataclass(frozen=True)
class DateReport:
    order: str          # the day/month order used for dates with the year last: dmy or mdy
    basis: str          # "given", "detected" or "assumed"
    day_first: int      # values that can only be day first (first part above 12)
    month_first: int    # values that can only be month first (second part above 12)
    either_way: int     # values whose day and month could be swapped (both 12 or less)
    either_way_examples: tuple[str, ...]
    unreadable: int
    unreadable_examples: tuple[str, ...]


# --- the file --------------------------------------------------------------------------


def read_records(path: Path, *, date_order: str | None = None,
                 latest_year: int | None = None) -> Records:
    """Read a person file; raise :class:`LinkageError` with a message when it cannot be."""
    parsed = _parse(path)
    columns = [c for c in parsed.frame.columns if c != parsers.ROW]
    fields = match_header(columns)
    missing = [c for c in REQUIRED if c not in fields]
    if missing:
        raise LinkageError(missing_message(missing, columns, fields))
    frame = parsed.frame.select([pl.col(col).alias(field) for field, col in fields.items()])
    dates, report = read_dates(frame["date_of_birth"], order=date_order,
                               latest_year=latest_year or dt.date.today().year)
    notes = [_file_note(path, parsed, frame.height), *_header_notes(fields),
             *(_without_mapping_advice(n) for n in parsed.notes), *date_notes(report)]
    return Records(frame.with_columns(dates), tuple(n for n in notes if n),
                   tuple(date_warnings(report)))


def _parse(path: Path) -> parsers.Parsed:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise LinkageError(f"Cannot read {path.name}: {exc.strerror or exc}.") from None
    # Any other name is read as CSV text (intake would refuse a file without an extension).
    name = path.name if path.suffix.lower() in parsers.EXTENSIONS else f"{path.name}.csv"
    try:
        return parsers.parse_file(data, filename=name)
    except parsers.ParseError as exc:
        raise LinkageError(f"{path.name}: {exc}") from None


def _file_note(path: Path, parsed: parsers.Parsed, rows: int) -> str:
    how = [parsed.format.upper()]
    if parsed.delimiter:
        how.append(f"{parsers.DELIMITER_NAMES[parsed.delimiter]}-separated")
    if parsed.encoding:
        how.append({"utf-8": "UTF-8", "utf-8-sig": "UTF-8 with BOM",
                    "cp1252": "Windows-1252, not UTF-8"}.get(parsed.encoding, parsed.encoding))
    return f"Read {rows:,} records from {path.name} ({', '.join(how)})."


def _without_mapping_advice(note: str) -> str:
    # Intake's notes end by saying what to write in a mapping; dedupe has none.
    return re.sub(r"\s*Write '[^']*' in the mapping to (say so|keep them)\.$", "", note)


# --- the header ------------------------------------------------------------------------


def accepted_names(field: str) -> tuple[str, ...]:
    """The normalised column names read as ``field``: its own name first."""
    return (draft.normalise(field), *draft.NAMES[DRAFT_FIELD[field]])


def match_header(columns: Sequence[str]) -> dict[str, str]:
    """Engine field -> the file's column. A column named as the field wins over one named as
    a variant (``date_of_birth`` over ``DOB``); among variants the leftmost; each column
    is used once."""
    normal = {c: draft.normalise(c) for c in columns}
    chosen: dict[str, str] = {}
    for own_name_only in (True, False):
        for field in (*REQUIRED, *OPTIONAL):
            names = accepted_names(field)[:1] if own_name_only else accepted_names(field)
            column = next((c for c in columns if normal[c] in names
                           and c not in chosen.values()), None)
            if field not in chosen and column is not None:
                chosen[field] = column
    return {f: chosen[f] for f in (*REQUIRED, *OPTIONAL) if f in chosen}


def _header_notes(fields: dict[str, str]) -> list[str]:
    renamed = [f"'{col}' as {field}" for field, col in fields.items() if col != field]
    return [f"Columns read: {', '.join(renamed)}."] if renamed else []


def missing_message(missing: Sequence[str], columns: Sequence[str],
                    fields: dict[str, str]) -> str:
    """Which columns are missing, which were found, and the likely cause."""
    found = ", ".join(f"'{c}'" for c in columns)
    lines = [f"Missing column(s): {', '.join(missing)}. The file's columns are {found}."]
    if len(columns) == 1:
        lines.append(_one_column_hint(columns[0]))
    unused = [c for c in columns if c not in fields.values()]
    for field in missing:
        near = next((c for c in unused if difflib.get_close_matches(
            draft.normalise(c), accepted_names(field), n=1, cutoff=0.75)), None)
        if near:
            lines.append(f"'{near}' looks like {field}: rename it {field}.")
    lines.append(f"The records need {', '.join(REQUIRED)} (and may have {', '.join(OPTIONAL)}); "
                 "names such as 'Given Name', 'first_name' or 'DOB' are recognised.")
    return " ".join(lines)


def _one_column_hint(column: str) -> str:
    seps = [s for s in (":", ",", ";", "\t", "|", " ") if s in column.strip()]
    if seps:
        shown = {"\t": "tab", " ": "space"}.get(seps[0], repr(seps[0]))
        return (f"The whole header is one column containing {shown}: the file's columns are "
                "not separated by , ; tab or |. Save it again as CSV with one of these.")
    return "The file has a single column: are its columns separated by , ; tab or |?"


# --- dates -----------------------------------------------------------------------------


def read_dates(values: pl.Series, *, order: str | None, latest_year: int
               ) -> tuple[pl.Series, DateReport]:
    """The values as ISO ``YYYY-MM-DD`` strings (null when empty or unreadable), and what
    was decided and found."""
    if order is not None and order not in DATE_ORDERS:
        raise LinkageError(f"The date order is one of {', '.join(DATE_ORDERS)}, not {order!r}.")
    # Each distinct value is parsed once (a file has far fewer birthdays than records).
    text = values.rename("text").str.strip_chars().replace("", None).to_frame()
    parts = _parts(text.unique(), year_first_short=order == "ymd")
    both = text.join(
        parts.select("text", dmy=_iso(True, latest_year), mdy=_iso(False, latest_year)),
        on="text", how="left", nulls_equal=True, maintain_order="left")
    # Evidence: a value that is a date in one order only (day or month above 12).
    day_first = both.filter(pl.col("dmy").is_not_null() & pl.col("mdy").is_null()).height
    month_first = both.filter(pl.col("mdy").is_not_null() & pl.col("dmy").is_null()).height
    if order in ("dmy", "mdy"):
        used, basis = order, "given"
    elif day_first or month_first:
        used, basis = ("dmy" if day_first >= month_first else "mdy"), "detected"
    else:
        used, basis = "dmy", "assumed"
    unreadable = both.filter(pl.col("text").is_not_null() & pl.col(used).is_null())
    either = both.filter(pl.col("dmy") != pl.col("mdy"))
    report = DateReport(used, basis, day_first, month_first, either.height,
                        _examples(either), unreadable.height, _examples(unreadable))
    return both[used].rename(values.name), report


def _parts(frame: pl.DataFrame, *, year_first_short: bool) -> pl.DataFrame:
    """Each value's three numbers ``a, b, c`` (as written) and whether the year is first."""
    text = pl.col("text")
    split, compact = text.str.extract_groups(SPLIT), text.str.extract_groups(COMPACT)
    frame = frame.with_columns(
        [pl.coalesce(split.struct.field(k), compact.struct.field(k)).alias(f"{name}_text")
         for k, name in (("1", "a"), ("2", "b"), ("3", "c"))])
    short = (pl.col("a_text").str.len_chars() <= 2) & (pl.col("c_text").str.len_chars() <= 2)
    return frame.with_columns(
        year_first=(pl.col("a_text").str.len_chars() >= 3) | (short & year_first_short),
        **{n: pl.col(f"{n}_text").cast(pl.Int32) for n in "abc"})


def _iso(day_first: bool, latest_year: int) -> pl.Expr:
    first = pl.col("year_first")
    year = pl.when(first).then(pl.col("a")).otherwise(pl.col("c"))
    year_digits = pl.when(first).then(pl.col("a_text")).otherwise(pl.col("c_text"))
    # A two-digit year is the latest year with those last digits not after latest_year.
    year = pl.when(year_digits.str.len_chars() <= 2).then(
        latest_year - (latest_year - year) % 100).otherwise(year)
    day_part, month_part = (pl.col("a"), pl.col("b")) if day_first else (pl.col("b"), pl.col("a"))
    month = pl.when(first).then(pl.col("b")).otherwise(month_part)
    day = pl.when(first).then(pl.col("c")).otherwise(day_part)
    text = pl.format("{}-{}-{}", year.cast(pl.String).str.zfill(4),
                     month.cast(pl.String).str.zfill(2), day.cast(pl.String).str.zfill(2))
    date = text.str.to_date("%Y-%m-%d", strict=False)
    bounded = pl.when(date.is_between(EARLIEST, LATEST)).then(date)
    return bounded.dt.strftime("%Y-%m-%d")


def _examples(frame: pl.DataFrame) -> tuple[str, ...]:
    return tuple(frame["text"].unique(maintain_order=True).head(EXAMPLES).to_list())


def _shown(examples: Sequence[str]) -> str:
    return ", ".join(f"'{e}'" for e in examples)


def date_notes(report: DateReport) -> list[str]:
    """What was decided about the dates, when there was something to decide."""
    if report.basis != "detected" or not (report.either_way or report.order == "mdy"):
        return []
    other = report.month_first if report.order == "dmy" else report.day_first
    said = "day" if report.order == "dmy" else "month"
    counts = report.day_first if report.order == "dmy" else report.month_first
    note = (f"Dates read {ORDER_WORDS[report.order]}: {counts:,} date(s) have a {said} above "
            f"12; {report.either_way:,} other(s) could be read either way and were read so.")
    if other:
        note += f" ({other:,} date(s) only fit the other order and are unreadable.)"
    return [note]


def date_warnings(report: DateReport) -> list[str]:
    """Unreadable dates, and an order assumed because nothing in the file decides it."""
    warnings = []
    if report.basis == "assumed" and report.either_way:
        warnings.append(
            f"Warning: {report.either_way:,} date(s) of birth are ambiguous (such as "
            f"{_shown(report.either_way_examples)}): no date in the file has a day or month "
            f"above 12, so they were read {ORDER_WORDS['dmy']}. If the file writes the month "
            "first, run again with --date-order mdy.")
    if report.unreadable:
        warnings.append(
            f"Warning: {report.unreadable:,} date(s) of birth could not be read (such as "
            f"{_shown(report.unreadable_examples)}) and count as missing: those records are "
            "linked on their other fields.")
    return warnings
