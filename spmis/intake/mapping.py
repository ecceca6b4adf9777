"""Source mappings: turn a source file's columns into the minimum dataset, then check the rows.

A mapping is versioned data that an MIS officer edits, as YAML or JSON. Example::

    version: 1                # mapping format version (required; only 1 exists)
    source: MSW_MIS           # informative
    record: beneficiary       # one row = a person + optionally their household,
                              # one enrolment and one payment (the only record type)
    national_id_check: luhn   # optional: the country's national ID check digit
    other_periods: true       # optional: rows may pay other months than the submission's
                              # (arrears); without it such rows are refused (period_mismatch)
    header_row: 3             # optional: the row naming the columns (counted from 1); without
                              # it, found below title and blank rows (and a note says so)
    groups: strip             # optional: strip (or keep) group prefixes household/member/x;
                              # without it only ODK/Kobo exports' are stripped
    decimal: ","              # optional: the file's decimal mark for amounts, "." or ","
    thousands: "."            # optional: its thousands separator: "." "," " " or "'"
    fields:                   # target field -> how to get it
      person_ref:    {from: "Beneficiary ID"}          # the record's id in the source
      household_ref: {from: "HH_ID"}
      national_id:   {from: "NIN"}
      given_name:    {from: "First name"}
      family_name:   {from: "Surname"}
      sex:           {from: "Gender", codes: {"M": "M", "1": "M", "F": "F", "2": "F", "": "U"}}
      date_of_birth: {from: "DOB", date_format: "%d/%m/%Y"}
      area:          {from: "Commune code"}            # an area P-code
      relationship_to_head: {from: "Rel", codes: {"1": "HEAD", "3": "CHILD"}}
      disability_level: {from: "WG", codes: {"none": "0", "some": "1"}}
      date_of_death: {from: "DOD", date_format: "%Y-%m-%d"}
      scheme:        {constant: "CHILD_GRANT"}
      enrolment_status: {from: "Status", codes: {"active": "ACTIVE"}, default: "ACTIVE"}
      enrolment_start: {from: "Enrolled", date_format: "%Y-%m-%d"}
      period:        {from: "Month", date_format: "%Y-%m"}   # payment period, first of month;
                                                      # not mapped: the submission's period
      amount:        {from: "Paid", unit: "major"}    # "major" (15.10) or "minor" (1510)
      currency:      {constant: "USD"}
    extensions:               # per-scheme extra fields, kept as text in a JSON column
      school_grade:  {from: "Grade"}

Target fields: person_ref, household_ref, national_id, given_name, family_name, sex,
date_of_birth, date_of_death, area, address, relationship_to_head, disability_level,
registered_on, scheme, enrolment_status, enrolment_start, period, amount, currency, paid_on,
annual_income (a registry's figure, e.g. from tax records; needs currency and a unit).
A mapping must give person_ref, sex, date_of_birth, area and given_name or family_name;
amount needs currency and scheme (without period, a payment is for the submission's period);
enrolment_status/enrolment_start need scheme.

Each field spec has exactly one source:

``from``
    a column name.
``constant``
    a value, the same on every row.
``join``
    a list of columns joined with ``sep`` (default one space), blank ones skipped:
    ``family_name: {join: ["Primer apellido", "Segundo apellido"]}``.
``member_of``
    a household column: the value is the household id, ``sep`` (default ``-``) and the row's
    order within its household in the file (1, 2, ...), for one-row-per-member exports:
    ``person_ref: {member_of: "_parent_index"}`` gives ``12-1``, ``12-2``... The ids stay the
    same only while the office sends each household's members in the same order.

and optionally:

``part`` (with ``words``, default 1)
    keep only part of the value's words: ``first``, ``last``, ``rest`` (all but the first
    ``words``) or ``but_last`` (all but the last ``words``). Words are split on spaces, or on
    ``sep`` when given without ``join``: ``given_name: {from: "Nome", part: first}``,
    ``family_name: {from: "Nome", part: rest}``; ``{from: "Name", part: first, sep: ","}``
    takes ``DUBOIS`` from ``DUBOIS, Amélie``.

``strip`` (default true)
    trim spaces around the value; an empty value counts as missing.
``upper`` (default false)
    upper-case the value before looking it up in ``codes``.
``codes``
    a table of source value -> target value. A value not in the table is an error unless
    ``default`` is given. A blank cell stays blank (missing) unless the table maps ``""``
    explicitly (``"": "U"``); a target of ``null`` marks a known "unknown" answer, left
    empty without an error (``"Não sabe": null``).
``default``
    the (target) value used when the source value is missing or not in ``codes``; never
    over an explicit ``""`` or ``null`` entry.
``date_format``
    strptime format of a date field (default ``%Y-%m-%d``); needs a year and a month.
``unit``
    amount and annual_income only, required: ``major`` (15.10 USD -> 1510 minor units,
    using the currency's ISO 4217 exponent, 2 when unknown; exact, never through floats) or
    ``minor``.
``decimal``, ``thousands``
    amount and annual_income only: this field's number convention, overriding the file's
    top-level ``decimal``/``thousands`` (a field giving either gives its whole convention).
    ``decimal: ","`` reads ``128,47``; with ``thousands: "."`` it reads ``1.234,56``;
    ``thousands: ","`` reads ``1,234.56``; ``thousands: " "`` also takes no-break spaces.
    Groups must be of three digits. A value that does not fit the convention is a
    ``number`` issue, never rescaled.

Values are trimmed (spaces, tabs, no-break spaces) before anything else; a blank value is
missing. Extensions allow the sources (``from``, ``constant``, ``join``, ``member_of``) with
``sep``, ``part``, ``words``, ``codes``, ``default``, ``strip`` and ``upper``.

Target code lists: sex M/F/U; relationship_to_head HEAD, SPOUSE, CHILD, PARENT, SIBLING,
GRANDCHILD, OTHER_RELATIVE, NON_RELATIVE; enrolment_status ACTIVE/SUSPENDED/EXITED;
disability_level 0..3 (Washington Group).

:func:`apply_mapping` returns the mapped rows and a frame of issues
(``_row, column, value, rule, message``). Rules: ``required``, ``code_list``, ``date``,
``number`` (an amount that is not a number), ``future_date``, ``range``,
``age_relationship``, ``duplicate_id`` and ``check_digit``. Every rule is a Polars
expression over the whole frame; no rule loops over rows in Python.

:func:`read_data` is the one way a data file is read for a mapping, by ``submit`` and by
``spmis intake mapping check --against``: parsed with the mapping's ``header_row`` and
``groups`` (a short or long row becomes a ``row_shape`` issue), then mapped and checked.
:func:`code_warnings` lists codes tables that are valid but probably wrong: one code written
two ways with different targets, and ``M`` for sex beside ``H`` (M is *mujer*, female, in
Spanish files) or ``F`` with the same meaning.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

import polars as pl
import yaml

from spmis.core.money import DEFAULT_EXPONENT, MINOR_UNIT_EXPONENTS
from spmis.intake import parsers

FORMAT_VERSION = 1
RECORD_TYPES = ("beneficiary",)

SEX = ("M", "F", "U")
RELATIONSHIP = ("HEAD", "SPOUSE", "CHILD", "PARENT", "SIBLING", "GRANDCHILD",
                "OTHER_RELATIVE", "NON_RELATIVE")
ENROLMENT_STATUS = ("ACTIVE", "SUSPENDED", "EXITED")
DISABILITY = ("0", "1", "2", "3")
CODE_LISTS: dict[str, tuple[str, ...]] = {
    "sex": SEX, "relationship_to_head": RELATIONSHIP,
    "enrolment_status": ENROLMENT_STATUS, "disability_level": DISABILITY,
}
DATE_FIELDS = ("date_of_birth", "date_of_death", "registered_on", "enrolment_start",
               "period", "paid_on")
TARGET_FIELDS = (
    "person_ref", "household_ref", "national_id", "given_name", "family_name", "sex",
    "date_of_birth", "date_of_death", "area", "address", "relationship_to_head",
    "disability_level", "registered_on", "scheme", "enrolment_status", "enrolment_start",
    "period", "amount", "currency", "paid_on", "annual_income",
)
# Money fields, mapped to integer minor units of the row's currency.
MONEY = {"amount": "amount_minor", "annual_income": "annual_income_minor"}
REQUIRED = ("person_ref", "sex", "date_of_birth", "area")
NAMES = ("given_name", "family_name")
PERSON_FIELDS = ("national_id", "given_name", "family_name", "sex", "date_of_birth",
                 "date_of_death", "area", "address", "household_ref", "relationship_to_head",
                 "disability_level", "registered_on")
FIELD_KEYS = ("from", "constant", "codes", "date_format", "unit", "default", "upper", "strip",
              "join", "member_of", "sep", "part", "words", "decimal", "thousands")
EXTENSION_KEYS = ("from", "constant", "codes", "default", "upper", "strip", "join",
                  "member_of", "sep", "part", "words")
SOURCE_KEYS = ("from", "constant", "join", "member_of")
TOP_KEYS = ("version", "source", "record", "national_id_check", "other_periods", "header_row",
            "groups", "decimal", "thousands", "fields", "extensions")
PARTS = ("first", "last", "rest", "but_last")
DECIMALS = (".", ",")
THOUSANDS = (".", ",", " ", "'")
GROUPS = ("strip", "keep")
DEFAULT_DATE_FORMAT = "%Y-%m-%d"
UNITS = ("major", "minor")
MAX_AGE = 120
MIN_HEAD_AGE = 12

_TYPES: dict[str, pl.DataType] = {
    **{t: pl.String() for t in TARGET_FIELDS}, **{t: pl.Date() for t in DATE_FIELDS},
    "disability_level": pl.Int8(), "amount": pl.Int64(), "annual_income": pl.Int64(),
}
# The mapped frame's columns: money fields become *_minor (integer minor units).
OUTPUT_SCHEMA: dict[str, pl.DataType] = {
    "_row": pl.Int64(),
    **{MONEY.get(t, t): _TYPES[t] for t in TARGET_FIELDS},
    "extension": pl.String(),
}
ISSUE_SCHEMA: dict[str, pl.DataType] = {
    "_row": pl.Int64(), "column": pl.String(), "value": pl.String(), "rule": pl.String(),
    "message": pl.String(),
}

NationalIdCheck = Callable[[pl.Expr], pl.Expr]


class MappingError(ValueError):
    """A mapping that cannot be used; ``problems`` lists every reason, each saying where."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class FieldSpec:
    """How to get one target (or extension) field. ``column`` is the spec's ``from``."""

    target: str
    column: str | None = None
    constant: str | None = None
    codes: tuple[tuple[str, str | None], ...] | None = None  # None: known to be unknown
    date_format: str | None = None
    unit: str | None = None
    default: str | None = None
    upper: bool = False
    strip: bool = True
    join: tuple[str, ...] | None = None  # columns joined with ``sep`` (blanks skipped)
    member_of: str | None = None  # household column: "<household><sep><n-th row in it>"
    sep: str | None = None
    part: str | None = None  # first, last, rest, but_last word(s) of the value
    words: int = 1
    decimal: str | None = None
    thousands: str | None = None

    @property
    def where(self) -> str:
        """The name issues are reported under: the source column(s), or the target."""
        if self.column is not None:
            return self.column
        if self.join is not None:
            return " + ".join(self.join)
        return self.member_of if self.member_of is not None else self.target

    @property
    def columns(self) -> tuple[str, ...]:
        """The file's columns this field reads."""
        named = (self.column, *(self.join or ()), self.member_of)
        return tuple(c for c in named if c is not None)


@dataclass(frozen=True)
class Mapping:
    """A parsed, validated mapping (see the module docstring)."""

    fields: tuple[FieldSpec, ...]
    extensions: tuple[FieldSpec, ...] = ()
    version: int = FORMAT_VERSION
    record: str = "beneficiary"
    source: str | None = None
    national_id_check: str | None = None
    other_periods: bool = False  # payments may be for months other than the submission's
    header_row: int | None = None  # None: found below title and blank rows
    groups: str | None = None  # "strip" or "keep" group prefixes; None: only ODK exports'

    def field(self, target: str) -> FieldSpec | None:
        return next((f for f in self.fields if f.target == target), None)

    @property
    def columns_needed(self) -> set[str]:
        return {c for s in self.fields + self.extensions for c in s.columns}

    def column_uses(self) -> list[tuple[str, str]]:
        """(column, what it is for) in mapping order."""
        labelled = [(s, s.target) for s in self.fields]
        labelled += [(s, f"extension {s.target}") for s in self.extensions]
        uses = [(c, label) for s, label in labelled for c in s.columns]
        return list(dict.fromkeys(uses))


# --- national ID checks ----------------------------------------------------------------------

def luhn_series(numbers: pl.Series) -> pl.Series:
    """True where a value is 2 to 36 ASCII digits ending in their Luhn check digit.

    Whole-column integer arithmetic on two 18-digit halves, digit position by digit
    position; nothing loops over rows.
    """
    text = numbers.cast(pl.String)
    ok = text.str.contains(r"^[0-9]{2,36}$").fill_null(False)
    padded = pl.select(pl.when(ok).then(text).otherwise(pl.lit("0"))).to_series().str.zfill(36)
    total = pl.zeros(len(text), pl.Int64, eager=True)
    for half in (padded.str.slice(18, 18), padded.str.slice(0, 18)):
        rest = half.cast(pl.Int64)
        for position in range(18):
            digit = rest % 10
            rest = rest // 10
            total += digit * 2 - 9 * (digit >= 5).cast(pl.Int64) if position % 2 else digit
    return (ok & (total % 10 == 0)).alias(numbers.name)


def luhn_expr(number: pl.Expr) -> pl.Expr:
    """The Luhn check as an expression (see :func:`luhn_series`)."""
    return number.map_batches(luhn_series, return_dtype=pl.Boolean, is_elementwise=True)


NATIONAL_ID_CHECKS: dict[str, NationalIdCheck] = {"luhn": luhn_expr}


# --- loading ---------------------------------------------------------------------------------

class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that refuses a key given twice in one table."""


def _construct_unique(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _value in node.value:
        key = loader.construct_object(key_node)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"key {key!r} appears twice", key_node.start_mark)
        seen.add(key)
    return loader.construct_mapping(node)


_UniqueKeyLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_unique)


def _parse_text(text: str) -> Any:
    if text.lstrip().startswith("{"):
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise MappingError([f"mapping is not valid JSON: line {exc.lineno}: {exc.msg}"]) \
                from None
    try:
        return yaml.load(text, Loader=_UniqueKeyLoader)  # a SafeLoader subclass
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        line = f"line {where.line + 1}: " if where is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise MappingError([f"mapping is not valid YAML: {line}{problem}"]) from None


def _as_text(value: Any) -> str | None:
    """Text, or a whole number written without quotes; anything else is None."""
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


def load_mapping(text: str) -> Mapping:
    """Parse and validate a mapping; raise :class:`MappingError` listing every problem."""
    doc = _parse_text(text)
    if not isinstance(doc, dict):
        raise MappingError(["mapping: must be a table of keys (version, fields, ...)"])
    problems: list[str] = []
    _check_top(doc, problems)
    fields = _parse_fields(doc.get("fields"), problems)
    extensions = _parse_extensions(doc.get("extensions"), problems)
    if isinstance(doc.get("fields"), dict) and doc["fields"]:
        _check_required_fields(set(doc["fields"]), problems)
    if problems:
        raise MappingError(problems)
    # The file's number convention, for money fields that do not give their own (a field
    # giving decimal or thousands gives its whole convention).
    fields = tuple(replace(f, decimal=doc.get("decimal"), thousands=doc.get("thousands"))
                   if f.target in MONEY and f.decimal is None and f.thousands is None else f
                   for f in fields)
    return Mapping(fields=fields, extensions=extensions, version=doc["version"],
                   record=doc.get("record") or "beneficiary", source=_as_text(doc.get("source")),
                   national_id_check=doc.get("national_id_check"),
                   other_periods=doc.get("other_periods") is True,
                   header_row=doc.get("header_row"), groups=doc.get("groups"))


def _check_top(doc: dict[Any, Any], problems: list[str]) -> None:
    for key in doc:
        if key not in TOP_KEYS:
            problems.append(f"{key}: unknown key; the keys are {', '.join(TOP_KEYS)}")
    version = doc.get("version")
    if version is None:
        problems.append(f"version: required; write 'version: {FORMAT_VERSION}'")
    elif version != FORMAT_VERSION or isinstance(version, bool):
        problems.append(f"version: {version!r} is not a known mapping format version; "
                        f"write 'version: {FORMAT_VERSION}'")
    record = doc.get("record")
    if record is not None and record not in RECORD_TYPES:
        problems.append(f"record: {record!r} is not a record type; use one of "
                        f"{', '.join(RECORD_TYPES)}")
    if doc.get("source") is not None and _as_text(doc["source"]) is None:
        problems.append("source: must be text")
    if doc.get("other_periods") not in (None, True, False):
        problems.append("other_periods: write true (payments for other months, e.g. arrears, "
                        "are expected) or leave it out")
    header_row = doc.get("header_row")
    if header_row is not None and (not isinstance(header_row, int) or isinstance(header_row, bool)
                                   or header_row < 1):
        problems.append("header_row: the row that names the columns, counted from 1 as a "
                        "spreadsheet does (e.g. 'header_row: 3'), or leave it out to find it")
    if doc.get("groups") is not None and doc["groups"] not in GROUPS:
        problems.append("groups: write 'strip' (take 'household/member/name' as 'name') or "
                        "'keep' (never), or leave it out (only ODK/Kobo exports' are stripped)")
    problems += _check_number_convention("", doc)
    check = doc.get("national_id_check")
    if check is not None and check not in NATIONAL_ID_CHECKS:
        problems.append(f"national_id_check: {check!r} is not a known check; use one of "
                        f"{', '.join(NATIONAL_ID_CHECKS)} or leave it out")


def _parse_fields(raw: Any, problems: list[str]) -> tuple[FieldSpec, ...]:
    if not isinstance(raw, dict) or not raw:
        problems.append("fields: required: a table of target field -> {from: \"Column\"} "
                        "or {constant: \"VALUE\"}")
        return ()
    specs = []
    for target, spec in raw.items():
        if target not in TARGET_FIELDS:
            problems.append(f"fields.{target}: unknown target field; the target fields are "
                            f"{', '.join(TARGET_FIELDS)}")
            continue
        parsed = _parse_spec(f"fields.{target}", str(target), spec, FIELD_KEYS, problems)
        if parsed is not None:
            specs.append(parsed)
    return tuple(specs)


def _parse_extensions(raw: Any, problems: list[str]) -> tuple[FieldSpec, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, dict):
        problems.append("extensions: must be a table of name -> {from: \"Column\"}")
        return ()
    specs = []
    for name, spec in raw.items():
        if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            problems.append(f"extensions.{name}: a name must be letters, digits and _, "
                            "starting with a letter")
            continue
        parsed = _parse_spec(f"extensions.{name}", name, spec, EXTENSION_KEYS, problems)
        if parsed is not None:
            specs.append(parsed)
    return tuple(specs)


def _check_required_fields(targets: set[str], problems: list[str]) -> None:
    for target in REQUIRED:
        if target not in targets:
            problems.append(f"fields.{target}: required; every person needs one "
                            "(map it from a column or give a constant)")
    if not targets & set(NAMES):
        problems.append("fields.given_name: required: map given_name or family_name (or both)")
    needs = {"amount": ("currency", "scheme"), "annual_income": ("currency",),
             "enrolment_status": ("scheme",), "enrolment_start": ("scheme",)}
    for target, others in needs.items():
        for other in others:
            if target in targets and other not in targets:
                problems.append(f"fields.{other}: required when {target} is mapped")


def _parse_spec(path: str, target: str, raw: Any, keys: tuple[str, ...],
                problems: list[str]) -> FieldSpec | None:
    if not isinstance(raw, dict):
        problems.append(f"{path}: must be a table such as {{from: \"Column\"}} "
                        "or {constant: \"VALUE\"}")
        return None
    found: list[str] = []
    for key in raw:
        if key not in keys:
            found.append(f"{path}.{key}: unknown key; the keys are {', '.join(keys)}")
    found += _check_source(path, raw)
    found += _check_options(path, target, raw, is_field=keys is FIELD_KEYS)
    problems += found
    if found:
        return None
    spec = _spec_from(target, raw)
    if keys is FIELD_KEYS:
        found += _probe(path, spec)
    problems += found
    return None if found else spec


def _check_source(path: str, raw: dict[Any, Any]) -> list[str]:
    given = [k for k in SOURCE_KEYS if k in raw]
    if len(given) != 1:
        if not given or set(given) == {"from", "constant"}:
            which = "both" if given else "neither"
            return [f"{path}: give exactly one of 'from' (a column) or 'constant' (a value); "
                    f"it has {which}"]
        return [f"{path}: give only one of {', '.join(SOURCE_KEYS)}; it has "
                f"{' and '.join(given)}"]
    found = []
    for key in ("from", "member_of"):
        if key in raw and not _as_text(raw[key]):
            found.append(f"{path}.{key}: must be a column name (text)")
    if "constant" in raw and _as_text(raw["constant"]) is None:
        found.append(f"{path}.constant: must be text (put numbers and dates in quotes)")
    if "join" in raw and (not isinstance(raw["join"], list) or not raw["join"]
                          or not all(_as_text(c) for c in raw["join"])):
        found.append(f"{path}.join: must be a list of column names, such as "
                     "[\"Apellido 1\", \"Apellido 2\"]")
    if "sep" in raw and not isinstance(raw["sep"], str):
        found.append(f"{path}.sep: must be text, such as \" \" or \"-\"")
    if "part" in raw and raw["part"] not in PARTS:
        found.append(f"{path}.part: must be one of {', '.join(PARTS)}")
    if "part" in raw and "constant" in raw:
        found.append(f"{path}.part: splits a column's value; a constant needs none")
    if "words" in raw and ("part" not in raw or not isinstance(raw["words"], int)
                           or isinstance(raw["words"], bool) or raw["words"] < 1):
        found.append(f"{path}.words: a whole number of words (1 or more) for 'part'")
    if "sep" in raw and not {"join", "member_of", "part"} & set(raw):
        found.append(f"{path}.sep: only with join, member_of or part")
    return found


def _check_options(path: str, target: str, raw: dict[Any, Any], *, is_field: bool) -> list[str]:
    found = _check_codes(path, target if is_field else "", raw.get("codes"))
    if is_field and ("decimal" in raw or "thousands" in raw):
        found += (_check_number_convention(f"{path}.", raw) if target in MONEY else
                  [f"{path}: only amount and annual_income take decimal and thousands"])
    for flag in ("upper", "strip"):
        if flag in raw and not isinstance(raw[flag], bool):
            found.append(f"{path}.{flag}: must be true or false")
    if "default" in raw and _as_text(raw["default"]) is None:
        found.append(f"{path}.default: must be text (put numbers and dates in quotes)")
    if "constant" in raw and "codes" in raw:
        found.append(f"{path}.codes: a constant needs no codes; give the target value")
    if is_field:
        found += _check_date_format(path, target, raw)
        found += _check_unit(path, target, raw)
    return found


def _check_codes(path: str, target: str, codes: Any) -> list[str]:
    if codes is None:
        return []
    pairs = codes.items() if isinstance(codes, dict) else None
    if not pairs or any(_as_text(k) is None or (_as_text(v) is None and v is not None)
                        for k, v in pairs):
        return [f"{path}.codes: must be a table of text to text, such as {{\"1\": \"M\"}} "
                "(quote yes/no/true/false and decimals; null for unknown)"]
    allowed = CODE_LISTS.get(target)
    wrong = sorted({str(v) for v in codes.values() if v is not None} - set(allowed or ()))
    if allowed and wrong:
        return [f"{path}.codes: {', '.join(map(repr, wrong))} is not a valid "
                f"{target.replace('_', ' ')}; use one of {', '.join(allowed)}"]
    return []


_DIRECTIVES = set("YymdbBhjeaAHMSpIfz%")


def _check_date_format(path: str, target: str, raw: dict[Any, Any]) -> list[str]:
    if "date_format" not in raw:
        return []
    fmt = raw["date_format"]
    if target not in DATE_FIELDS:
        return [f"{path}.date_format: only date fields take a date_format "
                f"({', '.join(DATE_FIELDS)})"]
    if not isinstance(fmt, str):
        return [f"{path}.date_format: must be text such as \"%d/%m/%Y\""]
    used = set(re.findall(r"%[-_0^#]?(.)", fmt))
    unknown = sorted(used - _DIRECTIVES)
    if unknown or not used & {"Y", "y"} or not used & {"m", "b", "B", "h", "j"}:
        return [f"{path}.date_format: {fmt!r} is not a date format with a year and a month, "
                "such as \"%d/%m/%Y\" or \"%Y-%m\""]
    return []


def _check_number_convention(path: str, raw: dict[Any, Any]) -> list[str]:
    found = []
    decimal, thousands = raw.get("decimal"), raw.get("thousands")
    if decimal is not None and decimal not in DECIMALS:
        found.append(f"{path}decimal: the decimal mark, \".\" (1,234.56) or \",\" (1.234,56)")
    if thousands is not None and thousands not in THOUSANDS:
        found.append(f"{path}thousands: the thousands separator, one of \".\" \",\" \" \" "
                     "\"'\", or leave it out when numbers have none")
    if thousands is not None and thousands == (decimal or "."):
        found.append(f"{path}thousands: {thousands!r} is also the decimal mark; set decimal "
                     "too (e.g. decimal: \",\" with thousands: \".\")")
    return found


def _check_unit(path: str, target: str, raw: dict[Any, Any]) -> list[str]:
    if target not in MONEY:
        return [f"{path}.unit: only amount and annual_income take a unit"] if "unit" in raw \
            else []
    if raw.get("unit") not in UNITS:
        return [f"{path}.unit: required: 'major' (15.10 means 15 dollars 10 cents) or "
                "'minor' (1510 means the same)"]
    return []


def _spec_from(target: str, raw: dict[Any, Any]) -> FieldSpec:
    codes = raw.get("codes")
    return FieldSpec(
        target=target,
        column=_as_text(raw.get("from")),
        constant=_as_text(raw.get("constant")),
        codes=(tuple((str(k), None if v is None else str(v)) for k, v in codes.items())
               if codes else None),
        date_format=raw.get("date_format"),
        unit=raw.get("unit"),
        default=_as_text(raw.get("default")),
        upper=raw.get("upper", False),
        strip=raw.get("strip", True),
        join=tuple(str(c) for c in raw["join"]) if "join" in raw else None,
        member_of=_as_text(raw.get("member_of")),
        sep=raw.get("sep"),
        part=raw.get("part"),
        words=raw.get("words", 1),
        decimal=raw.get("decimal"),
        thousands=raw.get("thousands"),
    )


def _probe(path: str, spec: FieldSpec) -> list[str]:
    """Run a constant or default through the conversion itself; report what it rejects."""
    found = []
    probes = [("constant", spec)] if spec.constant is not None else []
    if spec.default is not None:
        probes.append(("default", replace(spec, column=None, constant=spec.default, codes=None,
                                          default=None, upper=False, join=None,
                                          member_of=None, part=None)))
    for key, probe in probes:
        work = _convert(pl.DataFrame({"_row": [1]}), (replace(probe, part=None),), ())
        issues = _conversion_issues(work, {_out(probe.target): probe})
        found += [f"{path}.{key}: {message}" for message in issues["message"]]
    return found


def check_mapping_against_columns(mapping: Mapping, columns: list[str]) -> list[str]:
    """One problem per column the mapping reads that ``columns`` lacks."""
    have = set(columns)
    shown = ", ".join(repr(c) for c in columns[:40]) + (", ..." if len(columns) > 40 else "")
    problems = []
    for column, label in mapping.column_uses():
        if column in have:
            continue
        hint = _did_you_mean(column, columns)
        problems.append(f"column {column!r} (for {label}) is not in the file{hint}; "
                        f"the file has: {shown or 'no columns'}")
    return problems


def _did_you_mean(column: str, columns: list[str]) -> str:
    lowered = {c.strip().casefold(): c for c in columns}
    close = difflib.get_close_matches(column.strip().casefold(), list(lowered), n=1, cutoff=0.75)
    return f" (did you mean {lowered[close[0]]!r}?)" if close else ""


# --- converting ------------------------------------------------------------------------------

def _out(target: str) -> str:
    return MONEY.get(target, target)


def _label(target: str) -> str:
    return {"person_ref": "the person's record id", "household_ref": "the household id",
            "area": "area (P-code)"}.get(target, target.replace("_", " "))


def _blank_to_null(value: pl.Expr) -> pl.Expr:
    return pl.when(value.str.strip_chars().str.len_bytes() > 0).then(value)


def _raw(spec: FieldSpec) -> pl.Expr:
    """The source value: a column, a constant, or derived (join, member_of), then ``part``."""
    if spec.column is not None:
        value = pl.col(spec.column).cast(pl.String)
    elif spec.join is not None:
        parts = [_blank_to_null(pl.col(c).cast(pl.String).str.strip_chars()) for c in spec.join]
        value = _blank_to_null(pl.concat_str(parts, separator=" " if spec.sep is None
                                             else spec.sep, ignore_nulls=True))
    elif spec.member_of is not None:
        household = _blank_to_null(pl.col(spec.member_of).cast(pl.String).str.strip_chars())
        order = pl.col("_row").rank("ordinal").over(household).cast(pl.String)
        value = pl.when(household.is_not_null()).then(
            household + pl.lit("-" if spec.sep is None else spec.sep) + order)
    else:
        return pl.lit(spec.constant, dtype=pl.String)
    return value if spec.part is None else name_part(value, spec.part, spec.words,
                                                      spec.sep if spec.join is None else None)


def name_part(value: pl.Expr, part: str, words: int = 1, sep: str | None = None) -> pl.Expr:
    """The ``first``/``last`` ``words`` words of a name, or the ``rest`` after the first ones
    or all ``but_last`` ones; words are split on spaces (or ``sep``) and joined back with a
    space (or ``sep``). Null when nothing is left."""
    if sep is None:
        pieces = value.str.strip_chars().str.replace_all(r"\s+", " ").str.split(" ")
        glue = " "
    else:
        pieces = value.str.split(sep).list.eval(pl.element().str.strip_chars())
        pieces = pieces.list.eval(pl.element().filter(pl.element() != ""))
        glue = sep if sep.strip() == "" else sep + " "
    n = pl.lit(words, pl.Int64)
    size = pieces.list.len().cast(pl.Int64)
    chosen = {
        "first": pieces.list.head(n),
        "last": pieces.list.tail(n),
        "rest": pieces.list.slice(n),
        "but_last": pieces.list.head(pl.max_horizontal(size - n, pl.lit(0, pl.Int64))),
    }[part]
    return _blank_to_null(chosen.list.join(glue))


def _clean(spec: FieldSpec, raw: pl.Expr) -> pl.Expr:
    value = raw.str.strip_chars() if spec.strip else raw
    if spec.upper:
        value = value.str.to_uppercase()
    return pl.when(value.str.len_bytes() > 0).then(value)


def _code_keys(spec: FieldSpec) -> tuple[list[str], list[str | None], bool, str | None]:
    """The codes table's non-blank keys and targets, whether it maps a blank, and to what."""
    pairs = spec.codes or ()
    blank = [v for k, v in pairs if k.strip() == ""]
    keys = [k.upper() if spec.upper else k for k, _ in pairs if k.strip()]
    targets = [v for k, v in pairs if k.strip()]
    return keys, targets, bool(blank), blank[0] if blank else None


def _translate(spec: FieldSpec, clean: pl.Expr) -> pl.Expr:
    """``codes`` applied; null where a value is not in the table (or maps to unknown). A
    blank becomes a code only when the table maps ``""``."""
    if spec.codes is None:
        return clean
    keys, targets, has_blank, blank = _code_keys(spec)
    translated = clean.replace_strict(keys, targets, default=pl.lit(None, pl.String),
                                      return_dtype=pl.String)
    if has_blank:
        return pl.when(clean.is_null()).then(pl.lit(blank, pl.String)).otherwise(translated)
    return translated


def _explicit(spec: FieldSpec, clean: pl.Expr) -> pl.Expr:
    """True where the codes table says what a value is (unknown included)."""
    if spec.codes is None:
        return pl.lit(False)
    keys, _, has_blank, _ = _code_keys(spec)
    hit = clean.is_in(keys).fill_null(False)
    return hit | clean.is_null() if has_blank else hit


def _typed(spec: FieldSpec, value: pl.Expr, currency: pl.Expr) -> pl.Expr:
    target = spec.target
    if target in DATE_FIELDS:
        parsed = value.str.to_date(spec.date_format or DEFAULT_DATE_FORMAT, strict=False)
        return parsed.dt.month_start() if target == "period" else parsed
    if target == "disability_level":
        number = value.cast(pl.Int8, strict=False)
        return pl.when(number.is_between(0, 3)).then(number)
    if target in CODE_LISTS:
        return pl.when(value.is_in(CODE_LISTS[target])).then(value)
    if target in MONEY:
        return _amount(value, spec.unit or "minor", _exponent(currency), spec.decimal or ".",
                       spec.thousands)
    return value


def _exponent(currency: pl.Expr) -> pl.Expr:
    return currency.str.to_uppercase().replace_strict(
        list(MINOR_UNIT_EXPONENTS), list(MINOR_UNIT_EXPONENTS.values()),
        default=DEFAULT_EXPONENT, return_dtype=pl.Int64)


_MAJOR = r"^[+-]?[0-9]{1,15}(\.[0-9]*)?$"


def number_pattern(decimal: str = ".", thousands: str | None = None,
                   fraction: bool = True) -> str:
    """A regular expression for a number written with this decimal mark and thousands
    separator (groups of three when a separator is used)."""
    sep = "[ \u00a0\u202f]" if thousands == " " else re.escape(thousands or "")
    whole = f"(?:[0-9]{{1,3}}(?:{sep}[0-9]{{3}})+|[0-9]+)" if thousands else "[0-9]+"
    tail = f"(?:{re.escape(decimal)}[0-9]*)?" if fraction else ""
    return f"^[+-]?{whole}{tail}$"


def _normalise_number(value: pl.Expr, decimal: str, thousands: str | None,
                      fraction: bool) -> pl.Expr:
    """The value as ``1234.56`` when it fits the convention, else null (never guessed)."""
    fits = value.str.contains(number_pattern(decimal, thousands, fraction))
    if thousands:
        sep = "[ \u00a0\u202f]" if thousands == " " else re.escape(thousands)
        value = value.str.replace_all(sep, "")
    if decimal != ".":
        value = value.str.replace(re.escape(decimal), ".")
    return pl.when(fits).then(value)


def _amount(value: pl.Expr, unit: str, exponent: pl.Expr, decimal: str = ".",
            thousands: str | None = None) -> pl.Expr:
    """Minor units as Int64 from decimal text, by integer arithmetic only (no floats)."""
    if decimal != "." or thousands:
        value = _normalise_number(value, decimal, thousands, unit != "minor")
    if unit == "minor":
        return pl.when(value.str.contains(r"^[+-]?[0-9]{1,18}$")).then(
            value.cast(pl.Int64, strict=False))
    negative = value.str.starts_with("-")
    parts = value.str.strip_chars_start("+-").str.split_exact(".", 1)
    whole = parts.struct.field("field_0").cast(pl.Int64, strict=False)
    frac = parts.struct.field("field_1").fill_null("").str.strip_chars_end("0")
    places = frac.str.len_chars().cast(pl.Int64)
    frac_minor = pl.when(places > 0).then(frac.cast(pl.Int64, strict=False)).otherwise(0)
    minor = whole * _ten_to(exponent) + frac_minor * _ten_to(exponent - places)
    ok = value.str.contains(_MAJOR) & (places <= exponent)
    return pl.when(ok).then(pl.when(negative).then(-minor).otherwise(minor))


def _ten_to(power: pl.Expr) -> pl.Expr:
    return power.replace_strict([0, 1, 2, 3], [1, 10, 100, 1000], default=0,
                                return_dtype=pl.Int64)


def _stages(spec: FieldSpec, name: str, currency: pl.Expr) -> list[list[pl.Expr]]:
    """Column expressions for one field, stage by stage, so no step is computed twice."""
    raw, clean, tr, val = (f"__{k}__{name}" for k in ("raw", "clean", "tr", "val"))
    unmatched = pl.lit(False)
    explicit = _explicit(spec, pl.col(clean))
    if spec.codes is not None and spec.default is None:
        unmatched = pl.col(clean).is_not_null() & pl.col(tr).is_null() & ~explicit
    value = pl.col(tr)
    if spec.default:  # for values the table does not cover; never over an explicit entry
        value = pl.when(explicit).then(value).otherwise(
            value.fill_null(pl.lit(spec.default, pl.String)))
    typed = value if name.startswith("__ext__") else _typed(spec, pl.col(val), currency)
    return [
        [_raw(spec).alias(raw)],
        [_clean(spec, pl.col(raw)).alias(clean)],
        [_translate(spec, pl.col(clean)).alias(tr)],
        [value.alias(val), unmatched.alias(f"__unmatched__{name}")],
        [typed.alias(name)],
        [(pl.col(val).is_not_null() & pl.col(name).is_null()).alias(f"__bad__{name}"),
         (pl.col(val).is_null() & ~pl.col(f"__unmatched__{name}")).alias(f"__missing__{name}")],
    ]


def _convert(frame: pl.DataFrame, fields: Iterable[FieldSpec],
             extensions: Iterable[FieldSpec]) -> pl.DataFrame:
    """The work frame: typed targets plus per-field raw values and problem flags."""
    named = [(s, _out(s.target)) for s in fields]
    has_currency = any(s.target == "currency" for s, _ in named)
    currency = pl.col("__val__currency") if has_currency else pl.lit(None, pl.String)
    named += [(s, f"__ext__{s.target}") for s in extensions]
    work = frame.lazy()
    for stage in zip(*(_stages(s, n, currency) for s, n in named), strict=True):
        work = work.with_columns([e for exprs in stage for e in exprs])
    present = {n for _, n in named}
    missing = [pl.lit(None, dtype).alias(name) for name, dtype in OUTPUT_SCHEMA.items()
               if name not in present | {"_row", "extension"}]
    work = work.with_columns(missing).with_columns(_extension(tuple(extensions)))
    temporary = [f"__{k}__{n}" for _, n in named for k in ("clean", "tr", "val")]
    return work.drop(temporary).collect()


def _extension(extensions: tuple[FieldSpec, ...]) -> pl.Expr:
    if not extensions:
        return pl.lit(None, pl.String).alias("extension")
    cols = [pl.col(f"__ext__{s.target}").alias(s.target) for s in extensions]
    any_value = pl.any_horizontal([c.is_not_null() for c in cols])
    return pl.when(any_value).then(pl.struct(cols).struct.json_encode()).alias("extension")


def _fields_in(work: pl.DataFrame) -> list[str]:
    return [c.removeprefix("__raw__") for c in work.columns if c.startswith("__raw__")]


def _issue(work: pl.LazyFrame, flag: pl.Expr, name: str, column: str, rule: str,
           message: str) -> pl.LazyFrame:
    return work.filter(flag).select(
        pl.col("_row").cast(pl.Int64), pl.lit(column, pl.String).alias("column"),
        pl.col(f"__raw__{name}").cast(pl.String).alias("value"),
        pl.lit(rule, pl.String).alias("rule"), pl.lit(message, pl.String).alias("message"))


def _conversion_issues(work: pl.DataFrame, specs: dict[str, FieldSpec] | None = None
                       ) -> pl.DataFrame:
    """required / code_list / date / number issues from the work frame's flags."""
    lazy, parts = work.lazy(), []
    for name in _fields_in(work):
        spec = (specs or {}).get(name) or _spec_for(name)
        where = spec.where
        parts.append(_issue(lazy, pl.col(f"__unmatched__{name}"), name, where, "code_list",
                            _codes_message(spec)))
        rule, message = _bad_message(spec)
        parts.append(_issue(lazy, pl.col(f"__bad__{name}"), name, where, rule, message))
        if spec.target in REQUIRED and not name.startswith("__ext__"):
            parts.append(_issue(lazy, pl.col(f"__missing__{name}"), name, where, "required",
                                _required_message(spec)))
    parts += _names_required(lazy, work, specs or {})
    return _concat(parts)


def _spec_for(name: str) -> FieldSpec:
    by_column = {column: target for target, column in MONEY.items()}
    target = by_column.get(name, name.removeprefix("__ext__"))
    return FieldSpec(target=target)


def _names_required(lazy: pl.LazyFrame, work: pl.DataFrame,
                    specs: dict[str, FieldSpec]) -> list[pl.LazyFrame]:
    present = [n for n in NAMES if f"__raw__{n}" in work.columns]
    if not present:
        return []
    flag = pl.all_horizontal([pl.col(f"__missing__{n}") for n in present])
    spec = specs.get(present[0]) or FieldSpec(target=present[0])
    message = (f"the person has neither a given name nor a family name; fill in "
               f"{_where_text(spec)}")
    return [_issue(lazy, flag, present[0], spec.where, "required", message)]


def _where_text(spec: FieldSpec) -> str:
    if spec.column is not None:
        return f"column {spec.column!r}"
    return f"the mapping's fields.{spec.target}"


def _codes_message(spec: FieldSpec) -> str:
    return (f"this value is not in the codes table for {_label(spec.target)}; correct the "
            f"value, or add it to the mapping's codes for {spec.target} (or give a default)")


def _bad_message(spec: FieldSpec) -> tuple[str, str]:
    target, fix = spec.target, f"correct {_where_text(spec)}"
    if target in DATE_FIELDS:
        fmt = spec.date_format or DEFAULT_DATE_FORMAT
        example = date(1990, 12, 31).strftime(fmt)
        return "date", (f"{_label(target)} is not a date in the form {example} ({fmt}); "
                        f"{fix} or the mapping's date_format")
    if target in MONEY:
        decimal, thousands = spec.decimal or ".", spec.thousands
        example = "15.10" if spec.unit == "major" else "1510"
        if decimal != "." or thousands:
            whole = f"1{thousands}234" if thousands else "1234"
            example = whole + (f"{decimal}50" if spec.unit == "major" else "")
            convention = (f"decimal mark {decimal!r}" + (f", thousands {thousands!r}"
                                                         if thousands else ", no thousands "
                                                         "separator"))
            return "number", (f"{target} is not a number like {example} ({spec.unit} units, "
                              f"{convention}, no more decimals than the currency has); the "
                              f"value is refused, never guessed: {fix} or the mapping's "
                              f"decimal/thousands")
        return "number", (f"{target} is not a number like {example} ({spec.unit} units, no "
                          f"more decimals than the currency has); {fix} or the mapping's unit")
    if target in CODE_LISTS:
        allowed = ", ".join(CODE_LISTS[target])
        return "code_list", (f"{_label(target)} must be one of {allowed}; {fix} or translate "
                             f"it with the mapping's codes for {target}")
    return "code_list", f"{_label(target)} is not valid; {fix}"


def _required_message(spec: FieldSpec) -> str:
    return f"{_label(spec.target)} is required; fill in {_where_text(spec)}"


def _concat(parts: list[pl.LazyFrame]) -> pl.DataFrame:
    if not parts:
        return pl.DataFrame(schema=ISSUE_SCHEMA)
    return pl.concat(parts).collect()


# --- validating the mapped rows --------------------------------------------------------------

def _age(born: pl.Expr, on: pl.Expr) -> pl.Expr:
    """Whole years from ``born`` to ``on``."""
    def month_day(d: pl.Expr) -> pl.Expr:
        return d.dt.month().cast(pl.Int32) * 100 + d.dt.day().cast(pl.Int32)

    before = (month_day(on) < month_day(born)).cast(pl.Int32)
    return on.dt.year().cast(pl.Int32) - born.dt.year().cast(pl.Int32) - before


Check = tuple[str, str, pl.Expr, str]  # field, rule, condition, message


def _code_checks() -> list[Check]:
    checks: list[Check] = []
    for field, allowed in CODE_LISTS.items():
        if field == "disability_level":
            bad = ~pl.col(field).is_between(0, 3)
        else:
            bad = ~pl.col(field).is_in(allowed)
        checks.append((_out(field), "code_list", pl.col(field).is_not_null() & bad,
                       f"{_label(field)} must be one of {', '.join(allowed)}"))
    return checks


def _date_checks(today: date) -> list[Check]:
    dob, dod, now = pl.col("date_of_birth"), pl.col("date_of_death"), pl.lit(today)
    checks: list[Check] = [
        (field, "future_date", pl.col(field) > now,
         f"{_label(field)} is after today ({today.isoformat()}); correct the date "
         "(is the day/month order right?)")
        for field in ("date_of_birth", "date_of_death", "enrolment_start", "registered_on")
    ]
    age = _age(dob, pl.min_horizontal(dod.fill_null(now), now))
    checks.append(("date_of_birth", "range", age > MAX_AGE,
                   f"the person would be over {MAX_AGE} years old; correct the date of birth"))
    checks.append(("date_of_death", "range", dod < dob,
                   "date of death is before date of birth; correct one of them"))
    checks.append(("amount_minor", "range", pl.col("amount_minor") < 0,
                   "amount is negative; record payments as zero or more "
                   "(send refunds separately)"))
    checks.append(("annual_income_minor", "range", pl.col("annual_income_minor") < 0,
                   "annual income is negative; record zero or more"))
    return checks


def _household_checks(today: date) -> list[Check]:
    rel, dob, hh = pl.col("relationship_to_head"), pl.col("date_of_birth"), pl.col("household_ref")
    head_dob = dob.filter(rel == "HEAD").min().over("household_ref")
    older = hh.is_not_null() & rel.is_in(["CHILD", "GRANDCHILD"]) & (dob < head_dob)
    young_head = (rel == "HEAD") & (_age(dob, pl.lit(today)) < MIN_HEAD_AGE)
    return [
        ("date_of_birth", "age_relationship", older,
         "a CHILD or GRANDCHILD is older than the head of the same household; correct the "
         "date of birth or the relationship to head"),
        ("date_of_birth", "age_relationship", young_head,
         f"the household head is younger than {MIN_HEAD_AGE}; correct the date of birth or "
         "the relationship to head"),
    ]


def _identity_checks(national_id_check: NationalIdCheck | None) -> list[Check]:
    ref, nid = pl.col("person_ref"), pl.col("national_id")
    details = pl.struct([pl.col(c) for c in PERSON_FIELDS]).hash()
    checks: list[Check] = [
        ("person_ref", "duplicate_id",
         ref.is_not_null() & (details.n_unique().over("person_ref") > 1),
         "this record id appears on several rows with different personal details; make the "
         "rows agree or give each person their own id"),
        ("national_id", "duplicate_id",
         nid.is_not_null() & (ref.n_unique().over("national_id") > 1),
         "this national ID is on more than one person (different record ids); correct the "
         "ID or merge the records"),
    ]
    if national_id_check is not None:
        checks.append(("national_id", "check_digit",
                       nid.is_not_null() & ~national_id_check(nid).fill_null(False),
                       "the national ID fails its check digit; look for a mistyped digit"))
    return checks


def _checks(today: date, national_id_check: NationalIdCheck | None) -> list[Check]:
    return (_code_checks() + _date_checks(today) + _household_checks(today)
            + _identity_checks(national_id_check))


def _check_issues(frame: pl.LazyFrame, checks: list[Check], columns: dict[str, str],
                  values: dict[str, str]) -> pl.DataFrame:
    """One issue per row failing each check; ``columns``/``values`` rename and re-source."""
    parts = [
        frame.filter(condition.fill_null(False)).select(
            pl.col("_row").cast(pl.Int64),
            pl.lit(columns.get(field, field), pl.String).alias("column"),
            pl.col(values.get(field, field)).cast(pl.String).alias("value"),
            pl.lit(rule, pl.String).alias("rule"), pl.lit(message, pl.String).alias("message"))
        for field, rule, condition, message in checks
    ]
    return _concat(parts)


def validate(mapped: pl.DataFrame, *, today: date,
             national_id_check: NationalIdCheck | None = None) -> pl.DataFrame:
    """Issues in mapped rows (``column`` = the target field, ``value`` = the typed value).

    Runs the code_list, future_date, range, age_relationship, duplicate_id and (with
    ``national_id_check``) check_digit rules.
    """
    frame = mapped.lazy().with_columns(
        [pl.lit(None, dtype).alias(name) for name, dtype in OUTPUT_SCHEMA.items()
         if name not in mapped.columns])
    return _check_issues(frame, _checks(today, national_id_check), {}, {})


# --- applying --------------------------------------------------------------------------------

def apply_mapping(frame: pl.DataFrame, mapping: Mapping, *, today: date
                  ) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Map a frame of text columns (+ ``_row``) to the minimum dataset; return (mapped, issues).

    Raises :class:`MappingError` only when the frame lacks columns the mapping reads; every
    problem with a value becomes a row of ``issues``.
    """
    missing = check_mapping_against_columns(mapping, [c for c in frame.columns if c != "_row"])
    if missing:
        raise MappingError(missing)
    if "_row" not in frame.columns:
        frame = frame.with_row_index("_row", offset=1)
    frame = frame.with_columns(pl.col("_row").cast(pl.Int64))
    work = _convert(frame, mapping.fields, mapping.extensions)
    mapped = work.select([pl.col(name).cast(dtype) for name, dtype in OUTPUT_SCHEMA.items()])
    specs = {_out(s.target): s for s in mapping.fields}
    specs |= {f"__ext__{s.target}": s for s in mapping.extensions}
    check = NATIONAL_ID_CHECKS.get(mapping.national_id_check or "")
    found = _check_issues(
        work.lazy(), _checks(today, check),
        {name: spec.where for name, spec in specs.items()},
        {name: f"__raw__{name}" for name in specs})
    issues = pl.concat([_conversion_issues(work, specs), found])
    return mapped, issues.sort("_row", maintain_order=True)


# --- reading a data file: the one path of submit and check -----------------------------------

@dataclass(frozen=True)
class Read:
    """A data file parsed and mapped as a submission reads it."""

    parsed: parsers.Parsed
    mapped: pl.DataFrame
    issues: pl.DataFrame  # row_shape issues from the parser, then the mapping's

    @property
    def notes(self) -> tuple[str, ...]:
        """What was decided about the file (header row found, group prefixes stripped)."""
        return self.parsed.notes


def read_data(data: bytes, *, filename: str, mapping: Mapping, today: date,
              max_bytes: int = parsers.MAX_BYTES,
              parsed: Callable[[int], None] | None = None) -> Read:
    """Parse ``data`` with the mapping's header_row and groups, then map and check it
    (``parsed``, if given, is told the file's rows in between).

    The only way both ``submit`` and ``mapping check --against`` read a file, so they see the
    same columns and report the same problems. Raises :class:`parsers.ParseError` when the
    file cannot be read and :class:`MappingError` when it lacks columns the mapping reads.
    """
    read = parsers.parse_file(data, filename=filename, max_bytes=max_bytes,
                              header_row=mapping.header_row, groups=mapping.groups,
                              shape_issues=True)
    if parsed is not None:
        parsed(read.frame.height)
    return _map_read(read, mapping, today)


def _map_read(parsed: parsers.Parsed, mapping: Mapping, today: date) -> Read:
    try:
        mapped, issues = apply_mapping(parsed.frame, mapping, today=today)
    except MappingError as exc:  # say which row the names were taken from
        raise MappingError(exc.problems + list(parsed.notes)) from None
    typed = [pl.col(name).cast(dtype) for name, dtype in ISSUE_SCHEMA.items()]
    shape = parsed.issues.select(typed)
    # A row of the wrong shape has its values in the wrong columns: reported once, as such.
    issues = pl.concat([shape, issues.select(typed).join(shape.select("_row"), on="_row",
                                                         how="anti")])
    return Read(parsed=parsed, mapped=mapped, issues=issues.sort("_row", maintain_order=True))


# --- warnings: codes that may mean different things --------------------------------------

def code_warnings(mapping: Mapping) -> list[str]:
    """Codes tables that are probably wrong though valid: the same code written twice (case,
    spaces) with different targets, and ``M`` for sex next to ``H`` or ``F`` (M is male in
    English, French and Portuguese, but *mujer*, female, in Spanish, whose files use H/M)."""
    found: list[str] = []
    labelled = [(s, f"fields.{s.target}") for s in mapping.fields]
    labelled += [(s, f"extensions.{s.target}") for s in mapping.extensions]
    for spec, path in labelled:
        if not spec.codes:
            continue
        targets: dict[str, dict[str, str | None]] = {}
        for key, value in spec.codes:
            targets.setdefault(key.strip().casefold(), {})[key] = value
        for same in targets.values():
            if len(set(same.values())) > 1:
                shown = ", ".join(f"{k!r} -> {v!r}" for k, v in same.items())
                found.append(f"{path}.codes: {shown}: the same code, written differently, "
                             "means different things; a file's code has one meaning")
        if spec.target == "sex":
            found += _sex_warning(path, {k.strip().upper(): v for k, v in spec.codes})
    return found


def _sex_warning(path: str, codes: dict[str, str | None]) -> list[str]:
    if "M" not in codes:
        return []
    also = [k for k in ("H", "F") if k in codes and codes[k] == codes["M"]]
    if not also:
        return []
    return [f"{path}.codes: 'M' and {also[0]!r} both mean {codes['M']!r}: 'M' is male in "
            f"English, French and Portuguese files (M/F) but mujer, female, in Spanish ones "
            f"(H/M); check what this source's 'M' means and keep one language's codes"]
