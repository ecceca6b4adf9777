"""`spmis linkage dedupe`'s input: the file read as intake reads it, headers matched by name,
dates of birth in any common format with their day/month order, messages in our words."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import openpyxl
import polars as pl
import pytest
from click.testing import CliRunner
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from spmis.cli.main import cli
from spmis.linkage import reading
from spmis.linkage.engine import OPTIONAL, REQUIRED, LinkageError

LATEST = 2025  # the two-digit year pivot in these tests: 25 is 2025, 26 is 1926

# How each format writes a date, and the order it needs to be read back.
FORMATS: dict[str, tuple[str | None, object]] = {
    "iso": (None, lambda d: d.isoformat()),
    "iso slashes": (None, lambda d: d.strftime("%Y/%m/%d")),
    "yyyymmdd": (None, lambda d: d.strftime("%Y%m%d")),
    "iso unpadded": (None, lambda d: f"{d.year}-{d.month}-{d.day}"),
    "iso with time": (None, lambda d: f"{d.isoformat()} 00:00:00"),
    "dd/mm/yyyy": ("dmy", lambda d: d.strftime("%d/%m/%Y")),
    "dd.mm.yyyy": ("dmy", lambda d: d.strftime("%d.%m.%Y")),
    "dd-mm-yyyy": ("dmy", lambda d: d.strftime("%d-%m-%Y")),
    "d/m/yyyy": ("dmy", lambda d: f"{d.day}/{d.month}/{d.year}"),
    "dd/mm/yy": ("dmy", lambda d: d.strftime("%d/%m/%y")),
    "mm/dd/yyyy": ("mdy", lambda d: d.strftime("%m/%d/%Y")),
    "mm-dd-yyyy": ("mdy", lambda d: d.strftime("%m-%d-%Y")),
    "m/d/yy": ("mdy", lambda d: f"{d.month}/{d.day}/{d:%y}"),
    "yy-mm-dd": ("ymd", lambda d: d.strftime("%y-%m-%d")),
}
TWO_DIGIT = {"dd/mm/yy", "m/d/yy", "yy-mm-dd"}
YEAR_LAST = {name for name, (order, _) in FORMATS.items() if order in ("dmy", "mdy")}


def dates_for(name: str) -> st.SearchStrategy[list[dt.date]]:
    # Two-digit years cover the hundred years up to the pivot; the others 1900-2100.
    low = dt.date(LATEST - 99, 1, 1) if name in TWO_DIGIT else dt.date(1900, 1, 1)
    high = dt.date(LATEST, 12, 31) if name in TWO_DIGIT else dt.date(2100, 12, 31)
    return st.lists(st.dates(low, high), min_size=1, max_size=30)


def written(name: str, dates: list[dt.date]) -> pl.Series:
    write = FORMATS[name][1]
    return pl.Series("date_of_birth", [write(d) for d in dates], dtype=pl.String)  # type: ignore[operator]


@settings(max_examples=200, deadline=None)
@given(data=st.data(), name=st.sampled_from(sorted(FORMATS)))
def test_any_date_in_any_format_with_its_order_reads_back_exactly(data, name):
    dates = data.draw(dates_for(name))
    read, report = reading.read_dates(written(name, dates), order=FORMATS[name][0],
                                      latest_year=LATEST)
    assert read.to_list() == [d.isoformat() for d in dates]
    assert report.unreadable == 0


@settings(max_examples=150, deadline=None)
@given(data=st.data(), name=st.sampled_from(sorted(YEAR_LAST - TWO_DIGIT)))
def test_a_file_with_a_day_above_12_tells_its_order(data, name):
    """One date whose day is above 12 decides the order for the whole file."""
    dates = data.draw(dates_for(name))
    decisive = data.draw(st.dates(dt.date(1900, 1, 1), dt.date(2100, 12, 31))
                         .filter(lambda d: d.day > 12))
    dates.insert(data.draw(st.integers(0, len(dates))), decisive)
    read, report = reading.read_dates(written(name, dates), order=None, latest_year=LATEST)
    assert read.to_list() == [d.isoformat() for d in dates]
    assert (report.order, report.basis) == (FORMATS[name][0], "detected")
    ambiguous = [d for d in dates if d.day <= 12 and d.day != d.month]
    assert report.either_way == len(ambiguous)
    assert set(report.either_way_examples) <= set(written(name, ambiguous).to_list())


@settings(max_examples=150, deadline=None)
@given(dates=st.lists(st.dates(dt.date(1900, 1, 1), dt.date(2100, 12, 31))
                      .filter(lambda d: d.day <= 12), min_size=1, max_size=30),
       name=st.sampled_from(sorted(YEAR_LAST - TWO_DIGIT)))
def test_a_file_where_no_day_is_above_12_is_ambiguous_and_says_so(dates, name):
    read, report = reading.read_dates(written(name, dates), order=None, latest_year=LATEST)
    ambiguous = [d for d in dates if d.day != d.month]
    assert report.either_way == len(ambiguous)
    assume(ambiguous)
    assert (report.order, report.basis) == ("dmy", "assumed")
    warning = reading.date_warnings(report)[0]
    assert f"{len(ambiguous):,} date(s) of birth are ambiguous" in warning
    assert "--date-order mdy" in warning
    if FORMATS[name][0] == "dmy":
        assert read.to_list() == [d.isoformat() for d in dates]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.text(min_size=1, max_size=12), max_size=20))
def test_unreadable_dates_are_counted_never_raised(values):
    read, report = reading.read_dates(pl.Series("d", values, dtype=pl.String), order=None,
                                      latest_year=LATEST)
    assert read.len() == len(values)
    # Blank as the reader strips (Polars' whitespace, which is not Python's: \x1f is kept).
    filled = pl.Series(values, dtype=pl.String).str.strip_chars().replace("", None).count()
    assert report.unreadable == filled - read.drop_nulls().len()


def test_unreadable_and_impossible_dates():
    values = pl.Series("d", ["31/02/1990", "1990-13-01", "tomorrow", "1850-01-01", "",
                             None, "\u0660\u0663/\u0660\u0664/\u0661\u0669\u0668\u0660",
                             " 03/04/1980 "])
    read, report = reading.read_dates(values, order="dmy", latest_year=LATEST)
    assert read.to_list() == [None] * 7 + ["1980-04-03"]
    assert report.unreadable == 5
    assert report.unreadable_examples == ("31/02/1990", "1990-13-01", "tomorrow")


def test_a_file_mixing_orders_reads_the_majority_and_counts_the_rest():
    values = pl.Series("d", ["25/12/1990", "13/01/1980", "12/25/1990", "03/04/1980"])
    read, report = reading.read_dates(values, order=None, latest_year=LATEST)
    assert (report.order, report.day_first, report.month_first) == ("dmy", 2, 1)
    assert read.to_list() == ["1990-12-25", "1980-01-13", None, "1980-04-03"]
    assert report.unreadable_examples == ("12/25/1990",)
    assert "1 date(s) only fit the other order" in reading.date_notes(report)[0]


# --- headers ---------------------------------------------------------------------------


def spelled(name: str) -> st.SearchStrategy[str]:
    """A column name as people write it: any case, words joined by space, _ or -, padded."""
    words = name.split()
    return st.tuples(st.lists(st.sampled_from([" ", "_", "-", "  "]), min_size=len(words),
                              max_size=len(words)),
                     st.lists(st.sampled_from([str.lower, str.upper, str.title]),
                              min_size=len(words), max_size=len(words)),
                     st.sampled_from(["", " ", "  "])).map(
        lambda t: t[2] + "".join(case(w) + sep for w, sep, case in
                                 zip(words, [*t[0][:-1], ""], t[1], strict=True)) + t[2])


@settings(max_examples=200, deadline=None)
@given(data=st.data(), fields=st.sets(st.sampled_from((*REQUIRED, *OPTIONAL)), min_size=1))
def test_headers_match_whatever_their_case_and_spacing(data, fields):
    columns = {f: data.draw(spelled(data.draw(st.sampled_from(reading.accepted_names(f)))))
               for f in sorted(fields)}
    others = data.draw(st.lists(st.sampled_from(["notes", "phone", "village name", "remarks"]),
                                unique=True))
    order = data.draw(st.permutations([*columns.values(), *others]))
    assert reading.match_header(order) == {f: columns[f] for f in (*REQUIRED, *OPTIONAL)
                                           if f in columns}


def test_the_fields_own_name_wins_over_a_variant():
    assert reading.match_header(["DOB", "date_of_birth", "Nom", "Surname"]) == {
        "surname": "Surname", "date_of_birth": "date_of_birth"}


@pytest.mark.parametrize("column,field", [  # the examples in docs/guide/linkage.md
    ("GIVEN_NAME", "given_name"), ("Given Name", "given_name"),
    ("given-name (as on ID)", "given_name"), ("Person ID", "id"), ("Forename", "given_name"),
    ("Prénom", "given_name"), ("Nombre", "given_name"), ("Family name", "surname"),
    ("Nom", "surname"), ("Apellido", "surname"), ("DOB", "date_of_birth"),
    ("Date de naissance", "date_of_birth"), ("Gender", "sex"), ("Sexe", "sex"),
    ("District", "area"), ("Commune", "area"), ("P-code", "area"), ("NIN", "national_id"),
    ("National ID number", "national_id"), ("Cédula", "national_id"),
])
def test_the_guides_examples_of_column_names(column, field):
    assert reading.match_header([column]) == {field: column}


def test_accepted_names_include_the_usual_variants():
    for field, names in {"given_name": ("given name", "first name", "prenom", "nombre"),
                         "surname": ("last name", "family name", "apellido"),
                         "date_of_birth": ("dob", "birth date", "fecha de nacimiento"),
                         "id": ("id", "person id"), "sex": ("gender",)}.items():
        assert set(names) <= set(reading.accepted_names(field))


# --- files through the command ---------------------------------------------------------

HEADER = ("id", "given_name", "surname", "date_of_birth", "sex", "area")
PEOPLE = [("1", "José", "Núñez", "03/04/1980", "M", "X1"),
          ("2", "Jose", "Nunez", "03/04/1980", "M", "X1"),
          ("3", "Ana", "Bélanger", "25/12/1990", "F", "X2"),
          ("4", "Anna", "Belanger", "25/12/1990", "F", "X2"),
          ("5", "Kofi", "Mensah", "31/02/1990", "M", "X1"),
          ("6", "Ama", "Owusu", "", "F", "X3")]


def write(path: Path, rows, *, header=HEADER, sep=",", encoding="utf-8", end="\n",
          tail="") -> Path:
    lines = [sep.join(header), *(sep.join(r) for r in rows)]
    path.write_bytes((end.join(lines) + end + tail).encode(encoding))
    return path


def dedupe(*args: str):
    return CliRunner().invoke(cli, ["linkage", "dedupe", *args])


def test_windows_1252_semicolons_upper_case_headers_and_blank_lines_link(tmp_path):
    source = write(tmp_path / "people.csv", PEOPLE, header=[h.upper() for h in HEADER],
                   sep=";", encoding="cp1252", end="\r\n", tail="\r\n;;;;;\r\n\r\n")
    target = tmp_path / "pairs.csv"
    out = dedupe("--input", str(source), "--output", str(target))
    assert out.exit_code == 0, out.output
    assert "Read 6 records from people.csv (CSV, semicolon-separated, Windows-1252" in out.stderr
    assert "1 date(s) of birth could not be read (such as '31/02/1990')" in out.stderr
    assert pl.read_csv(target).columns == ["id_l", "id_r", "match_probability"]
    records = reading.read_records(source)
    assert records.frame["surname"].to_list()[:3] == ["Núñez", "Nunez", "Bélanger"]
    assert records.frame["date_of_birth"].to_list() == [
        "1980-04-03", "1980-04-03", "1990-12-25", "1990-12-25", None, None]


@pytest.mark.parametrize("sep,name", [("\t", "tab"), ("|", "pipe"), (",", "comma")])
def test_utf8_with_bom_and_any_separator_is_read(tmp_path, sep, name):
    source = tmp_path / "people.txt"
    write(source, PEOPLE, header=("ID", "Given Name", "Last Name", "DOB", "Gender", "Area"),
          sep=sep, encoding="utf-8-sig")
    records = reading.read_records(source)
    assert records.frame.columns == list(HEADER)
    assert records.frame["given_name"][0] == "José"
    assert f"{name}-separated, UTF-8 with BOM" in records.notes[0]
    assert "'Last Name' as surname" in records.notes[1]


def test_us_dates_are_detected_and_said(tmp_path):
    rows = [(*r[:3], "04/03/1980", *r[4:]) for r in PEOPLE[:2]]
    rows += [(*r[:3], "12/25/1990", *r[4:]) for r in PEOPLE[2:4]]
    records = reading.read_records(write(tmp_path / "us.csv", rows))
    assert records.frame["date_of_birth"].to_list() == ["1980-04-03"] * 2 + ["1990-12-25"] * 2
    assert any("Dates read month first" in n for n in records.notes)
    assert not records.warnings


def test_an_undecided_order_is_a_warning_and_date_order_settles_it(tmp_path):
    rows = [(*r[:3], "04/03/1980", *r[4:]) for r in PEOPLE[:4]]
    source = write(tmp_path / "us.csv", rows)
    assumed = reading.read_records(source)
    assert assumed.frame["date_of_birth"][0] == "1980-03-04"
    assert "4 date(s) of birth are ambiguous (such as '04/03/1980')" in assumed.warnings[0]
    given_ = reading.read_records(source, date_order="mdy")
    assert given_.frame["date_of_birth"][0] == "1980-04-03" and not given_.warnings


def test_xlsx_is_read_too(tmp_path):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Person ID", "First name", "Surname", "Date of birth", "Sex", "Area"])
    for row in PEOPLE[:4]:
        sheet.append([*row[:3], dt.datetime.strptime(row[3], "%d/%m/%Y"), *row[4:]])
    book.save(tmp_path / "people.xlsx")
    records = reading.read_records(tmp_path / "people.xlsx")
    assert records.frame["date_of_birth"].to_list() == ["1980-04-03"] * 2 + ["1990-12-25"] * 2


def test_the_output_folder_is_checked_before_any_work(tmp_path):
    source = write(tmp_path / "people.csv", PEOPLE)
    out = dedupe("--input", str(source), "--output", str(tmp_path / "missing" / "pairs.csv"))
    assert out.exit_code == 1
    assert "The folder" in out.output and "does not exist" in out.output
    assert "Read 6 records" not in out.output  # refused before reading


def test_an_existing_output_is_overwritten_only_with_force(tmp_path):
    source = write(tmp_path / "people.csv", PEOPLE)
    target = tmp_path / "pairs.csv"
    target.write_text("keep me\n")
    out = dedupe("--input", str(source), "--output", str(target))
    assert out.exit_code == 1 and "exists: pass --force" in out.output
    assert target.read_text() == "keep me\n"
    same = dedupe("--input", str(source), "--output", str(source), "--force")
    assert same.exit_code == 1 and "The output is the input file" in same.output
    forced = dedupe("--input", str(source), "--output", str(target), "--force")
    assert forced.exit_code == 0, forced.output
    assert target.read_text().startswith("id_l,id_r,match_probability")


@pytest.mark.parametrize("content,words", [
    # A separator intake does not know: one column.
    ("id:given_name:surname:date_of_birth:sex:area\n1:A:B:1980-01-01:M:X\n"
     "2:A:B:1980-01-01:M:X\n", "not separated by , ; tab or |"),
    ("id,given_name,Surnme,date_of_birth,sex,area\n1,A,B,1980-01-01,M,X\n",
     "Missing column(s): surname. The file's columns are 'id', 'given_name', 'Surnme'"),
    ("id,given_name,Surnme,date_of_birth,sex,area\n1,A,B,1980-01-01,M,X\n",
     "'Surnme' looks like surname"),
    ("id,name,birth,sex,area\n1,A,1980-01-01,M,X\n",
     "Missing column(s): given_name, surname, date_of_birth"),
    ("id,given_name\n1,A,B,C\n", "Row 2 has 4 values but the header has 2 columns"),
    ("", "empty"),
    ("\x00\x01", "binary"),
])
def test_refused_files_say_why_in_our_words(tmp_path, content, words):
    source = tmp_path / "people.csv"
    source.write_text(content)
    out = dedupe("--input", str(source), "--output", str(tmp_path / "pairs.csv"))
    assert out.exit_code == 1, out.output
    assert words in out.output
    for leak in ("Traceback", "polars", "Polars", "hint", "splink", "Hint:"):
        assert leak not in out.output


def test_a_one_column_json_file_hints_at_its_separator(tmp_path):
    source = tmp_path / "people.json"
    source.write_text('[{"id:given_name:surname": "1:A:B"}, {"id:given_name:surname": "2:A:B"}]')
    with pytest.raises(LinkageError, match="whole header is one column containing ':'"):
        reading.read_records(source)


def test_a_file_without_a_known_extension_is_read_as_csv(tmp_path):
    records = reading.read_records(write(tmp_path / "people.dat", PEOPLE))
    assert records.frame.height == len(PEOPLE)


@pytest.mark.parametrize("args", [["--date-order", "ydm"], ["--threshold", "2"], []])
def test_usage_errors_exit_2(tmp_path, args):
    source = write(tmp_path / "people.csv", PEOPLE)
    base = ["--input", str(source), "--output", str(tmp_path / "o.csv")] if args else []
    assert dedupe(*base, *args).exit_code == 2


def test_title_rows_above_the_header_are_skipped_and_said_without_mapping_advice(tmp_path):
    source = write(tmp_path / "people.csv", PEOPLE, tail="")
    source.write_text("District register, March\n\n" + source.read_text())
    records = reading.read_records(source)
    assert records.frame.height == len(PEOPLE)
    said = " ".join(records.notes)
    assert "The column names were found on row 3" in said and "mapping" not in said
