"""Turn an uploaded file's bytes into a table of strings.

Pure Python (no Django). Every parser returns a Polars DataFrame whose data columns are
all ``pl.String`` (values as in the file, stripped of surrounding whitespace, empty cells
as null) plus ``_row``: the 1-based row number a user would see in the file (the header is
row 1 in CSV and XLSX; for JSON it is the 1-based index in the array).

The header row is the first row whose cells are mostly filled and text-like, so title rows
and blank rows above it are skipped (and a note says so); ``header_row`` names it instead.
Group prefixes (``household/member/name`` -> ``name``) are stripped only from ODK/KoBoToolbox
exports, recognised by their marker columns (``_uuid``, ``_submission_time``, ``_index``,
``meta/instanceID``, ``__version__``...) or declared with ``groups="strip"``; an ordinary
CSV's ``Sexo (H/M)`` stays as it is. With ``shape_issues=True`` a CSV row with fewer values
than the header names (or more non-blank values than the header has) is an issue of rule
``row_shape`` in :attr:`Parsed.issues`, the rest of the file being read; otherwise it refuses
the file.

Nothing is ever evaluated: a cell such as ``=HYPERLINK(...)`` stays text. Use
:func:`neutralise_cell` before writing values back out to a spreadsheet.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import zipfile
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from spmis.core.jsondepth import json_depth

__all__ = ["MAX_BYTES", "ParseError", "Parsed", "neutralise_cell", "parse_file"]

MAX_BYTES = 512 * 1024 * 1024
MiB = 1024 * 1024
ROW = "_row"
DELIMITERS = (",", ";", "\t", "|")
DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
UNIT_SEP = "\x1f"  # never in a CSV value: splits a text into lines with Polars' reader
SNIFF_CHARS = 64 * 1024
SNIFF_RECORDS = 50
ZIP_MAGIC = b"PK\x03\x04"
EMPTY_ZIP_MAGIC = b"PK\x05\x06"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
JSON_MAX_DEPTH = 64  # records, their groups (ODK), lists of values: a few levels in practice
ZIP_MAX_TOTAL = 1024 * MiB
ZIP_MAX_FACTOR = 20
ZIP_MAX_RATIO = 200
ZIP_RATIO_FLOOR = MiB  # members smaller than this cannot hurt, whatever their ratio
ODK_META = frozenset({"meta/instanceID", "_uuid", "_index", "KEY", "_submission_time",
                      "__version__", "_submission__id", "_submission__uuid", "_parent_index",
                      "_validation_status", "formhub/uuid", "meta/rootUuid", "SubmissionDate",
                      "__id"})
GROUPS = ("strip", "keep")
HEADER_SNIFF_ROWS = 50
# Not text-like (for finding the header): numbers, amounts and dates.
NUMBER_OR_DATE = r"^[-+]?[0-9][0-9 .,/:'\-]*$"
ISSUE_SCHEMA: dict[str, pl.DataType] = {
    ROW: pl.Int64(), "column": pl.String(), "value": pl.String(), "rule": pl.String(),
    "message": pl.String(),
}
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
EXTENSIONS = {".csv": "csv", ".txt": "csv", ".xlsx": "xlsx", ".json": "json"}

Cell = str | None


class ParseError(ValueError):
    """The file cannot be read; the message says what is wrong and what to do."""


@dataclass(frozen=True)
class Parsed:
    frame: pl.DataFrame
    format: str
    encoding: str | None = None
    delimiter: str | None = None
    sheets: dict[str, pl.DataFrame] = field(default_factory=dict)
    notes: tuple[str, ...] = ()  # what was decided about the file: header row, groups
    issues: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=ISSUE_SCHEMA))


def neutralise_cell(value: str) -> str:
    """Prefix ``'`` so a spreadsheet shows the value as text instead of running it."""
    return "'" + value if value.startswith(FORMULA_PREFIXES) else value


def parse_file(data: bytes, *, filename: str, max_bytes: int = MAX_BYTES,
               header_row: int | None = None, groups: str | None = None,
               shape_issues: bool = False) -> Parsed:
    """Parse an uploaded file; raise :class:`ParseError` with a user-facing message.

    ``header_row``: the row (1-based, as the file counts it) that names the columns; by
    default found below any title and blank rows. ``groups``: ``"strip"`` or ``"keep"``
    ODK/Kobo group prefixes; by default stripped only when marker columns show an export.
    ``shape_issues``: short or long CSV rows become ``row_shape`` issues instead of refusing.
    """
    if header_row is not None and header_row < 1:
        raise ParseError("The header row is counted from 1.")
    if groups is not None and groups not in GROUPS:
        raise ParseError(f"groups must be one of {', '.join(GROUPS)}.")
    if len(data) > max_bytes:
        raise ParseError(f"The file is {_mb(len(data))} MB; the limit is {_mb(max_bytes)} MB.")
    kind = _kind_from_name(filename)
    if not data.strip():
        raise ParseError("The file is empty.")
    if kind == "xlsx":
        return _parse_xlsx(data, max_bytes, header_row, groups)
    _refuse_binary(data, kind)
    if kind == "json":
        return _parse_json(data, groups)
    return _parse_csv(data, header_row, groups, shape_issues)


# --- shared helpers ------------------------------------------------------------------


def _mb(n: int) -> str:
    return f"{n / MiB:.2f}".rstrip("0").rstrip(".")


def _kind_from_name(filename: str) -> str:
    dot = filename.rfind(".")
    ext = filename[dot:].lower() if dot >= 0 else ""
    if ext not in EXTENSIONS:
        shown = f"'{ext}'" if ext else "without an extension"
        raise ParseError(
            f"Unsupported file type {shown}: upload a .csv, .txt, .xlsx or .json file."
        )
    return EXTENSIONS[ext]


def _refuse_binary(data: bytes, kind: str) -> None:
    if data.startswith((ZIP_MAGIC, EMPTY_ZIP_MAGIC)):
        raise ParseError(
            f"The file is named .{kind} but is a zip archive (perhaps an Excel workbook): "
            "upload an Excel workbook with the .xlsx extension, or unzip it first."
        )
    if data.startswith(OLE_MAGIC):
        raise ParseError(
            f"The file is named .{kind} but is an old Excel (.xls) or password-protected "
            "file: save it as 'CSV UTF-8' or as an unprotected .xlsx workbook."
        )
    if b"\x00" in data:
        raise ParseError(
            "The file contains binary data (NUL bytes), so it is not a text file. If it was "
            "saved as 'Unicode text' (UTF-16), save it again as 'CSV UTF-8'."
        )


def _clean_name(name: Cell) -> str:
    return (name or "").replace("\ufeff", "").strip()


def _finish(header: Sequence[Cell], frame: pl.DataFrame, where: str = "") -> pl.DataFrame:
    """Name, validate and clean a frame of positional String columns plus ``_row``."""
    names = [_clean_name(n) for n in header]
    positional = [c for c in frame.columns if c != ROW]
    frame = frame.with_columns(_clean_values(positional))
    keep = _drop_blank_columns(names, positional, frame, where)
    _check_names([names[i] for i in keep], where)
    frame = frame.select([pl.col(positional[i]).alias(names[i]) for i in keep] + [pl.col(ROW)])
    data_cols = [c for c in frame.columns if c != ROW]
    frame = frame.filter(~pl.all_horizontal(pl.col(c).is_null() for c in data_cols))
    if frame.height == 0:
        raise ParseError(f"{where}Only a header row: no records.")
    return frame


def _clean_values(columns: Sequence[str]) -> list[pl.Expr]:
    stripped = (pl.col(c).cast(pl.String).str.strip_chars() for c in columns)
    return [
        pl.when(e != "").then(e).otherwise(None).alias(c)
        for e, c in zip(stripped, columns, strict=True)
    ]


def _drop_blank_columns(
    names: Sequence[str], positional: Sequence[str], frame: pl.DataFrame, where: str
) -> list[int]:
    """Columns with no name are dropped when empty and refused when they hold data."""
    blank = [i for i, n in enumerate(names) if not n]
    if not blank:
        return list(range(len(names)))
    nulls = frame.select(pl.col(positional[i]).null_count() for i in blank).row(0)
    used = [i for i, n in zip(blank, nulls, strict=True) if n < frame.height]
    if used:
        cols = ", ".join(str(i + 1) for i in used)
        raise ParseError(
            f"{where}Column(s) {cols} have values but no name in the header row: "
            "give every column a name."
        )
    return [i for i, n in enumerate(names) if n]


def _check_names(names: Sequence[str], where: str) -> None:
    if not names:
        raise ParseError(f"{where}The header row is empty: the first row must name the columns.")
    dupes = [n for n, k in Counter(names).items() if k > 1]
    if dupes:
        shown = ", ".join(f"'{n}'" for n in dupes)
        raise ParseError(f"{where}Duplicate column names: {shown}. Give each column its own name.")
    if ROW in names:
        raise ParseError(f"{where}The column name '{ROW}' is reserved: rename that column.")


# --- the header row ------------------------------------------------------------------


def _find_header(raw: pl.DataFrame, header_row: int | None, where: str = ""
                 ) -> tuple[int, str | None]:
    """The ``_row`` of the header in a frame of positional columns, and a note when rows
    with values above it were skipped. Only the first rows are looked at."""
    cols = [c for c in raw.columns if c != ROW]
    cells = raw.head(max(HEADER_SNIFF_ROWS, header_row or 0) * 4).select(
        pl.col(ROW), *_clean_values(cols))
    filled = pl.sum_horizontal(pl.col(c).is_not_null() for c in cols)
    text = pl.sum_horizontal(
        (pl.col(c).is_not_null() & ~pl.col(c).str.contains(NUMBER_OR_DATE)) for c in cols)
    counts = cells.select(pl.col(ROW), filled.alias("filled"), text.alias("text"))
    if header_row is not None:
        at = counts.filter(pl.col(ROW) == header_row)
        if at.height == 0 or at["filled"][0] == 0:
            raise ParseError(f"{where}The mapping's header_row is {header_row}, but row "
                             f"{header_row} of the file is empty or past its end.")
        return header_row, None
    nonblank = counts.filter(pl.col("filled") > 0).head(HEADER_SNIFF_ROWS)
    if nonblank.height == 0:
        return 1, None
    width = int(nonblank.select(pl.col("filled").max()).item())
    # Mostly filled: a title row above the header is not. Below a title, the header is also
    # text-like (no numbers or dates), unlike the first data row.
    filled_enough = (pl.col("filled") * 2 >= width) & (pl.col("filled") >= min(2, width))
    first = nonblank[ROW][0]
    if nonblank.filter(filled_enough)[ROW].head(1).to_list() == [first]:
        return first, None
    fits = nonblank.filter(filled_enough & (pl.col("text") * 5 >= pl.col("filled") * 4))
    if fits.height == 0:
        fits = nonblank.filter(filled_enough)
    chosen = fits[ROW][0] if fits.height else first
    if chosen == first:
        return first, None
    skipped = nonblank.filter(pl.col(ROW) < chosen).height
    return chosen, (f"{where}The column names were found on row {chosen}: the {skipped} row(s) "
                    f"with values above it (a title?) were skipped. Write 'header_row: "
                    f"{chosen}' in the mapping to say so.")


# --- ODK / KoBoToolbox ---------------------------------------------------------------


def _is_odk(columns: Sequence[str]) -> bool:
    return any(c in ODK_META for c in columns)


def _groups(frame: pl.DataFrame, groups: str | None, odk: bool) -> tuple[pl.DataFrame, str | None]:
    """Group prefixes stripped when declared, or when marker columns show an ODK export."""
    if groups == "keep" or (groups is None and not odk):
        return frame, None
    stripped = _strip_groups(frame)
    if groups == "strip" or stripped.columns == frame.columns:
        return stripped, None
    marker = next((c for c in frame.columns if c in ODK_META), None)
    has = f" (it has a {marker!r} column)" if marker else ""
    return stripped, (f"Group prefixes (such as 'household/') were stripped from the column "
                      f"names: the file is an ODK/KoBoToolbox export{has}. Write "
                      f"'groups: keep' in the mapping to keep them.")


def _strip_groups(frame: pl.DataFrame) -> pl.DataFrame:
    """``household/member/name`` -> ``name`` unless two columns would then collide."""
    last = {c: c.rsplit("/", 1)[-1] for c in frame.columns}
    counts = Counter(last.values())
    return frame.rename({c: s for c, s in last.items() if c != s and counts[s] == 1})


# --- CSV -----------------------------------------------------------------------------


def _decode(data: bytes) -> tuple[str, str]:
    if data.startswith(b"\xef\xbb\xbf"):
        try:
            return data.decode("utf-8-sig"), "utf-8-sig"
        except UnicodeDecodeError:
            pass
    else:
        try:
            return data.decode("utf-8"), "utf-8"
        except UnicodeDecodeError:
            pass
    try:
        return data.decode("cp1252"), "cp1252"
    except UnicodeDecodeError:
        raise ParseError(
            "Cannot read the file as text: it is not UTF-8, UTF-8 with BOM or Windows-1252. "
            "Save it again as 'CSV UTF-8'."
        ) from None


def _records(text: str, delimiter: str) -> Iterator[list[str]]:
    return csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)


def _is_blank(record: Sequence[str]) -> bool:
    return all(not v.strip() for v in record)


def _sniff_counts(sample: str, truncated: bool, delimiter: str) -> list[int]:
    counts: list[int] = []
    try:
        for record in _records(sample, delimiter):
            if not _is_blank(record):
                counts.append(len(record))
            if len(counts) > SNIFF_RECORDS:
                break
    except csv.Error:
        return counts[:-1] if truncated else counts
    return counts[:-1] if truncated and len(counts) > 1 else counts


def _detect_delimiter(text: str) -> str:
    sample = text[:SNIFF_CHARS]
    best: tuple[bool, int, bool, int, int] | None = None
    chosen = ""
    for rank, d in enumerate(DELIMITERS):
        counts = _sniff_counts(sample, len(text) > len(sample), d)
        if not counts:
            continue
        # The most common count, so title rows above the header do not decide.
        mode = max(Counter(counts).items(), key=lambda kv: (kv[1], kv[0]))[0]
        if mode < 2:
            continue
        same = sum(c == mode for c in counts)
        score = (same == len(counts), same, counts[0] >= 2, mode, -rank)
        if best is None or score > best:
            best, chosen = score, d
    if not chosen:
        first = text.lstrip().split("\n", 1)[0].strip()[:80]
        raise ParseError(
            f"Columns are not separated by , ; tab or |: the first line is '{first}'. "
            "Save the file as CSV with one of these separators."
        )
    return chosen


def _widths(text: str, delimiter: str) -> pl.DataFrame:
    """Every record's number: ``row``; its number of ``values``; ``filled``: up to its last
    non-blank value (0 for a blank record)."""
    if '"' not in text and UNIT_SEP not in text and text.count("\r") == text.count("\r\n"):
        return _widths_unquoted(text, delimiter)
    return _widths_quoted(text, delimiter)


WIDTHS_SCHEMA = {"row": pl.Int64, "values": pl.Int64, "filled": pl.Int64}


def _widths_quoted(text: str, delimiter: str) -> pl.DataFrame:
    values: list[int] = []
    ragged: dict[int, int] = {}  # row -> filled, for records ending in blank values
    row = 0
    try:
        for row, record in enumerate(_records(text, delimiter), start=1):
            values.append(len(record))
            if not (record and record[-1].strip()):
                ragged[row] = next((i + 1 for i in range(len(record) - 1, -1, -1)
                                    if record[i].strip()), 0)
    except csv.Error as exc:
        raise ParseError(
            f"Row {row + 1} cannot be read ({exc}). Check the quotes: a value containing "
            'the separator, a quote or a line break must be in double quotes, with " doubled.'
        ) from None
    frame = pl.DataFrame({"values": values}, schema={"values": pl.Int64})
    frame = frame.with_row_index("row", offset=1).with_columns(pl.col("row").cast(pl.Int64))
    patch = pl.DataFrame({"row": list(ragged), "filled": list(ragged.values())},
                         schema={"row": pl.Int64, "filled": pl.Int64})
    frame = frame.join(patch, on="row", how="left", maintain_order="left")
    filled = pl.coalesce(pl.col("filled"), pl.col("values"))
    return frame.select(pl.col("row"), pl.when(filled == 0).then(0).otherwise(pl.col("values"))
                        .alias("values"), filled.alias("filled"))


def _widths_unquoted(text: str, delimiter: str) -> pl.DataFrame:
    """The same, set-wise: without quotes a record is a line and a value a field."""
    lines = pl.read_csv(io.BytesIO(text.encode("utf-8")), has_header=False, separator=UNIT_SEP,
                        quote_char=None, infer_schema=False).to_series()
    frame = pl.DataFrame({"line": lines.fill_null("").str.strip_chars_end("\r")})
    frame = frame.with_row_index("row", offset=1).with_columns(
        pl.col("row").cast(pl.Int64),
        pl.col("line").str.count_matches(delimiter, literal=True).cast(pl.Int64).alias("seps"),
        # Only a line ending in a separator or a space may end in blank values.
        (pl.col("line").str.ends_with(delimiter) | pl.col("line").str.ends_with(" ")
         | pl.col("line").str.ends_with("\t") | (pl.col("line") == "")).alias("open"),
    )
    open_ = frame.filter(pl.col("open"))
    trimmed = pl.col("line").str.strip_chars_end(delimiter + " \t")
    blank = pl.col("line").str.replace_all(delimiter, "", literal=True).str.strip_chars() == ""
    open_ = open_.select(
        pl.col("row"),
        pl.when(blank).then(0).otherwise(pl.col("seps") + 1).cast(pl.Int64).alias("values"),
        pl.when(blank).then(0).otherwise(trimmed.str.count_matches(delimiter, literal=True) + 1)
        .cast(pl.Int64).alias("filled"))
    closed = frame.filter(~pl.col("open")).select(
        pl.col("row"), (pl.col("seps") + 1).alias("values"), (pl.col("seps") + 1).alias("filled"))
    return pl.concat([closed, open_]).sort("row")


def _check_shape_quoted(text: str, delimiter: str) -> list[tuple[int, int, int]]:
    """The non-blank records' (row, values, filled), read by Python's csv."""
    return _widths_quoted(text, delimiter).filter(pl.col("filled") > 0).rows()


def _check_shape_unquoted(text: str, delimiter: str) -> list[tuple[int, int, int]]:
    """The same, read set-wise (only for text without quotes)."""
    return _widths_unquoted(text, delimiter).filter(pl.col("filled") > 0).rows()


def _shape_issues(widths: pl.DataFrame, header_at: int, header: Sequence[Cell],
                  delimiter: str, refuse: bool) -> pl.DataFrame:
    """Records below the header with fewer values than the header names, or with more
    non-blank values than the header has."""
    named = max((i + 1 for i, n in enumerate(header) if _clean_name(n)), default=0)
    width = len(header)
    rows = widths.filter((pl.col("row") > header_at) & (pl.col("filled") > 0))
    bad = rows.filter((pl.col("values") < named) | (pl.col("filled") > width))
    # No row fitting the header is the file's fault (a wrong separator), not the rows'.
    if bad.height and (refuse or bad.height == rows.height):
        row, values = bad.select("row", "values").row(0)
        raise ParseError(
            f"Row {row} has {values} values but the header has {width} "
            f"columns. Check for a {DELIMITER_NAMES[delimiter]} inside an unquoted value, or "
            "a missing or extra separator."
        )
    name = DELIMITER_NAMES[delimiter]
    return bad.select(
        pl.col("row").alias(ROW), pl.lit("", pl.String).alias("column"),
        pl.col("values").cast(pl.String).alias("value"),
        pl.lit("row_shape").alias("rule"),
        pl.format("this row has {} values but the header names {} columns: a value is "
                  "missing, or a " + name + " is missing, extra or inside an unquoted value; "
                  "the row was not loaded", pl.col("values"), pl.lit(named)).alias("message"),
    )


def _read_polars(text: str, delimiter: str) -> pl.DataFrame | None:
    try:
        return pl.read_csv(
            io.BytesIO(text.encode("utf-8")),
            separator=delimiter,
            has_header=False,
            infer_schema=False,
            quote_char='"',
        )
    except (Exception, pl.exceptions.PanicException):
        return None


def _read_python(text: str, delimiter: str) -> pl.DataFrame:
    """Slower fallback for quoting that Python's csv accepts and Polars refuses."""
    rows = list(_records(text, delimiter))
    width = max(len(r) for r in rows)
    cols = [f"column_{i + 1}" for i in range(width)]
    padded = [r if len(r) == width else ([*r, *[""] * width])[:width] for r in rows]
    return pl.DataFrame(padded, schema=dict.fromkeys(cols, pl.String), orient="row")


def _frame_from_text(text: str, delimiter: str, records: int) -> pl.DataFrame:
    """Every record as positional String columns plus ``_row`` (its record number)."""
    frame = _read_polars(text, delimiter)
    if frame is None or frame.height != records:
        frame = _read_python(text, delimiter)
    return frame.with_row_index(ROW, offset=1).with_columns(pl.col(ROW).cast(pl.Int64))


def _split_header(raw: pl.DataFrame, header_row: int | None, where: str = ""
                  ) -> tuple[int, list[Cell], pl.DataFrame, str | None]:
    at, note = _find_header(raw, header_row, where)
    header = list(raw.filter(pl.col(ROW) == at).drop(ROW).row(0))
    return at, header, raw.filter(pl.col(ROW) > at), note


def _parse_csv(data: bytes, header_row: int | None = None, groups: str | None = None,
               shape_issues: bool = False) -> Parsed:
    text, encoding = _decode(data)
    if "\r" in text and "\n" not in text:
        text = text.replace("\r", "\n")  # classic Mac line endings
    delimiter = _detect_delimiter(text)
    widths = _widths(text, delimiter)
    raw = _frame_from_text(text, delimiter, widths.height)
    at, header, rows, note = _split_header(raw, header_row)
    header = header[: widths.filter(pl.col("row") == at)["values"][0] or len(header)]
    issues = _shape_issues(widths, at, header, delimiter, refuse=not shape_issues)
    frame = _finish(header, rows.select(*[c for c in rows.columns if c != ROW][:len(header)],
                                        ROW))
    odk = _is_odk(frame.columns)
    frame, stripped = _groups(frame, groups, odk)
    notes = tuple(n for n in (note, stripped) if n)
    return Parsed(frame=frame, format="odk" if odk or groups == "strip" else "csv",
                  encoding=encoding, delimiter=delimiter, notes=notes, issues=issues)


# --- XLSX ----------------------------------------------------------------------------


def _open_zip(data: bytes) -> zipfile.ZipFile:
    if data.startswith(OLE_MAGIC):
        raise ParseError(
            "This is an old Excel (.xls) or password-protected workbook: save it as an "
            "unprotected .xlsx workbook or as 'CSV UTF-8'."
        )
    if not data.startswith(ZIP_MAGIC):
        raise ParseError(
            "The file is named .xlsx but is not an Excel workbook (an XLSX file is a zip "
            "archive). Open it in Excel and save it as .xlsx, or upload it as CSV."
        )
    try:
        return zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, ValueError):
        raise ParseError("The XLSX file is damaged or truncated.") from None


def _check_zip(archive: zipfile.ZipFile, max_bytes: int) -> None:
    infos = archive.infolist()
    limit = min(ZIP_MAX_FACTOR * max_bytes, ZIP_MAX_TOTAL)
    total = sum(i.file_size for i in infos)
    ratios = (
        i.file_size / max(i.compress_size, 1) for i in infos if i.file_size >= ZIP_RATIO_FLOOR
    )
    if total > limit or max(ratios, default=0) > ZIP_MAX_RATIO:
        raise ParseError(
            f"The XLSX file expands to {_mb(total)} MB when unzipped and looks like a zip "
            "bomb; it was not opened. Save the data again from Excel or upload it as CSV."
        )
    if "xl/workbook.xml" not in archive.namelist():
        raise ParseError(
            "The file is a zip archive but not an Excel workbook (no xl/workbook.xml)."
        )


def _cell(value: Any) -> Cell:
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat()
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    text = str(value)
    return text if text else None


def _sheet_frame(rows: list[list[Any]], where: str, header_row: int | None = None
                 ) -> tuple[pl.DataFrame, str | None] | None:
    """Header = the row found by :func:`_find_header`; ``_row`` = the Excel row number.
    None if the sheet is empty."""
    cells = [[_cell(v) for v in r] for r in rows]
    if not any(v and v.strip() for r in cells for v in r):
        return None
    width = max(len(r) for r in cells)
    cols = [f"column_{i + 1}" for i in range(width)]
    padded = [r + [None] * (width - len(r)) for r in cells]
    raw = pl.DataFrame(padded, schema=dict.fromkeys(cols, pl.String), orient="row")
    raw = raw.with_columns(pl.int_range(1, raw.height + 1, dtype=pl.Int64).alias(ROW))
    _, header, data, note = _split_header(raw, header_row, where)
    return _finish(header, data, where), note


def _read_sheets(data: bytes) -> dict[str, list[list[Any]]]:
    from python_calamine import CalamineWorkbook

    try:
        book = CalamineWorkbook.from_filelike(io.BytesIO(data))
        return {
            name: book.get_sheet_by_name(name).to_python(skip_empty_area=False)
            for name in book.sheet_names
        }
    except Exception:
        raise ParseError("The XLSX file is damaged or truncated.") from None


def _parse_xlsx(data: bytes, max_bytes: int, header_row: int | None = None,
                groups: str | None = None) -> Parsed:
    with _open_zip(data) as archive:
        _check_zip(archive, max_bytes)
    frames: dict[str, pl.DataFrame] = {}
    notes: list[str] = []
    for i, (name, rows) in enumerate(_read_sheets(data).items()):
        where = "" if i == 0 else f"Sheet '{name}': "
        found = _sheet_frame(rows, where, header_row if i == 0 else None)
        if found is None and i == 0:
            raise ParseError("The file is empty: the first sheet has no data.")
        if found is not None:
            frames[name] = found[0]
            notes += [found[1]] if found[1] else []
    first, *others = frames
    frame = frames[first]
    odk = _is_odk(frame.columns)
    frame, stripped = _groups(frame, groups, odk)
    sheets = {n: _groups(frames[n], groups, odk)[0] for n in others}
    notes += [stripped] if stripped else []
    return Parsed(frame=frame, format="odk" if odk or groups == "strip" else "xlsx",
                  sheets=sheets, notes=tuple(notes))


# --- JSON ----------------------------------------------------------------------------


def _load_json(data: bytes) -> Any:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ParseError("Cannot read the JSON file: it is not UTF-8 text.") from None
    try:
        document = json.loads(text, parse_float=str, parse_int=str, parse_constant=str)
    except json.JSONDecodeError as exc:
        raise ParseError(
            f"The file is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}."
        ) from None
    except RecursionError:
        raise ParseError("The JSON file is nested too deeply.") from None
    # Flattening recurses once a level: far below the decoder's own limit, whatever the stack.
    if json_depth(document, stop_above=JSON_MAX_DEPTH) > JSON_MAX_DEPTH:
        raise ParseError(f"The JSON file nests more than {JSON_MAX_DEPTH} levels deep: send "
                         f"records whose groups nest less.")
    return document


def _json_records(doc: Any) -> list[Any]:
    if isinstance(doc, dict):
        doc = next((doc[k] for k in ("records", "data") if isinstance(doc.get(k), list)), doc)
    if not isinstance(doc, list):
        raise ParseError(
            'The JSON must be a list of records, or an object with the list under "records" '
            'or "data".'
        )
    if not doc:
        raise ParseError("The JSON list is empty: no records.")
    bad = next((i for i, r in enumerate(doc, start=1) if not isinstance(r, dict)), None)
    if bad is not None:
        raise ParseError(f"Record {bad} in the JSON list is not an object with named fields.")
    return doc


def _json_value(value: Any) -> Cell:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _flatten(record: dict[str, Any], index: int, prefix: str = "") -> dict[str, Cell]:
    out: dict[str, Cell] = {}
    for key, value in record.items():
        name = _clean_name(f"{prefix}{key}")
        items = _flatten(value, index, f"{name}/") if isinstance(value, dict) else None
        for k, v in (items or {name: _json_value(value)}).items():
            if k in out:
                raise ParseError(f"Record {index}: the field '{k}' appears twice.")
            out[k] = v
    return out


def _parse_json(data: bytes, groups: str | None = None) -> Parsed:
    records = _json_records(_load_json(data))
    flat = [_flatten(r, i) for i, r in enumerate(records, start=1)]
    names = list(dict.fromkeys(k for r in flat for k in r))
    if not names:
        raise ParseError("The JSON records have no fields.")
    cols = {f"column_{i + 1}": [r.get(n) for r in flat] for i, n in enumerate(names)}
    raw = pl.DataFrame(cols, schema=dict.fromkeys(cols, pl.String))
    raw = raw.with_columns(pl.int_range(1, raw.height + 1, dtype=pl.Int64).alias(ROW))
    frame = _finish(names, raw)
    odk = any(k in ODK_META for k in records[0])
    frame, stripped = _groups(frame, groups, odk)
    return Parsed(frame=frame, format="odk" if odk or groups == "strip" else "json",
                  notes=(stripped,) if stripped else ())
