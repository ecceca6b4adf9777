"""Mappings that fit real files: header row, groups, number conventions, blanks and unknowns,
derived fields, row shape, and the one reading path shared by submit and ``mapping check``."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal
from pathlib import Path

import openpyxl
import polars as pl
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from spmis.intake.mapping import (
    MappingError,
    apply_mapping,
    code_warnings,
    load_mapping,
    read_data,
)
from spmis.intake.mapping_cli import check_report
from spmis.intake.parsers import ParseError, parse_file

TODAY = date(2026, 6, 30)

BASE = """
version: 1
fields:
  person_ref:    {from: "id"}
  given_name:    {from: "name"}
  sex:           {constant: "F"}
  date_of_birth: {constant: "1980-01-01"}
  area:          {constant: "C1"}
"""


def mapping(extra_fields: str = "", top: str = "") -> str:
    return BASE.replace("version: 1\n", "version: 1\n" + top) + extra_fields


def run(text: str, **columns: list[str | None]) -> tuple[pl.DataFrame, pl.DataFrame]:
    n = len(next(iter(columns.values())))
    frame = pl.DataFrame({"id": [f"P{i}" for i in range(n)], "name": ["Ann"] * n,
                          **columns}, schema_overrides=dict.fromkeys(columns, pl.String))
    return apply_mapping(frame.with_row_index("_row", offset=2), load_mapping(text),
                         today=TODAY)


# --- header row -----------------------------------------------------------------------------

def _xlsx(rows: list[list[object]]) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    for r in rows:
        sheet.append(r)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_header_found_below_a_title_and_a_blank_row_and_said_so() -> None:
    text = "Lista de beneficiarios;;\n;;\nid;name;amount\nP1;Ann;1\n"
    parsed = parse_file(text.encode(), filename="x.csv")
    assert parsed.frame.columns == ["id", "name", "amount", "_row"]
    assert parsed.frame["_row"].to_list() == [4]
    assert len(parsed.notes) == 1 and "row 3" in parsed.notes[0]
    assert "header_row: 3" in parsed.notes[0]
    book = _xlsx([["Relatório mensal"], [], ["id", "name"], ["P1", "Ann"]])
    parsed = parse_file(book, filename="x.xlsx")
    assert parsed.frame.rows() == [("P1", "Ann", 4)]
    assert "row 3" in parsed.notes[0]


def test_explicit_header_row_is_used_without_a_note() -> None:
    text = "Report;x;y\nid;name;amount\nP1;Ann;1\n"
    parsed = parse_file(text.encode(), filename="x.csv", header_row=2)
    assert parsed.frame.columns == ["id", "name", "amount", "_row"] and parsed.notes == ()
    with pytest.raises(ParseError, match="header_row is 9"):
        parse_file(text.encode(), filename="x.csv", header_row=9)
    assert load_mapping(mapping(top="header_row: 2\n")).header_row == 2
    with pytest.raises(MappingError, match="header_row: the row that names the columns"):
        load_mapping(mapping(top="header_row: 0\n"))


def test_a_first_row_that_names_the_columns_stays_the_header() -> None:
    parsed = parse_file(b"2024,2025\n1,2\n", filename="x.csv")
    assert parsed.frame.columns == ["2024", "2025", "_row"] and parsed.notes == ()


# --- group prefixes -------------------------------------------------------------------------

def test_slash_in_an_ordinary_csv_header_is_kept() -> None:
    parsed = parse_file("id;Sexo (H/M);a/b\nP1;H;x\n".encode("cp1252"), filename="x.csv")
    assert parsed.format == "csv"
    assert parsed.frame.columns == ["id", "Sexo (H/M)", "a/b", "_row"]


def test_groups_stripped_for_kobo_exports_and_when_declared() -> None:
    kobo = "household/member/name,_uuid,_submission_time\nAnn,u1,2026-01-01\n"
    parsed = parse_file(kobo.encode("utf-8-sig"), filename="x.csv")
    assert parsed.format == "odk" and parsed.frame.columns[0] == "name"
    assert "'_uuid'" in parsed.notes[0] and "groups: keep" in parsed.notes[0]
    kept = parse_file(kobo.encode(), filename="x.csv", groups="keep")
    assert kept.frame.columns[0] == "household/member/name"
    plain = parse_file(b"grp/name,grp/age\nAnn,3\n", filename="x.csv", groups="strip")
    assert plain.frame.columns == ["name", "age", "_row"] and plain.notes == ()
    assert load_mapping(mapping(top="groups: strip\n")).groups == "strip"
    with pytest.raises(MappingError, match="groups: write 'strip'"):
        load_mapping(mapping(top="groups: yes\n"))


# --- numbers --------------------------------------------------------------------------------

AMOUNT = """  scheme: {constant: "CHILD_GRANT"}
  currency: {constant: "USD"}
  amount: {from: "paid", unit: major%s}
"""


@pytest.mark.parametrize(("convention", "value", "minor"), [
    ("", "1234.56", 123456),
    (", decimal: ','", "128,47", 12847),
    (", decimal: ',', thousands: '.'", "1.234,56", 123456),
    (", thousands: ','", "1,234.56", 123456),
    (", decimal: ',', thousands: ' '", "1\u00a0234,5", 123450),
    (", decimal: ',', thousands: ' '", "12 345 678,9", 1234567890),
])  # fmt: skip
def test_amounts_in_each_convention(convention: str, value: str, minor: int) -> None:
    mapped, issues = run(mapping(AMOUNT % convention), paid=[value])
    assert mapped["amount_minor"].to_list() == [minor] and issues.height == 0


@pytest.mark.parametrize(("convention", "value"), [
    ("", "128,47"),  # a decimal comma where a point is declared
    (", decimal: ','", "1.234,56"),  # thousands not declared
    (", decimal: ',', thousands: '.'", "1,234.56"),  # the other convention
    (", decimal: ',', thousands: '.'", "12.34"),  # not groups of three
    (", thousands: ','", "1,234,5"),
    ("", "1.234"),  # three decimals in a two-decimal currency
])  # fmt: skip
def test_a_value_outside_the_convention_is_an_issue_never_rescaled(convention: str,
                                                                    value: str) -> None:
    mapped, issues = run(mapping(AMOUNT % convention), paid=[value])
    assert mapped["amount_minor"].to_list() == [None]
    assert issues.select("rule", "value").rows() == [("number", value)]


def test_file_convention_applies_to_every_money_field_and_a_field_may_differ() -> None:
    text = mapping(AMOUNT % "" + "  annual_income: {from: income, unit: major, decimal: '.'}\n",
                   top="decimal: ','\nthousands: '.'\n")
    mapped, _ = run(text, paid=["1.234,5"], income=["1234.5"])
    assert mapped.select("amount_minor", "annual_income_minor").row(0) == (123450, 123450)
    with pytest.raises(MappingError, match=r"thousands: '\.' is also the decimal mark"):
        load_mapping(mapping(AMOUNT % ", thousands: '.'"))
    with pytest.raises(MappingError, match="only amount and annual_income take decimal"):
        load_mapping(mapping('  address: {from: a, decimal: ","}\n'))


def _written(minor: int, decimal: str, thousands: str | None) -> str:
    whole, cents = divmod(minor, 100)
    text = f"{whole:,}".replace(",", thousands or "")
    return f"{text}{decimal}{cents:02d}"


@settings(max_examples=60, deadline=None)
@given(minors=st.lists(st.integers(0, 10**13), min_size=1, max_size=30),
       convention=st.sampled_from([(".", None), (",", None), (",", "."), (".", ","),
                                   (",", " "), (".", "'")]))
def test_number_parser_round_trips_exactly(minors: list[int],
                                           convention: tuple[str, str | None]) -> None:
    decimal, thousands = convention
    spec = f", decimal: {decimal!r}" + (f", thousands: {thousands!r}" if thousands else "")
    written = [_written(m, decimal, thousands) for m in minors]
    mapped, issues = run(mapping(AMOUNT % spec), paid=written)
    assert mapped["amount_minor"].to_list() == minors and issues.height == 0


@settings(max_examples=60, deadline=None)
@given(minor=st.integers(100_000, 10**13).filter(lambda m: m % 100 != 0))
def test_number_in_the_other_convention_is_refused_never_rescaled(minor: int) -> None:
    as_us = _written(minor, ".", ",")  # 1,234.56
    mapped, issues = run(mapping(AMOUNT % ", decimal: ',', thousands: '.'"), paid=[as_us])
    assert mapped["amount_minor"].to_list() == [None] and issues["rule"].to_list() == ["number"]
    as_eu = _written(minor, ",", ".")  # 1.234,56
    mapped, issues = run(mapping(AMOUNT % ", thousands: ','"), paid=[as_eu])
    assert mapped["amount_minor"].to_list() == [None] and issues["rule"].to_list() == ["number"]


@settings(max_examples=40, deadline=None)
@given(value=st.decimals(0, 10**9, places=2, allow_nan=False, allow_infinity=False))
def test_decimal_comma_matches_decimal(value: Decimal) -> None:
    mapped, _ = run(mapping(AMOUNT % ", decimal: ','"), paid=[f"{value:f}".replace(".", ",")])
    assert mapped["amount_minor"].to_list() == [int(value * 100)]


# --- trimming, blanks and unknowns ----------------------------------------------------------

def test_values_are_trimmed() -> None:
    mapped, issues = run(mapping('  address: {from: a}\n  household_ref: {from: h}\n'),
                         a=["  12 Rua A \u00a0"], h=["\tH1 "])
    assert mapped.select("address", "household_ref").row(0) == ("12 Rua A", "H1")
    assert issues.height == 0


def test_a_blank_becomes_a_code_only_when_the_table_maps_blank() -> None:
    wg = '  disability_level: {from: wg, codes: {"Sim": "2", "Não": "0"%s}}\n'
    mapped, issues = run(mapping(wg % ""), wg=["Sim", None, "Não"])
    assert mapped["disability_level"].to_list() == [2, None, 0] and issues.height == 0
    mapped, issues = run(mapping(wg % ', "": "0"'), wg=["Sim", "  ", "Não"])
    assert mapped["disability_level"].to_list() == [2, 0, 0]
    # An explicit unknown: null leaves the value empty and is no error.
    mapped, issues = run(mapping(wg % ', "Não sabe": null'), wg=["Não sabe", "talvez"])
    assert mapped["disability_level"].to_list() == [None, None]
    assert issues.select("rule", "value").rows() == [("code_list", "talvez")]


def test_a_default_never_overrides_an_explicit_blank_or_unknown() -> None:
    sex = '  sex: {from: s, codes: {"H": "M", "M": "F", "": "U", "?": null}, default: "F"}\n'
    text = mapping().replace('  sex:           {constant: "F"}\n', sex)
    mapped, issues = run(text, s=["H", None, "Z", "M"])
    assert mapped["sex"].to_list() == ["M", "U", "F", "F"]
    mapped, issues = run(text, s=["?"])
    assert issues.select("rule").to_series().to_list() == ["required"]


# --- derived fields -------------------------------------------------------------------------

def test_join_columns_skipping_blanks() -> None:
    text = mapping('  family_name: {join: ["ap1", "ap2"]}\n'
                   '  address: {join: ["street", "town"], sep: ", "}\n')
    mapped, issues = run(text, ap1=["García", "Lopes ", None], ap2=["López", None, None],
                         street=["Rua A", None, "x"], town=["Maputo", "Beira", None])
    assert mapped["family_name"].to_list() == ["García López", "Lopes", None]
    assert mapped["address"].to_list() == ["Rua A, Maputo", "Beira", "x"]
    assert issues.height == 0


def test_split_a_full_name_and_a_double_surname() -> None:
    text = BASE.replace('  given_name:    {from: "name"}\n',
                        '  given_name:    {from: "full", part: first}\n'
                        '  family_name:   {from: "full", part: rest}\n')
    text += '  address: {from: "surnames", part: last}\n'
    mapped, _ = run(text, full=["Ana  María Pérez", "Zé", "DUBOIS, Amélie"],
                    surnames=["García López", "Silva", None])
    assert mapped.select("given_name", "family_name", "address").rows() == [
        ("Ana", "María Pérez", "López"), ("Zé", None, "Silva"), ("DUBOIS,", "Amélie", None)]
    comma = BASE.replace('  given_name:    {from: "name"}\n',
                         '  given_name:    {from: "full", part: last, sep: ","}\n'
                         '  family_name:   {from: "full", part: first, sep: ","}\n')
    mapped, _ = run(comma, full=["DUBOIS, Amélie"])
    assert mapped.select("given_name", "family_name").row(0) == ("Amélie", "DUBOIS")


WORD = st.text(alphabet=st.characters(categories=("L",), exclude_characters="\u0345"),
               min_size=1, max_size=8)


@settings(max_examples=80, deadline=None)
@given(words=st.lists(WORD, min_size=1, max_size=6), n=st.integers(1, 3),
       spaces=st.sampled_from([" ", "  ", " \t"]))
def test_name_parts_put_back_together_give_the_name(words: list[str], n: int,
                                                    spaces: str) -> None:
    text = BASE.replace('  given_name:    {from: "name"}\n',
                        f'  given_name:    {{from: "full", part: first, words: {n}}}\n'
                        f'  family_name:   {{from: "full", part: rest, words: {n}}}\n')
    text += (f'  address: {{from: "full", part: but_last, words: {n}}}\n'
             f'  household_ref: {{from: "full", part: last, words: {n}}}\n')
    mapped, _ = run(text, full=[" " + spaces.join(words) + spaces])
    given_, family, but_last, last = mapped.select(
        "given_name", "family_name", "address", "household_ref").row(0)
    whole = " ".join(words)
    assert " ".join(p for p in (given_, family) if p) == whole
    assert " ".join(p for p in (but_last, last) if p) == whole
    assert given_ == " ".join(words[:n]) and last == " ".join(words[-n:])
    joined, _ = run(BASE + '  address: {join: ["a", "b"]}\n',
                    a=[given_], b=[family])
    assert joined["address"].to_list() == [whole]


def test_member_id_from_household_and_row_order() -> None:
    text = BASE.replace('  person_ref:    {from: "id"}\n',
                        '  person_ref:    {member_of: "hh"}\n'
                        '  household_ref: {from: "hh"}\n')
    mapped, issues = run(text, hh=["H1", "H1", "H2", " H1", None, "H2"])
    assert mapped["person_ref"].to_list() == ["H1-1", "H1-2", "H2-1", "H1-3", None, "H2-2"]
    assert issues.select("_row", "rule").rows() == [(6, "required")]
    assert load_mapping(text).columns_needed == {"hh", "name"}


def test_derived_field_problems_say_where() -> None:
    with pytest.raises(MappingError) as found:
        load_mapping(mapping('  address: {join: "a"}\n  household_ref: {from: h, part: middle}\n'
                             '  national_id: {from: n, member_of: m}\n'
                             '  registered_on: {from: r, words: 2}\n'))
    text = "\n".join(found.value.problems)
    assert "fields.address.join: must be a list of column names" in text
    assert "fields.household_ref.part: must be one of first, last, rest, but_last" in text
    assert "fields.national_id: give only one of from, constant, join, member_of" in text
    assert "fields.registered_on.words: a whole number of words" in text


# --- warnings -------------------------------------------------------------------------------

def test_ambiguous_sex_codes_are_warned() -> None:
    spanish = mapping().replace('{constant: "F"}', '{from: s, codes: {"M": "M", "H": "M"}}')
    assert "mujer" in code_warnings(load_mapping(spanish))[0]
    ok = mapping().replace('{constant: "F"}', '{from: s, codes: {"H": "M", "M": "F"}}')
    assert code_warnings(load_mapping(ok)) == []
    cases = mapping().replace('{constant: "F"}', '{from: s, codes: {"m": "F", "M": "M"}}')
    warned = code_warnings(load_mapping(cases))
    assert any("the same code, written differently" in w for w in warned)


# --- row shape and the one reading path -----------------------------------------------------

ROWS_MAPPING = BASE.replace('  given_name:    {from: "name"}\n',
                            '  given_name:    {from: "name"}\n  address: {from: "town"}\n')


def test_short_and_long_rows_are_row_issues_and_trailing_blank_lines_ignored() -> None:
    text = "id;name;town\nP1;Ann;A\nP2;Bob\nP3;Cy;C;extra\nP4;Di;D;;\n\n;;\n\n"
    read = read_data(text.encode(), filename="x.csv", mapping=load_mapping(ROWS_MAPPING),
                     today=TODAY)
    assert read.parsed.frame["_row"].to_list() == [2, 3, 4, 5]
    shape = read.issues.filter(pl.col("rule") == "row_shape")
    assert shape.select("_row", "value").rows() == [(3, "2"), (4, "4")]
    assert "header names 3 columns" in shape["message"][0]
    with pytest.raises(ParseError, match="Row 3 has 2 values"):
        parse_file(text.encode(), filename="x.csv")  # without shape_issues: refused


def test_check_reads_the_file_as_submit_does(tmp_path: Path) -> None:
    (tmp_path / "m.yaml").write_text(
        ROWS_MAPPING.replace('{from: "name"}', '{from: "Nombre"}')
        .replace('{from: "town"}', '{from: "Sexo (H/M)"}'), encoding="utf-8")
    data = ("Padrón municipal;;\n;;\nid;Nombre;Sexo (H/M)\nP1;José;H\nP2;Inés\n\n"
            ).encode("cp1252")
    (tmp_path / "d.csv").write_bytes(data)
    report = check_report(str(tmp_path / "m.yaml"), sample=str(tmp_path / "d.csv"))
    assert "row 3" in report.notes[0]
    assert report.problems == [
        "row shape: 1 of 2 sample rows (row 5), e.g. this row has 2 values but the header "
        "names 3 columns: a value is missing, or a semicolon is missing, extra or inside an "
        "unquoted value; the row was not loaded"]
    book = _xlsx([["Lista"], [], ["id", "Nombre", "Sexo (H/M)"], ["P1", "Inês", "H"]])
    (tmp_path / "d.xlsx").write_bytes(book)
    report = check_report(str(tmp_path / "m.yaml"), sample=str(tmp_path / "d.xlsx"))
    assert report.problems == [] and "row 3" in report.notes[0]
    (tmp_path / "bad.xlsx").write_bytes(b"PK\x03\x04 not a workbook")
    report = check_report(str(tmp_path / "m.yaml"), sample=str(tmp_path / "bad.xlsx"))
    assert report.problems == [f"{tmp_path / 'bad.xlsx'}: The XLSX file is damaged or "
                               "truncated."]


def test_the_check_command_prints_notes_warnings_and_problems(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from spmis.cli.main import cli

    spanish = ROWS_MAPPING.replace('{from: "town"}', '{from: "Sexo (H/M)"}').replace(
        '  sex:           {constant: "F"}\n',
        '  sex:           {from: "Sexo (H/M)", codes: {"M": "M", "H": "M"}}\n')
    (tmp_path / "m.yaml").write_text(spanish, encoding="utf-8")
    (tmp_path / "d.csv").write_bytes("Padrón;;\nid;name;Sexo (H/M)\nP1;José;H\nP2;Inés;M\n"
                                     .encode("cp1252"))
    result = CliRunner().invoke(cli, ["intake", "mapping", "check", str(tmp_path / "m.yaml"),
                                      "--against", str(tmp_path / "d.csv")])
    assert result.exit_code == 0, result.output
    assert "note: The column names were found on row 2" in result.output
    assert "warning: fields.sex.codes: 'M' and 'H' both mean 'M'" in result.output
    assert "The mapping is valid." in result.output
    (tmp_path / "d.csv").write_bytes(b"id;name;Sexo (H/M)\nP1;Ann\nP2;Bo;X\n")
    result = CliRunner().invoke(cli, ["intake", "mapping", "check", str(tmp_path / "m.yaml"),
                                      "--against", str(tmp_path / "d.csv")])
    assert result.exit_code == 1
    assert "- row shape: 1 of 2 sample rows (row 2)" in result.output
    assert "- column 'Sexo (H/M)': 1 of 2 sample rows, e.g. 'X'" in result.output


@settings(max_examples=60, deadline=None)
@given(header=st.lists(st.text(alphabet="abcdefgh ", min_size=1, max_size=6).map(str.strip)
                       .filter(bool), min_size=2, max_size=5, unique=True),
       rows=st.lists(st.lists(st.sampled_from(["1", "x", "", "2,5", "Zoë"]), min_size=5,
                              max_size=5).filter(any), min_size=1, max_size=5),
       titles=st.lists(st.sampled_from(["Lista de beneficiários", "", "Janeiro 2026"]),
                       max_size=3))
def test_title_and_blank_rows_above_the_header_change_nothing_but_row_numbers(
        header: list[str], rows: list[list[str]], titles: list[str]) -> None:
    width = len(header)
    body = [";".join(header)] + [";".join(r[:width]) for r in rows if any(r[:width])]
    assume(len(body) > 1)  # a file of records, not a header alone (refused either way)
    plain = parse_file("\n".join(body).encode(), filename="x.csv")
    lines = [t + ";" * (width - 1) for t in titles] + body
    titled = parse_file("\n".join(lines).encode(), filename="x.csv")
    assert titled.frame.columns == plain.frame.columns
    assert titled.frame.drop("_row").rows() == plain.frame.drop("_row").rows()
    assert titled.frame["_row"].to_list() == [r + len(titles) for r in plain.frame["_row"]]
    assert bool(titled.notes) == any(titles)


def test_a_missing_column_refusal_says_where_the_header_was_found() -> None:
    text = "Lista;;\nid;nombre;town\nP1;Ann;A\n"
    with pytest.raises(MappingError) as found:
        read_data(text.encode(), filename="x.csv", mapping=load_mapping(ROWS_MAPPING),
                  today=TODAY)
    assert "column 'name' (for given_name) is not in the file" in found.value.problems[0]
    assert "found on row 2" in found.value.problems[-1]


def test_a_repeat_sheet_without_marker_columns_is_stripped_too() -> None:
    book = openpyxl.Workbook()
    book.active.append(["_uuid", "hh/name"])
    book.active.append(["u1", "Ann"])
    members = book.create_sheet("members")
    members.append(["hh/member/name", "hh/member/age"])
    members.append(["Cy", 3])
    out = io.BytesIO()
    book.save(out)
    parsed = parse_file(out.getvalue(), filename="k.xlsx")
    assert parsed.frame.columns == ["_uuid", "name", "_row"]
    assert parsed.sheets["members"].columns == ["name", "age", "_row"]
