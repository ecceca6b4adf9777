"""Source mappings: loading and its problems, translation, typing, and every row rule."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from spmis.intake.mapping import (
    ISSUE_SCHEMA,
    OUTPUT_SCHEMA,
    MappingError,
    apply_mapping,
    check_mapping_against_columns,
    load_mapping,
    luhn_series,
    validate,
)
from spmis.intake.mapping_cli import check_file
from spmis.synth.country import luhn_valid

TODAY = date(2025, 6, 30)
GOOD_NIN = "79927398713"  # Luhn-valid
OTHER_NIN = "12345678903"  # Luhn-valid

MAPPING = """
version: 1
source: MSW_MIS
record: beneficiary
national_id_check: luhn
fields:
  person_ref:    {from: "Beneficiary ID"}
  household_ref: {from: "HH_ID"}
  national_id:   {from: "NIN"}
  given_name:    {from: "First name"}
  family_name:   {from: "Surname"}
  sex:           {from: "Gender", codes: {"M": "M", "H": "M", "1": "M", "F": "F", "2": "F"}}
  date_of_birth: {from: "DOB", date_format: "%d/%m/%Y"}
  area:          {from: "Commune code"}
  relationship_to_head: {from: "Rel"}
  disability_level: {from: "WG"}
  date_of_death: {from: "DOD"}
  scheme:        {constant: "CHILD_GRANT"}
  enrolment_status: {from: "Status", codes: {"active": "ACTIVE", "stopped": "EXITED"},
                     default: "ACTIVE"}
  enrolment_start: {from: "Enrolled"}
  period:        {from: "Month", date_format: "%Y-%m"}
  amount:        {from: "Paid", unit: "major"}
  currency:      {constant: "USD"}
extensions:
  school_grade:  {from: "Grade"}
"""

ROW: dict[str, str | None] = {
    "Beneficiary ID": "B1", "HH_ID": "H1", "NIN": GOOD_NIN, "First name": "Awa",
    "Surname": "Diallo", "Gender": "F", "DOB": "15/03/1980", "Commune code": "XY0101",
    "Rel": "HEAD", "WG": "0", "DOD": None, "Status": "active", "Enrolled": "2024-01-01",
    "Month": "2025-05", "Paid": "15.00", "Grade": None,
}


def luhn_id(body: int) -> str:
    """``body`` with its Luhn check digit appended."""
    return next(f"{body}{d}" for d in range(10) if luhn_valid(f"{body}{d}"))


def frame(*rows: dict[str, str | None]) -> pl.DataFrame:
    """One file row per dict (overriding ROW), numbered from 2 as in a spreadsheet.

    By default each row is its own person heading their own household.
    """
    records = [{**ROW, "Beneficiary ID": f"B{i}", "HH_ID": f"H{i}",
                "NIN": luhn_id(1_000_000 + i), **row} for i, row in enumerate(rows, 1)]
    data = pl.DataFrame(records, schema=dict.fromkeys(ROW, pl.String))
    return data.with_columns(pl.int_range(2, data.height + 2, dtype=pl.Int64).alias("_row"))


def run(*rows: dict[str, str | None], text: str = MAPPING) -> tuple[pl.DataFrame, pl.DataFrame]:
    return apply_mapping(frame(*rows), load_mapping(text), today=TODAY)


def triples(issues: pl.DataFrame, rule: str | None = None) -> set[tuple[int, str, str]]:
    if rule is not None:
        issues = issues.filter(pl.col("rule") == rule)
    return {(r, c, u) for r, c, u in issues.select("_row", "column", "rule").iter_rows()}


def problems(text: str) -> list[str]:
    with pytest.raises(MappingError) as caught:
        load_mapping(text)
    return caught.value.problems


def with_fields(**changes: str) -> str:
    """The minimal valid mapping with some field lines added or replaced."""
    fields = {
        "person_ref": '{from: "ID"}', "given_name": '{from: "Name"}', "sex": '{from: "Sex"}',
        "date_of_birth": '{from: "DOB"}', "area": '{from: "Area"}', **changes,
    }
    lines = "\n".join(f"  {k}: {v}" for k, v in fields.items() if v)
    return f"version: 1\nfields:\n{lines}\n"


# --- loading ---------------------------------------------------------------------------------

def test_loads_the_full_example() -> None:
    mapping = load_mapping(MAPPING)
    assert mapping.version == 1 and mapping.source == "MSW_MIS"
    assert mapping.national_id_check == "luhn"
    assert mapping.columns_needed == {k for k in ROW}
    sex = mapping.field("sex")
    assert sex is not None and dict(sex.codes or ()) == {
        "M": "M", "H": "M", "1": "M", "F": "F", "2": "F"}
    assert [e.target for e in mapping.extensions] == ["school_grade"]


def test_json_is_accepted() -> None:
    text = json.dumps({"version": 1, "fields": {
        "person_ref": {"from": "ID"}, "family_name": {"from": "N"}, "sex": {"constant": "U"},
        "date_of_birth": {"from": "D"}, "area": {"from": "A"}}})
    assert load_mapping(text).field("sex") is not None


def test_unquoted_numbers_in_codes_are_text() -> None:
    mapping = load_mapping(with_fields(sex='{from: "Sex", codes: {1: M, 2: F}}'))
    sex = mapping.field("sex")
    assert sex is not None and dict(sex.codes or ()) == {"1": "M", "2": "F"}


@pytest.mark.parametrize(("text", "expected"), [
    ("version: 1\nfields: [1, 2", "mapping is not valid YAML: line"),
    ('{"version": 1,', "mapping is not valid JSON: line 1"),
    ("- just\n- a list\n", "mapping: must be a table of keys"),
    (with_fields() + "version: 1\n", "mapping is not valid YAML: line 8: key 'version' appears "
                                     "twice"),
])
def test_unreadable_text(text: str, expected: str) -> None:
    assert problems(text)[0].startswith(expected)


@pytest.mark.parametrize(("text", "expected"), [
    (with_fields().replace("version: 1\n", ""), "version: required; write 'version: 1'"),
    (with_fields().replace("version: 1", "version: 2"),
     "version: 2 is not a known mapping format version; write 'version: 1'"),
    (with_fields() + "record: household\n",
     "record: 'household' is not a record type; use one of beneficiary"),
    (with_fields() + "source: [a]\n", "source: must be text"),
    (with_fields() + "national_id_check: verhoeff\n",
     "national_id_check: 'verhoeff' is not a known check; use one of luhn or leave it out"),
    (with_fields() + "colour: blue\n", "colour: unknown key; the keys are version, source,"),
    ("version: 1\n", "fields: required: a table of target field"),
    (with_fields(height='{from: "H"}'), "fields.height: unknown target field; the target "
                                        "fields are person_ref, household_ref"),
    (with_fields(sex='"Gender"'), "fields.sex: must be a table such as {from: \"Column\"}"),
    (with_fields(sex='{from: "Sex", colour: red}'),
     "fields.sex.colour: unknown key; the keys are from, constant, codes"),
    (with_fields(sex='{from: "Sex", constant: "M"}'),
     "fields.sex: give exactly one of 'from' (a column) or 'constant' (a value); it has both"),
    (with_fields(sex="{codes: {M: M}}"),
     "fields.sex: give exactly one of 'from' (a column) or 'constant' (a value); it has neither"),
    (with_fields(sex="{from: [a]}"), "fields.sex.from: must be a column name (text)"),
    (with_fields(sex="{constant: 1.5}"),
     "fields.sex.constant: must be text (put numbers and dates in quotes)"),
    (with_fields(sex='{from: "Sex", codes: [M, F]}'),
     "fields.sex.codes: must be a table of text to text"),
    (with_fields(sex='{from: "Sex", codes: {yes: M}}'),
     "fields.sex.codes: must be a table of text to text"),
    (with_fields(sex='{from: "Sex", codes: {"1": "MALE", "2": "X"}}'),
     "fields.sex.codes: 'MALE', 'X' is not a valid sex; use one of M, F, U"),
    (with_fields(sex='{from: "Sex", upper: "yes"}'), "fields.sex.upper: must be true or false"),
    (with_fields(sex='{from: "Sex", strip: 0}'), "fields.sex.strip: must be true or false"),
    (with_fields(sex='{from: "Sex", default: [M]}'),
     "fields.sex.default: must be text (put numbers and dates in quotes)"),
    (with_fields(sex='{constant: "M", codes: {M: M}}'),
     "fields.sex.codes: a constant needs no codes; give the target value"),
    (with_fields(sex='{from: "Sex", date_format: "%Y"}'),
     "fields.sex.date_format: only date fields take a date_format (date_of_birth,"),
    (with_fields(date_of_birth='{from: "DOB", date_format: 1990}'),
     "fields.date_of_birth.date_format: must be text such as \"%d/%m/%Y\""),
    (with_fields(date_of_birth='{from: "DOB", date_format: "%d/%m"}'),
     "fields.date_of_birth.date_format: '%d/%m' is not a date format with a year and a month"),
    (with_fields(date_of_birth='{from: "DOB", date_format: "%Y-%m-%Q"}'),
     "fields.date_of_birth.date_format: '%Y-%m-%Q' is not a date format"),
    (with_fields(sex='{from: "Sex", unit: "major"}'),
     "fields.sex.unit: only amount and annual_income take a unit"),
    (with_fields(amount='{from: "Paid"}', currency='{constant: "USD"}',
                 period='{from: "M"}', scheme='{constant: "S"}'),
     "fields.amount.unit: required: 'major' (15.10 means 15 dollars 10 cents) or 'minor'"),
    (with_fields(amount='{from: "Paid", unit: cents}', currency='{constant: "USD"}',
                 period='{from: "M"}', scheme='{constant: "S"}'),
     "fields.amount.unit: required: 'major'"),
    (with_fields(sex='{constant: "X"}'), "fields.sex.constant: sex must be one of M, F, U"),
    (with_fields(sex='{from: "Sex", default: "Q"}'),
     "fields.sex.default: sex must be one of M, F, U"),
    (with_fields(date_of_birth='{constant: "31/12/1990"}'),
     "fields.date_of_birth.constant: date of birth is not a date in the form 1990-12-31"),
    (with_fields(disability_level='{constant: "7"}'),
     "fields.disability_level.constant: disability level must be one of 0, 1, 2, 3"),
    (with_fields(person_ref=""), "fields.person_ref: required; every person needs one"),
    (with_fields(sex=""), "fields.sex: required; every person needs one"),
    (with_fields(date_of_birth=""), "fields.date_of_birth: required"),
    (with_fields(area=""), "fields.area: required"),
    (with_fields(given_name=""), "fields.given_name: required: map given_name or family_name"),
    (with_fields(amount='{from: "Paid", unit: minor}'),
     "fields.currency: required when amount is mapped"),
    (with_fields(enrolment_status='{constant: "ACTIVE"}'),
     "fields.scheme: required when enrolment_status is mapped"),
    (with_fields() + "extensions: [a]\n", "extensions: must be a table of name -> "),
    (with_fields() + "extensions:\n  2nd grade: {from: G}\n",
     "extensions.2nd grade: a name must be letters, digits and _"),
    (with_fields() + "extensions:\n  grade: {from: G, unit: major}\n",
     "extensions.grade.unit: unknown key; the keys are from, constant, codes, default"),
])
def test_each_problem_says_where_and_what(text: str, expected: str) -> None:
    found = problems(text)
    assert any(p.startswith(expected) for p in found), found


def test_all_problems_are_reported_at_once() -> None:
    text = with_fields(sex='{from: "Sex", constant: "M"}', height="{from: H}",
                       date_of_birth="").replace("version: 1", "version: 3")
    found = problems(text)
    assert len(found) == 4
    assert [p.split(":")[0] for p in found] == [
        "version", "fields.sex", "fields.height", "fields.date_of_birth"]
    assert str(MappingError(found)).count(";") >= 3


def test_missing_columns_are_named_with_what_they_are_for() -> None:
    mapping = load_mapping(MAPPING)
    columns = [c for c in ROW if c not in ("DOB", "Grade")] + ["Dob"]
    found = check_mapping_against_columns(mapping, columns)
    assert len(found) == 2
    assert found[0].startswith("column 'DOB' (for date_of_birth) is not in the file "
                               "(did you mean 'Dob'?); the file has: 'Beneficiary ID', ")
    assert found[1].startswith("column 'Grade' (for extension school_grade) is not in the file")
    assert check_mapping_against_columns(mapping, list(ROW)) == []
    with pytest.raises(MappingError, match="column 'DOB'"):
        apply_mapping(frame({}).drop("DOB"), mapping, today=TODAY)


# --- translating and typing ------------------------------------------------------------------

def test_clean_row_maps_to_typed_columns_without_issues() -> None:
    mapped, issues = run({"Grade": "4"})
    assert issues.is_empty(), issues
    assert mapped.schema == pl.Schema(OUTPUT_SCHEMA)
    row = mapped.row(0, named=True)
    assert row == {
        "_row": 2, "person_ref": "B1", "household_ref": "H1", "national_id": "10000016",
        "given_name": "Awa", "family_name": "Diallo", "sex": "F",
        "date_of_birth": date(1980, 3, 15), "date_of_death": None, "area": "XY0101",
        "address": None, "relationship_to_head": "HEAD", "disability_level": 0,
        "registered_on": None, "scheme": "CHILD_GRANT", "enrolment_status": "ACTIVE",
        "enrolment_start": date(2024, 1, 1), "period": date(2025, 5, 1), "amount_minor": 1500,
        "currency": "USD", "paid_on": None, "annual_income_minor": None,
        "extension": '{"school_grade":"4"}',
    }


def test_sex_codes_translate_m_h_1_to_male() -> None:
    mapped, issues = run({"Gender": "M"}, {"Gender": "H"}, {"Gender": "1"}, {"Gender": " 2 "},
                         {"Gender": "F"})
    assert issues.is_empty()
    assert mapped["sex"].to_list() == ["M", "M", "M", "F", "F"]


def test_upper_and_default() -> None:
    text = MAPPING.replace('codes: {"M": "M"', 'upper: true, codes: {"M": "M"')
    mapped, issues = run({"Gender": "h"}, {"Status": "stopped"}, {"Status": ""},
                         {"Status": "unheard of"}, text=text)
    assert issues.is_empty()
    assert mapped["sex"].to_list()[0] == "M"
    assert mapped["enrolment_status"].to_list() == ["ACTIVE", "EXITED", "ACTIVE", "ACTIVE"]


def test_strip_false_keeps_spaces() -> None:
    text = MAPPING.replace('{from: "Surname"}', '{from: "Surname", strip: false}')
    mapped, _ = run({"Surname": " Ba "}, text=text)
    assert mapped["family_name"].to_list() == [" Ba "]


@pytest.mark.parametrize(("fmt", "raw", "expected"), [
    ("%d/%m/%Y", "31/12/1990", date(1990, 12, 31)),
    ("%d/%m/%Y", "1/2/1990", date(1990, 2, 1)),
    ("%m/%d/%Y", "12/31/1990", date(1990, 12, 31)),
    ("%Y-%m-%d", "1990-12-31", date(1990, 12, 31)),
    ("%d.%m.%y", "31.12.90", date(1990, 12, 31)),
    ("%d %b %Y", "31 Dec 1990", date(1990, 12, 31)),
    ("%Y%m%d", "19901231", date(1990, 12, 31)),
    ("%d/%m/%Y", "31/02/1990", None),
    ("%d/%m/%Y", "1990-12-31", None),
])
def test_date_formats(fmt: str, raw: str, expected: date | None) -> None:
    text = MAPPING.replace('date_format: "%d/%m/%Y"', f'date_format: "{fmt}"')
    mapped, issues = run({"DOB": raw}, text=text)
    assert mapped["date_of_birth"].to_list() == [expected]
    assert triples(issues, "date") == (set() if expected else {(2, "DOB", "date")})


def test_period_is_the_first_of_its_month() -> None:
    text = MAPPING.replace('{from: "Month", date_format: "%Y-%m"}', '{from: "Month"}')
    mapped, _ = run({"Month": "2025-05-17"}, text=text)
    assert mapped["period"].to_list() == [date(2025, 5, 1)]


@pytest.mark.parametrize(("raw", "currency", "expected"), [
    ("15.10", "USD", 1510), ("15.1", "USD", 1510), ("15", "USD", 1500), ("15.", "USD", 1500),
    ("0.07", "USD", 7), ("19.99", "USD", 1999), ("15.100", "USD", 1510),
    ("1234567890123.45", "USD", 123456789012345), ("+3.50", "USD", 350), ("-0.5", "USD", -50),
    ("1500", "XOF", 1500), ("1500.00", "XOF", 1500), ("1.234", "KWD", 1234),
    ("15.105", "USD", None), ("15,10", "USD", None), ("1e3", "USD", None), ("abc", "USD", None),
    (".5", "USD", None), ("1500.5", "XOF", None),
])
def test_major_amounts_are_exact(raw: str, currency: str, expected: int | None) -> None:
    text = MAPPING.replace('constant: "USD"', f'constant: "{currency}"')
    mapped, issues = run({"Paid": raw}, text=text)
    assert mapped["amount_minor"].to_list() == [expected]
    if expected is not None and expected >= 0:
        assert (Decimal(raw) * 10 ** {"USD": 2, "XOF": 0, "KWD": 3}[currency]) == expected
    assert ((2, "Paid", "number") in triples(issues)) == (expected is None)


def test_every_cent_from_0_to_100_dollars_is_exact() -> None:
    cents = list(range(10_001))
    raws = [f"{c // 100}.{c % 100:02d}" for c in cents]
    mapped, issues = run(*({"Paid": r} for r in raws))
    assert mapped["amount_minor"].to_list() == cents
    assert issues.filter(pl.col("rule") == "number").is_empty()


def test_minor_amounts() -> None:
    text = MAPPING.replace('unit: "major"', 'unit: "minor"')
    mapped, issues = run({"Paid": "1510"}, {"Paid": "15.10"}, text=text)
    assert mapped["amount_minor"].to_list() == [1510, None]
    assert triples(issues) == {(3, "Paid", "number")}


def test_extensions_are_json_text_or_null() -> None:
    text = MAPPING.replace(
        '  school_grade:  {from: "Grade"}',
        '  school_grade:  {from: "Grade", codes: {"P1": "1", "P2": "2"}}\n'
        '  programme:     {constant: "nutrition"}')
    mapped, issues = run({"Grade": "P2"}, {"Grade": None}, {"Grade": "P9"}, text=text)
    got = [json.loads(v) for v in mapped["extension"].to_list()]
    assert got == [{"school_grade": "2", "programme": "nutrition"},
                   {"school_grade": None, "programme": "nutrition"},
                   {"school_grade": None, "programme": "nutrition"}]
    assert triples(issues) == {(4, "Grade", "code_list")}
    plain, _ = run({"Grade": None})
    assert plain["extension"].to_list() == [None]


# --- rules -----------------------------------------------------------------------------------

def test_required() -> None:
    _, issues = run({"Beneficiary ID": None}, {"First name": "", "Surname": " "},
                    {"First name": None}, {"Gender": None}, {"DOB": None},
                    {"Commune code": "  "})
    assert triples(issues, "required") == {
        (2, "Beneficiary ID", "required"), (3, "First name", "required"),
        (5, "Gender", "required"), (6, "DOB", "required"), (7, "Commune code", "required")}
    messages = dict(issues.select("column", "message").iter_rows())
    assert messages["DOB"] == "date of birth is required; fill in column 'DOB'"
    assert messages["First name"] == ("the person has neither a given name nor a family name; "
                                      "fill in column 'First name'")


def test_code_list() -> None:
    _, issues = run({"Gender": "X"}, {"Rel": "BOSS"}, {"WG": "4"}, {"WG": "some"},
                    {"Gender": "U"})  # a valid sex, but not in this source's codes
    assert triples(issues) == {
        (2, "Gender", "code_list"), (3, "Rel", "code_list"), (4, "WG", "code_list"),
        (5, "WG", "code_list"), (6, "Gender", "code_list")}
    first = issues.row(0, named=True)
    assert first["value"] == "X"
    assert first["message"].startswith("this value is not in the codes table for sex; correct "
                                       "the value, or add it to the mapping's codes for sex")
    rel = issues.filter(pl.col("column") == "Rel")["message"][0]
    assert rel.startswith("relationship to head must be one of HEAD, SPOUSE, CHILD")
    no_default = MAPPING.replace('},\n                     default: "ACTIVE"}', "}}")
    assert no_default != MAPPING
    _, issues = run({"Status": "gone"}, text=no_default)
    assert triples(issues) == {(2, "Status", "code_list")}


def test_date_and_message() -> None:
    _, issues = run({"DOB": "1980-03-15"}, {"Enrolled": "soon"}, {"DOD": "2020-02-30"})
    assert triples(issues) == {(2, "DOB", "date"), (3, "Enrolled", "date"),
                               (4, "DOD", "date")}
    assert issues["message"][0] == (
        "date of birth is not a date in the form 31/12/1990 (%d/%m/%Y); correct column 'DOB' "
        "or the mapping's date_format")


def test_future_date() -> None:
    _, issues = run({"DOB": "01/07/2025"}, {"DOD": "2025-07-01"}, {"Enrolled": "2026-01-01"},
                    {"DOB": "30/06/2025", "Rel": "CHILD"})
    assert triples(issues, "future_date") == {
        (2, "DOB", "future_date"), (3, "DOD", "future_date"), (4, "Enrolled", "future_date")}
    assert issues.filter(pl.col("rule") == "future_date")["message"][0] == (
        "date of birth is after today (2025-06-30); correct the date (is the day/month order "
        "right?)")


def test_range() -> None:
    _, issues = run({"DOB": "29/06/1904"}, {"DOB": "01/07/1904"},  # 121; 120 until tomorrow
                    {"DOB": "01/01/1900", "DOD": "2010-01-01"}, {"Paid": "-1.00"},
                    {"DOB": "01/01/1980", "DOD": "1979-12-31"}, {"Paid": "0"})
    assert triples(issues) == {
        (2, "DOB", "range"), (5, "Paid", "range"), (6, "DOD", "range")}
    values = dict(((r, c), v) for r, c, v in issues.select("_row", "column", "value").iter_rows())
    assert values[(5, "Paid")] == "-1.00" and values[(6, "DOD")] == "1979-12-31"


def test_age_relationship() -> None:
    _, issues = run(
        {"HH_ID": "A", "Rel": "HEAD", "DOB": "01/01/1980"},
        {"HH_ID": "A", "Rel": "CHILD", "DOB": "01/01/1979"},      # older than the head
        {"HH_ID": "A", "Rel": "GRANDCHILD", "DOB": "01/01/1970"},  # older than the head
        {"HH_ID": "A", "Rel": "CHILD", "DOB": "01/01/2005"},
        {"HH_ID": "A", "Rel": "PARENT", "DOB": "01/01/1950"},
        {"HH_ID": "B", "Rel": "HEAD", "DOB": "01/07/2013"},      # 11 years old
        {"HH_ID": "C", "Rel": "HEAD", "DOB": "30/06/2013"},      # 12 today
        {"HH_ID": None, "Rel": "CHILD", "DOB": "01/01/1900"},    # no household to compare
        {"HH_ID": "D", "Rel": "CHILD", "DOB": "01/01/1950"},     # household without head
    )
    assert triples(issues, "age_relationship") == {
        (3, "DOB", "age_relationship"), (4, "DOB", "age_relationship"),
        (7, "DOB", "age_relationship")}


def test_duplicate_id() -> None:
    _, issues = run(
        {"Beneficiary ID": "P1", "HH_ID": "H", "NIN": GOOD_NIN, "Month": "2025-04"},
        {"Beneficiary ID": "P1", "HH_ID": "H", "NIN": GOOD_NIN, "Month": "2025-05"},  # fine
        {"Beneficiary ID": "P2", "NIN": OTHER_NIN, "HH_ID": "H2"},
        {"Beneficiary ID": "P2", "NIN": OTHER_NIN, "HH_ID": "H2", "Surname": "Ba"},
        {"Beneficiary ID": "P3", "NIN": "4111111111111111"},
        {"Beneficiary ID": "P4", "NIN": "4111111111111111"},  # same NIN, two people
        {"Beneficiary ID": "P5", "NIN": None},
        {"Beneficiary ID": "P6", "NIN": None},
    )
    assert triples(issues, "duplicate_id") == {
        (4, "Beneficiary ID", "duplicate_id"), (5, "Beneficiary ID", "duplicate_id"),
        (6, "NIN", "duplicate_id"), (7, "NIN", "duplicate_id")}


def test_check_digit() -> None:
    rows = [{"NIN": n} for n in (GOOD_NIN, "79927398710", "ABC", "7", None, " 79927398713 ")]
    _, issues = run(*rows)
    assert triples(issues, "check_digit") == {(3, "NIN", "check_digit"),
                                              (4, "NIN", "check_digit"),
                                              (5, "NIN", "check_digit")}
    _, unchecked = run(*rows, text=MAPPING.replace("national_id_check: luhn\n", ""))
    assert triples(unchecked, "check_digit") == set()


def test_luhn_series_agrees_with_luhn_valid() -> None:
    values = [str(n) for n in range(0, 20_000, 7)] + [GOOD_NIN, OTHER_NIN, "0" * 36, "9" * 30]
    got = luhn_series(pl.Series(values)).to_list()
    assert got == [luhn_valid(v) for v in values]


def test_issues_frame_shape_and_order() -> None:
    _, issues = run({"Gender": "X", "DOB": "bad"}, {}, {"Paid": "-1"})
    assert issues.schema == pl.Schema(ISSUE_SCHEMA)
    assert issues["_row"].to_list() == sorted(issues["_row"].to_list())
    assert all(m and len(m) <= 400 for m in issues["message"])


def test_constant_is_reported_under_the_target_field() -> None:
    text = MAPPING.replace('{from: "Commune code"}', '{constant: "XY0101"}').replace(
        '{from: "DOB", date_format: "%d/%m/%Y"}', '{constant: "2030-01-01"}')
    _, issues = apply_mapping(frame({"Rel": "SPOUSE"}).drop("DOB", "Commune code"),
                              load_mapping(text),
                              today=TODAY)
    assert triples(issues) == {(2, "date_of_birth", "future_date")}
    assert issues["value"].to_list() == ["2030-01-01"]


def test_validate_works_on_mapped_rows_directly() -> None:
    mapped, _ = run({}, {"NIN": "79927398710"})
    mapped = mapped.with_columns(
        pl.when(pl.col("_row") == 2).then(pl.lit("Z")).otherwise(pl.col("sex")).alias("sex"))
    issues = validate(mapped.drop("extension", "address"), today=TODAY,
                      national_id_check=lambda e: e.map_batches(luhn_series,
                                                                return_dtype=pl.Boolean))
    assert triples(issues) == {(2, "sex", "code_list"), (3, "national_id", "check_digit")}


def test_a_row_with_no_issues_is_left_as_it_came() -> None:
    _, issues = run({"Beneficiary ID": None, "Gender": "X"}, {})
    assert 3 not in issues["_row"].to_list()


# --- properties ------------------------------------------------------------------------------

_text = st.one_of(st.none(), st.text(max_size=12),
                  st.sampled_from(["", " ", "M", "H", "1", "2", "HEAD", "CHILD", "15.10", "-3",
                                   "01/01/1990", "31/02/2000", "2024-01-01", "2024-13",
                                   GOOD_NIN, "9" * 40, "\x00", "é"]))


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.fixed_dictionaries({k: _text for k in ROW}), min_size=0, max_size=25))
def test_apply_mapping_never_raises_and_clean_rows_are_complete(
        rows: list[dict[str, Any]]) -> None:
    data = pl.DataFrame(rows, schema=dict.fromkeys(ROW, pl.String)).with_row_index(
        "_row", offset=2).with_columns(pl.col("_row").cast(pl.Int64))
    mapped, issues = apply_mapping(data, load_mapping(MAPPING), today=TODAY)
    assert mapped.height == data.height
    assert mapped["_row"].to_list() == data["_row"].to_list()
    assert issues.schema == pl.Schema(ISSUE_SCHEMA)
    clean = mapped.join(issues.select("_row").unique(), on="_row", how="anti")
    for column in ("person_ref", "sex", "date_of_birth", "area"):
        assert clean[column].null_count() == 0
    names = clean.select(pl.col("given_name").is_not_null() | pl.col("family_name").is_not_null())
    assert names.to_series().all()
    assert clean.filter(pl.col("amount_minor") < 0).is_empty()


@settings(max_examples=25, deadline=None)
@given(st.lists(st.decimals(min_value=0, max_value=10**12, places=2, allow_nan=False,
                            allow_infinity=False), min_size=1, max_size=40))
def test_amounts_match_decimal(amounts: list[Decimal]) -> None:
    mapped, _ = run(*({"Paid": f"{a:f}"} for a in amounts))
    assert mapped["amount_minor"].to_list() == [int(a * 100) for a in amounts]


# --- the check command -----------------------------------------------------------------------

def test_check_file(tmp_path: Path) -> None:
    good, bad = tmp_path / "good.yaml", tmp_path / "bad.yaml"
    good.write_text(MAPPING, encoding="utf-8")
    bad.write_text(with_fields(sex="{}"), encoding="utf-8")
    assert check_file(str(good)) == []
    assert check_file(str(bad)) == ["fields.sex: give exactly one of 'from' (a column) or "
                                    "'constant' (a value); it has neither"]
    assert check_file(str(tmp_path / "none.yaml"))[0].startswith(
        f"{tmp_path / 'none.yaml'}: cannot read the mapping")


def test_check_file_against_a_sample(tmp_path: Path) -> None:
    mapping = tmp_path / "m.yaml"
    mapping.write_text(MAPPING, encoding="utf-8")
    sample = tmp_path / "sample.csv"
    rows = frame({}, {"Gender": "X"}, {"Gender": "X", "DOB": "1990-01-01"}, {"Gender": "Y"},
                 {"First name": None, "Surname": None})
    rows.drop("_row").write_csv(sample, separator=";")
    found = check_file(str(mapping), sample=str(sample))
    assert found == [
        "column 'Gender': 3 of 5 sample rows, e.g. 'X', 'Y': this value is not in the codes "
        "table for sex; correct the value, or add it to the mapping's codes for sex (or give "
        "a default)",
        "column 'DOB': 1 of 5 sample rows, e.g. '1990-01-01': date of birth is not a date in "
        "the form 31/12/1990 (%d/%m/%Y); correct column 'DOB' or the mapping's date_format",
    ]
    rows.drop("_row", "DOB").write_csv(sample)
    assert check_file(str(mapping), sample=str(sample))[0].startswith(
        "column 'DOB' (for date_of_birth) is not in the file; the file has: 'Beneficiary ID'")
    parquet = tmp_path / "sample.parquet"
    rows.drop("_row").write_parquet(parquet)
    assert len(check_file(str(mapping), sample=str(parquet))) == 2
