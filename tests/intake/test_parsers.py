"""Tests for spmis.intake.parsers: bytes in, all-String Polars frames out."""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import io
import json
import zipfile

import openpyxl
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from spmis.intake.parsers import Parsed, ParseError, neutralise_cell, parse_file

NAMES = ["Sébastien", "Nguyễn Văn An", "Zoë"]


def _csv(rows: list[list[str]], delimiter: str = ",") -> str:
    buf = io.StringIO()
    csv.writer(buf, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    return buf.getvalue()


def _values(parsed: Parsed) -> list[tuple[str | None, ...]]:
    return parsed.frame.drop("_row").rows()


def _xlsx(sheets: dict[str, list[list[object]]]) -> bytes:
    book = openpyxl.Workbook()
    book.remove(book.active)
    for name, rows in sheets.items():
        sheet = book.create_sheet(name)
        for row in rows:
            sheet.append(row)
        for cell in sheet["A"]:
            if isinstance(cell.value, str) and cell.value.startswith("=HYPERLINK"):
                cell.data_type = "s"  # a text cell, not a formula
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


def _raises(data: bytes, filename: str, match: str, **kwargs: int) -> None:
    with pytest.raises(ParseError, match=match):
        parse_file(data, filename=filename, **kwargs)


# --- CSV encodings and delimiters ----------------------------------------------------


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
@pytest.mark.parametrize(
    ("encoding", "names"),
    [("utf-8", NAMES), ("utf-8-sig", NAMES), ("cp1252", ["Sébastien", "Zoë", "Øyvind"])],
)
def test_csv_encodings_and_delimiters(delimiter: str, encoding: str, names: list[str]) -> None:
    rows = [["id", "name", "note"], *[[str(i), n, "x"] for i, n in enumerate(names)]]
    parsed = parse_file(_csv(rows, delimiter).encode(encoding), filename="people.csv")
    assert (parsed.format, parsed.encoding, parsed.delimiter) == ("csv", encoding, delimiter)
    assert parsed.frame.columns == ["id", "name", "note", "_row"]
    assert _values(parsed) == [tuple(r) for r in rows[1:]]
    assert parsed.frame["_row"].to_list() == [2, 3, 4]
    assert parsed.frame.schema["_row"] == pl.Int64
    assert all(parsed.frame.schema[c] == pl.String for c in ["id", "name", "note"])
    assert parsed.sheets == {}


def test_csv_quoted_delimiters_and_newlines_keep_row_numbers() -> None:
    text = 'name;address;note\n"Smith; John";"1 Main St\nApt 2";"say ""hi"""\nAnn;Here;\n'
    parsed = parse_file(text.encode(), filename="x.txt")
    assert parsed.delimiter == ";"
    assert _values(parsed) == [
        ("Smith; John", "1 Main St\nApt 2", 'say "hi"'),
        ("Ann", "Here", None),
    ]
    assert parsed.frame["_row"].to_list() == [2, 3]


def test_csv_strips_whitespace_blank_lines_and_empty_cells() -> None:
    text = "\ufeff id , name \n 1 ,  Ann \n\n,,\n2,\n"
    parsed = parse_file(text.encode(), filename="x.csv")
    assert parsed.frame.columns == ["id", "name", "_row"]
    assert _values(parsed) == [("1", "Ann"), ("2", None)]
    assert parsed.frame["_row"].to_list() == [2, 5]


def test_csv_commas_in_semicolon_file_are_not_separators() -> None:
    text = "name;amount\nAnn;1,50\nBob;2,75\nCy;3\n"
    parsed = parse_file(text.encode(), filename="x.csv")
    assert parsed.delimiter == ";"
    assert _values(parsed)[0] == ("Ann", "1,50")


def test_csv_empty_trailing_columns_without_names_are_dropped() -> None:
    parsed = parse_file(b"a,b,,\n1,2,,\n", filename="x.csv")
    assert parsed.frame.columns == ["a", "b", "_row"]


def test_csv_classic_mac_line_endings() -> None:
    parsed = parse_file(b"a,b\r1,2\r3,4\r", filename="x.csv")
    assert _values(parsed) == [("1", "2"), ("3", "4")]


def test_csv_lenient_quotes_fall_back_to_python_reader() -> None:
    parsed = parse_file(b'a,b\nab"c,2\n', filename="x.csv")
    assert _values(parsed) == [('ab"c', "2")]


def test_formula_cells_kept_verbatim() -> None:
    text = 'a,b,c,d\n"=HYPERLINK(""http://x"",""y"")",+1,-1,@x\n'
    parsed = parse_file(text.encode(), filename="x.csv")
    assert _values(parsed) == [('=HYPERLINK("http://x","y")', "+1", "-1", "@x")]


@pytest.mark.parametrize(
    ("value", "expected"),
    [("=1+1", "'=1+1"), ("+1", "'+1"), ("-1", "'-1"), ("@x", "'@x"), ("\tx", "'\tx"),
     ("\rx", "'\rx"), ("Ann", "Ann"), ("", "")],
)  # fmt: skip
def test_neutralise_cell(value: str, expected: str) -> None:
    assert neutralise_cell(value) == expected


# --- bad inputs ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "filename", "match"),
    [
        (b"", "x.csv", "The file is empty"),
        (b"  \n\n", "x.csv", "The file is empty"),
        (b"a,b\n", "x.csv", "Only a header row: no records"),
        (b"a,b\n,\n\n", "x.csv", "Only a header row: no records"),
        (b"a,b,a\n1,2,3\n", "x.csv", "Duplicate column names: 'a'"),
        (b"a, ,c\n1,2,3\n", "x.csv", r"Column\(s\) 2 have values but no name"),
        (b"a,_row\n1,2\n", "x.csv", "'_row' is reserved"),
        (b"a,b\n1,2\n3,4,5\n", "x.csv", "Row 3 has 3 values but the header has 2 columns"),
        (b"a,b\n1,2\n3\n", "x.csv", "Row 3 has 1 values"),
        (b'a,b\n1,2\n"3,4\n', "x.csv", "Row 3 cannot be read"),
        (b"just one column\nvalue\n", "x.csv", "Columns are not separated by , ; tab or |"),
        (b"a,b\n\x81\x8d,2\n", "x.csv", "not UTF-8, UTF-8 with BOM or Windows-1252"),
        (b"a\x00,b\x00\n", "x.csv", "NUL bytes"),
        (b"PK\x03\x04rest", "x.csv", "is a zip archive"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1rest", "x.csv", r"old Excel \(.xls\)"),
        (b"a,b\n1,2\n", "x.pdf", "Unsupported file type '.pdf'"),
        (b"a,b\n1,2\n", "noext", "without an extension"),
        (b"a,b\n1,2\n", "x.xlsx", "is not an Excel workbook"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1rest", "x.xlsx", r"old Excel \(.xls\)"),
    ],
)
def test_bad_inputs(data: bytes, filename: str, match: str) -> None:
    _raises(data, filename, match)


def test_size_limit_checked_before_parsing() -> None:
    data = b"\x00" * (3 * 1024 * 1024)  # would fail parsing too, but size comes first
    _raises(data, "x.csv", r"The file is 3 MB; the limit is 2 MB\.", max_bytes=2 * 1024 * 1024)


def test_cp1252_decodes_windows_characters() -> None:
    parsed = parse_file("a,b\n€ \u2013 “q”,Œ\n".encode("cp1252"), filename="x.csv")
    assert parsed.encoding == "cp1252"
    assert _values(parsed) == [("€ \u2013 “q”", "Œ")]


# --- XLSX ----------------------------------------------------------------------------


def test_xlsx_numbers_dates_and_second_sheet() -> None:
    data = _xlsx(
        {
            "People": [
                ["id", "name", "born", "amount", "seen", "ok"],
                [
                    12,
                    "Sébastien",
                    dt.date(1990, 5, 17),
                    12.5,
                    dt.datetime(2024, 1, 2, 3, 4, 5),
                    True,
                ],
                [256772123456, " Nguyễn ", dt.datetime(2001, 1, 1), 3.0, None, False],
                ['=HYPERLINK("x")', "=1+1", "+1", "@x", None, None],
            ],
            "Codes": [["code", "label"], ["A", "Alpha"]],
        }
    )
    parsed = parse_file(data, filename="book.XLSX")
    assert parsed.format == "xlsx"
    assert parsed.frame.columns == ["id", "name", "born", "amount", "seen", "ok", "_row"]
    rows = _values(parsed)
    assert rows[0] == ("12", "Sébastien", "1990-05-17", "12.5", "2024-01-02T03:04:05", "TRUE")
    assert rows[1] == ("256772123456", "Nguyễn", "2001-01-01", "3", None, "FALSE")
    # Text that looks like a formula stays text; a real formula gives only its cached value
    # (openpyxl stores none), never an evaluation.
    assert rows[2] == ('=HYPERLINK("x")', None, "+1", "@x", None, None)
    assert parsed.frame["_row"].to_list() == [2, 3, 4]
    assert list(parsed.sheets) == ["Codes"]
    assert parsed.sheets["Codes"].rows() == [("A", "Alpha", 2)]


def test_xlsx_header_below_blank_rows_keeps_excel_row_numbers() -> None:
    data = _xlsx({"S": [[None], [None, "a", "b"], [None, "1", "2"]]})
    parsed = parse_file(data, filename="x.xlsx")
    assert parsed.frame.rows() == [("1", "2", 3)]


def test_xlsx_header_problems_name_the_sheet() -> None:
    data = _xlsx({"Main": [["a"], ["1"]], "Extra": [["x", "x"], [1, 2]]})
    _raises(data, "x.xlsx", "Sheet 'Extra': Duplicate column names: 'x'")
    _raises(_xlsx({"Main": [["a", "b"]]}), "x.xlsx", "Only a header row")
    _raises(_xlsx({"Main": []}), "x.xlsx", "The file is empty")


def test_xlsx_truncated() -> None:
    data = _xlsx({"S": [["a"], ["1"]]})
    _raises(data[: len(data) // 2], "x.xlsx", "The XLSX file is damaged or truncated")


def test_xlsx_corrupt_member() -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("xl/workbook.xml", "<not really")
        z.writestr("[Content_Types].xml", "nope")
    _raises(buf.getvalue(), "x.xlsx", "damaged or truncated")


def test_zip_that_is_not_a_workbook() -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("hello.txt", "hi")
    _raises(buf.getvalue(), "x.xlsx", "not an Excel workbook")


def test_zip_bomb() -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        z.writestr("xl/workbook.xml", "<workbook/>")
        z.writestr("xl/worksheets/sheet1.xml", b"\x00" * (50 * 1024 * 1024))
    data = buf.getvalue()
    assert len(data) < 200 * 1024
    _raises(data, "x.xlsx", "looks like a zip bomb")


def test_zip_total_size_limit_follows_max_bytes() -> None:
    data = _xlsx({"S": [["a", "b", "c", "d", "e"], *[["same value"] * 5] * 8000]})
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        assert sum(i.file_size for i in z.infolist()) > 20 * (len(data) + 1)
    assert parse_file(data, filename="x.xlsx").frame.height == 8000
    _raises(data, "x.xlsx", "looks like a zip bomb", max_bytes=len(data) + 1)


# --- JSON ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "doc",
    [
        [{"id": 1, "name": "Ann"}, {"id": 2, "name": "Bob"}],
        {"records": [{"id": 1, "name": "Ann"}, {"id": 2, "name": "Bob"}]},
        {"data": [{"id": 1, "name": "Ann"}, {"id": 2, "name": "Bob"}], "total": 2},
    ],
)
def test_json_shapes(doc: object) -> None:
    parsed = parse_file(json.dumps(doc).encode(), filename="x.json")
    assert parsed.format == "json"
    assert parsed.frame.rows() == [("1", "Ann", 1), ("2", "Bob", 2)]


def test_json_values_nested_and_missing_keys() -> None:
    text = (
        '[{"id": 007, "amt": 1.50, "ok": true, "none": null, "addr": {"city": "Kampala",'
        ' "geo": {"lat": 0.3}}, "tags": ["a", "b"]}, {"id": 2, "extra": " x "}]'
    ).replace("007", "7")
    parsed = parse_file(text.encode("utf-8-sig"), filename="x.json")
    assert parsed.frame.columns == [
        "id", "amt", "ok", "none", "addr/city", "addr/geo/lat", "tags", "extra", "_row",
    ]  # fmt: skip
    assert parsed.frame.row(0) == (
        "7",
        "1.50",
        "true",
        None,
        "Kampala",
        "0.3",
        '["a", "b"]',
        None,
        1,
    )
    assert parsed.frame.row(1)[0] == "2" and parsed.frame.row(1)[7] == "x"


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("{", "not valid JSON"),
        ('"hello"', "must be a list of records"),
        ('{"rows": []}', "must be a list of records"),
        ("[]", "empty: no records"),
        ('[{"a": 1}, 3]', "Record 2 in the JSON list is not an object"),
        ('[{"a/b": 1, "a": {"b": 2}}]', "Record 1: the field 'a/b' appears twice"),
        ("[{}, {}]", "no fields"),
        ('[{"a": null}]', "Only a header row"),
        ("[" * 100000, "nested too deeply|not valid JSON"),
    ],
)
def test_json_bad_inputs(text: str, match: str) -> None:
    _raises(text.encode(), "x.json", match)


# --- ODK / KoBoToolbox ---------------------------------------------------------------


def test_odk_xlsx_with_group_prefixes_and_repeat_sheet() -> None:
    data = _xlsx(
        {
            "household_survey": [
                ["start", "household/head/name", "household/village", "meta/instanceID",
                 "_id", "_uuid", "_index"],
                ["2024-01-01", "Ann", "Gulu", "uuid:1", 1, "u1", 1],
                ["2024-01-02", "Bob", "Lira", "uuid:2", 2, "u2", 2],
            ],
            "member": [
                ["household/member/name", "household/member/age", "_index", "_parent_index",
                 "_parent_table_name"],
                ["Ann", 40, 1, 1, "household_survey"],
                ["Cy", 9, 2, 1, "household_survey"],
                ["Bob", 50, 3, 2, "household_survey"],
            ],
        }
    )  # fmt: skip
    parsed = parse_file(data, filename="kobo.xlsx")
    assert parsed.format == "odk"
    assert parsed.frame.columns == [
        "start", "name", "village", "instanceID", "_id", "_uuid", "_index", "_row",
    ]  # fmt: skip
    assert parsed.frame.row(0) == ("2024-01-01", "Ann", "Gulu", "uuid:1", "1", "u1", "1", 2)
    member = parsed.sheets["member"]
    assert member.columns == [
        "name",
        "age",
        "_index",
        "_parent_index",
        "_parent_table_name",
        "_row",
    ]
    joined = member.join(parsed.frame, left_on="_parent_index", right_on="_index", suffix="_hh")
    assert sorted(joined.select("name", "name_hh").rows()) == [
        ("Ann", "Ann"), ("Bob", "Bob"), ("Cy", "Ann"),
    ]  # fmt: skip


def test_odk_csv_keeps_full_names_on_collision() -> None:
    text = "KEY,adult/name,child/name,adult/age\nuuid:1,Ann,Cy,40\n"
    parsed = parse_file(text.encode(), filename="central.csv")
    assert parsed.format == "odk"
    assert parsed.frame.columns == ["KEY", "adult/name", "child/name", "age", "_row"]


def test_odk_json() -> None:
    doc = {"data": [{"_uuid": "u1", "grp/name": "Ann"}]}
    parsed = parse_file(json.dumps(doc).encode(), filename="kobo.json")
    assert parsed.format == "odk"
    assert parsed.frame.columns == ["_uuid", "name", "_row"]


# --- properties ----------------------------------------------------------------------

FILENAMES = st.sampled_from(["x.csv", "x.txt", "x.xlsx", "x.json"])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.binary(max_size=400), filename=FILENAMES)
def test_random_bytes_only_raise_parse_error(data: bytes, filename: str) -> None:
    try:
        parsed = parse_file(data, filename=filename)
    except ParseError:
        return
    assert parsed.frame.columns[-1] == "_row"


@settings(max_examples=200, deadline=None)
@given(
    prefix=st.sampled_from([b"", b"PK\x03\x04", b"\xef\xbb\xbf", b"a,b\n", b"a;b\r\n"]),
    data=st.binary(max_size=200),
    filename=FILENAMES,
)
def test_prefixed_random_bytes_only_raise_parse_error(
    prefix: bytes, data: bytes, filename: str
) -> None:
    with contextlib.suppress(ParseError):
        parse_file(prefix + data, filename=filename)


CP1252_TEXT = st.text(
    alphabet=st.characters(
        codec="cp1252",
        exclude_categories=("Cc", "Cs", "Zl", "Zp"),
        exclude_characters="\ufeff",
        include_characters="\n",
    ),
    max_size=12,
).map(str.strip)


@st.composite
def tables(draw: st.DrawFn) -> tuple[list[str], list[list[str]]]:
    width = draw(st.integers(2, 5))
    name = CP1252_TEXT.filter(bool)
    header = draw(st.lists(name, min_size=width, max_size=width, unique=True))
    row = st.lists(CP1252_TEXT, min_size=width, max_size=width).filter(any)
    return header, draw(st.lists(row, min_size=1, max_size=8))


@settings(max_examples=200, deadline=None)
@given(
    table=tables(),
    delimiter=st.sampled_from([",", ";", "\t", "|"]),
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "cp1252"]),
)
def test_round_trip(
    table: tuple[list[str], list[list[str]]], delimiter: str, encoding: str
) -> None:
    header, rows = table
    if "_row" in header or any("/" in h for h in header):
        return
    data = _csv([header, *rows], delimiter).encode(encoding)
    parsed = parse_file(data, filename="t.csv")
    if parsed.delimiter != delimiter:
        # Only possible when another separator also splits every line consistently.
        assert any(parsed.delimiter in h for h in header)
        return
    assert parsed.frame.columns == [*header, "_row"]
    expected = [tuple(v or None for v in r) for r in rows]
    assert _values(parsed) == expected
    assert parsed.frame["_row"].to_list() == list(range(2, len(rows) + 2))


def _shape(check, text: str) -> object:
    try:
        return check(text, ";")
    except ParseError as exc:
        return str(exc)


@given(text=st.text(alphabet="a; \n", max_size=60).filter(lambda t: t.strip()),
       crlf=st.booleans())
def test_set_wise_shape_check_agrees_with_the_csv_reader(text: str, crlf: bool) -> None:
    """Files without quotes take a vectorised path; it must say exactly what csv says."""
    from spmis.intake.parsers import _check_shape_quoted, _check_shape_unquoted

    if crlf:
        text = text.replace("\n", "\r\n")
    assert _shape(_check_shape_unquoted, text) == _shape(_check_shape_quoted, text)
