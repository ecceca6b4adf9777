"""Aggregate returns (DHIS2 style) for institutions that hold no individual records.

A return is a source's figures for one area and month: one value per data element and
category option combination (``"SEX=F"``, or ``""`` for the total). Returns are validated by
the rules in :data:`RULES` (data, not code), refused while the period is approved, upserted
atomically and audited. :func:`aggregate_outliers` flags unusual months with the modified
z-score, computed set-wise with Polars over the stored series.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import json
import re
from dataclasses import dataclass, field
from typing import Any

import polars as pl
from django.db import transaction
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from spmis.access.models import User
from spmis.access.policy import Permission
from spmis.access.selectors import scope_for_user
from spmis.audit.actions import AuditAction
from spmis.audit.services import audit_record
from spmis.core import clock
from spmis.core.errors import Conflict, NotFound, ValidationFailed
from spmis.core.periods import month_start
from spmis.geography.models import Area
from spmis.intake import parsers
from spmis.intake.approvals import period_lock_area
from spmis.intake.models import (
    AggregateValue,
    DataElement,
    Source,
    Submission,
    SubmissionStatus,
)
from spmis.intake.services import source_for_submitter

# The options of each category, in the order a form shows them.
CATEGORIES: dict[str, tuple[str, ...]] = {
    "SEX": ("F", "M"),
    "AGE_BAND": ("0-17", "18-59", "60+"),
}

# Validation rules as data: (element code, "left = term + term ..."). A term is ``total`` (the
# combo ""), an option of the element's only category (``F`` → ``SEX=F``) or a full combo
# (``SEX=F;AGE_BAND=0-17``). A rule is checked only when every combo it names has a value.
RULES: list[tuple[str, str]] = [
    ("BENEFICIARIES", "total = F + M"),
    ("APPLICATIONS", "total = F + M"),
    ("COMPLAINTS", "total = F + M"),
]

MODIFIED_Z = 0.6745
UPLOAD_COLUMNS = ("element", "combo", "value")
MAX_VALUE = 2**63 - 1


@dataclass
class AggregateResult:
    """What became of a return: the submission it was saved as, or the rules it broke."""

    submission: Submission | None
    saved: int = 0
    violations: list[str] = field(default_factory=list)

    @property
    def refused(self) -> bool:
        return bool(self.violations)

    @property
    def message(self) -> str:
        if self.violations:
            return "The return was refused: " + " ".join(self.violations)
        return f"{self.saved} values saved."


@dataclass(frozen=True)
class Outlier:
    period: dt.date
    value: int
    z: float


def element_combos(element: DataElement) -> list[str]:
    """The combos a return may hold for ``element``: the total, then every full combination."""
    categories = [str(c) for c in element.disaggregation or []]
    unknown = [c for c in categories if c not in CATEGORIES]
    if unknown:
        raise ValidationFailed(f"Element {element.code} uses unknown categories: "
                               f"{', '.join(unknown)}.")
    if not categories:
        return [""]
    options = [[f"{c}={o}" for o in CATEGORIES[c]] for c in categories]
    return ["", *(";".join(combo) for combo in itertools.product(*options))]


OPTION_NAMES = {"SEX=F": _("women"), "SEX=M": _("men")}


def combo_label(combo: str) -> str:
    """A combo as people read it: "" -> total, "SEX=F;AGE_BAND=0-17" -> "women, aged 0-17"."""
    if not combo:
        return str(_("total"))
    return ", ".join(str(OPTION_NAMES.get(part, _("aged %(band)s") % {"band": part.split("=")[1]}
                                          if part.startswith("AGE_BAND=") else part))
                     for part in combo.split(";"))


def element_list() -> list[tuple[DataElement, list[str]]]:
    """Every data element with the combos a return may give for it (``spmis intake
    elements``; named in refusals)."""
    return [(e, element_combos(e)) for e in DataElement.objects.order_by("code")]


def _term_combo(term: str, element: DataElement) -> str:
    term = term.strip()
    if term == "total":
        return ""
    if "=" in term:
        return term
    categories = list(element.disaggregation or [])
    if len(categories) == 1 and term in CATEGORIES.get(categories[0], ()):
        return f"{categories[0]}={term}"
    raise ValueError(f"Rule term {term!r} does not name a combo of {element.code}.")


def _parse_rule(rule: str, element: DataElement) -> tuple[str, list[str]]:
    left, right = re.split(r"\s+=\s+", rule.strip(), maxsplit=1)
    return _term_combo(left, element), [_term_combo(t, element) for t in right.split("+")]


def rule_violations(values: dict[tuple[str, str], int],
                    elements: dict[str, DataElement]) -> list[str]:
    """The rules broken by ``values`` ((element code, combo) → value), as messages."""
    problems = []
    for code, rule in RULES:
        element = elements.get(code)
        if element is None:
            continue
        left, terms = _parse_rule(rule, element)
        if any((code, c) not in values for c in [left, *terms]):
            continue
        lhs = values[(code, left)]
        rhs = sum(values[(code, c)] for c in terms)
        if lhs != rhs:
            problems.append(gettext("%(code)s: %(rule)s fails (%(lhs)s ≠ %(rhs)s).") % {
                "code": code, "rule": rule, "lhs": lhs, "rhs": rhs})
    return problems


def _area(code: str) -> Area:
    area = Area.objects.filter(code=code).first()
    if area is None:
        raise NotFound(f"No area with P-code {code!r}.")
    return area


def _clean(values: list[dict[str, Any]],
           elements: dict[str, DataElement]) -> dict[tuple[str, str], int]:
    cleaned: dict[tuple[str, str], int] = {}
    problems = []
    for n, item in enumerate(values, start=1):
        code = str(item.get("element") or "").strip()
        combo = str(item.get("combo") or "").strip()
        # A file's rows are counted as in the file; values typed or sent by the API in order.
        where = (gettext("Row %(n)s") % {"n": item["_row"]} if "_row" in item
                 else gettext("Value %(n)s") % {"n": n})
        element = elements.get(code)
        if element is None:
            problems.append(gettext(
                "%(where)s: %(code)r is not a data element; the elements are %(elements)s "
                "(`spmis intake elements`).") % {"where": where, "code": code,
                                                 "elements": ", ".join(sorted(elements))})
            continue
        if combo not in element_combos(element):
            choices = ", ".join(repr(c) for c in element_combos(element))
            problems.append(gettext(
                "%(where)s: %(combo)r is not a breakdown of %(code)s; its breakdowns are "
                "%(choices)s ('' is the total).") % {"where": where, "combo": combo,
                                                      "code": code, "choices": choices})
            continue
        raw = item.get("value")
        value = whole_number(raw)
        if value is None:
            problems.append(gettext(
                "%(where)s: %(raw)r is not a whole number: write counts with digits only "
                "(spaces between thousands are fine; a comma or a point could be a decimal "
                "mark, so it is refused rather than guessed).") % {"where": where, "raw": raw})
            continue
        if not 0 <= value <= MAX_VALUE:
            problems.append(gettext("%(where)s: %(value)s is out of range (0 or more).") % {
                "where": where, "value": value})
            continue
        if (code, combo) in cleaned:
            problems.append(gettext("%(where)s: %(code)s %(combo)s is given twice.") % {
                "where": where, "code": code, "combo": combo or gettext("total")})
            continue
        cleaned[(code, combo)] = value
    if problems:
        raise ValidationFailed(gettext("The return is not valid:") + "\n" + "\n".join(problems))
    if not cleaned:
        raise ValidationFailed(gettext("The return holds no values."))
    return cleaned


def whole_number(raw: Any) -> int | None:
    """A count as a file or form gives it: digits, optionally grouped by spaces ("12 345", a
    no-break or thin space too). Anything with a comma or a point is refused: "1234,56" and
    "1.234" mean different numbers in different countries, and a count is never rescaled."""
    if isinstance(raw, int) and not isinstance(raw, bool):
        return raw
    text = re.sub(r"[\s\u00a0\u202f]", "", str(raw if raw is not None else ""))
    return int(text) if re.fullmatch(r"[0-9]{1,15}", text) else None


def aggregate_values(*, source: Source, area: Area, period: dt.date) -> dict[tuple[str, str], int]:
    """The stored values of a return: (element code, combo) → value."""
    rows = AggregateValue.objects.filter(source=source, area=area, period=month_start(period))
    return {(code, combo): value for code, combo, value in
            rows.values_list("element__code", "category_option_combo", "value")}


def aggregate_submit(*, actor: User | None, source_code: str, area_code: str, period: dt.date,
                     values: list[dict[str, Any]]) -> AggregateResult:
    """Save a return (``values``: dicts of element, combo, value) for a source, area and month.

    Values are upserted; a return that breaks a rule (with the values already stored) is
    refused, nothing saved, and the broken rules are returned. Refused while approved.
    """
    digest = hashlib.sha256(json.dumps(values, sort_keys=True, default=str).encode()).hexdigest()
    return _submit(actor=actor, source_code=source_code, area_code=area_code, period=period,
                   values=values, filename="aggregate-form", file_format="form",
                   content_hash=digest)


def aggregate_upload(*, actor: User | None, source_code: str, area_code: str, period: dt.date,
                     data: bytes, filename: str) -> AggregateResult:
    """Save a return from a file (CSV/XLSX/JSON) with the columns element, combo, value."""
    try:
        parsed = parsers.parse_file(data, filename=filename)
    except parsers.ParseError as exc:
        raise ValidationFailed(str(exc)) from exc
    frame = parsed.frame.rename({c: c.strip().lower() for c in parsed.frame.columns})
    missing = [c for c in UPLOAD_COLUMNS if c != "combo" and c not in frame.columns]
    if missing:
        raise ValidationFailed(f"The file needs the columns {', '.join(UPLOAD_COLUMNS)}; "
                               f"missing: {', '.join(missing)}.")
    if "combo" not in frame.columns:
        frame = frame.with_columns(pl.lit("").alias("combo"))
    rows = frame.select(pl.col("element"), pl.col("combo").fill_null(""),
                        pl.col("value").cast(pl.String), pl.col("_row"))
    return _submit(actor=actor, source_code=source_code, area_code=area_code, period=period,
                   values=rows.to_dicts(), filename=filename[:255],
                   file_format=parsed.format, content_hash=hashlib.sha256(data).hexdigest())


def _submit(*, actor: User | None, source_code: str, area_code: str, period: dt.date,
            values: list[dict[str, Any]], filename: str, file_format: str,
            content_hash: str) -> AggregateResult:
    source = source_for_submitter(actor=actor, code=source_code)
    area = _area(area_code)
    if actor is not None and not area.path.startswith(
            scope_for_user(user=actor, permission=Permission.SUBMIT_DATA).area_paths):
        raise NotFound(f"No area {area.code} among yours.")
    if source.area is not None and not area.path.startswith(source.area.path):
        raise ValidationFailed(f"Area {area.code} is outside source {source.code}'s area "
                               f"{source.area.code}.")
    period = month_start(period)
    elements = {e.code: e for e in DataElement.objects.all()}
    cleaned = _clean(values, elements)
    label = {"source": source.code, "period": f"{period:%Y-%m}"}
    with transaction.atomic():
        Source.objects.select_for_update().filter(pk=source.pk).first()
        locked = period_lock_area(area_path=area.path, period=period)
        if locked is not None:
            raise Conflict(f"The period {period:%Y-%m} is approved for {locked.code}; ask "
                           f"for it to be un-approved first.")
        merged = {**aggregate_values(source=source, area=area, period=period), **cleaned}
        violations = rule_violations(merged, elements)
        if violations:
            audit_record(actor=actor, action=AuditAction.AGGREGATE_REFUSE,
                         object_type="aggregate_return",
                         object_id=source.code, area_code=area.code,
                         detail={**label, "violations": violations})
            return AggregateResult(submission=None, violations=violations)
        now = clock.now()
        submission = Submission.objects.create(
            source=source, period=period, status=SubmissionStatus.LOADED,
            content_hash=content_hash, filename=filename, file_format=file_format,
            rows_total=len(cleaned), rows_loaded=len(cleaned), received_at=now,
            created_by=actor, message=f"Aggregate return for {area.code}.")
        AggregateValue.objects.bulk_create(
            [AggregateValue(source=source, area=area, period=period, element=elements[code],
                            category_option_combo=combo, value=value, submission=submission,
                            entered_by=actor, entered_at=now)
             for (code, combo), value in sorted(cleaned.items())],
            update_conflicts=True,
            unique_fields=["source", "area", "period", "element", "category_option_combo"],
            update_fields=["value", "submission", "entered_by", "entered_at"],
        )
        audit_record(actor=actor, action=AuditAction.AGGREGATE_SUBMIT, object_type="submission",
                     object_id=submission.pk, area_code=area.code,
                     detail={**label, "values": len(cleaned), "format": file_format})
    return AggregateResult(submission=submission, saved=len(cleaned))


def aggregate_series(*, element_code: str, area_code: str, combo: str = "") -> pl.DataFrame:
    """The stored monthly series (period, value summed over sources) of one element, area and
    combo, oldest first."""
    element = DataElement.objects.filter(code=element_code).first()
    if element is None:
        raise NotFound(f"No data element with code {element_code!r}.")
    area = _area(area_code)
    rows = AggregateValue.objects.filter(element=element, area=area,
                                         category_option_combo=combo)
    frame = pl.DataFrame(list(rows.values_list("period", "value")),
                         schema={"period": pl.Date, "value": pl.Int64}, orient="row")
    return frame.group_by("period").agg(pl.col("value").sum()).sort("period")


def modified_z_scores(series: pl.DataFrame) -> pl.DataFrame:
    """``series`` with ``z``: 0.6745 (x - median) / MAD; null where the MAD is 0."""
    x = pl.col("value").cast(pl.Float64)
    median = x.median()
    mad = (x - median).abs().median()
    return series.with_columns(
        pl.when(mad > 0).then(MODIFIED_Z * (x - median) / mad).otherwise(None).alias("z"))


def aggregate_outliers(*, element_code: str, area_code: str, combo: str = "",
                       threshold: float = 3.5) -> list[Outlier]:
    """The months whose modified z-score is above ``threshold`` in absolute value (none when
    the MAD is 0, i.e. at least half the months hold the same value)."""
    scored = modified_z_scores(aggregate_series(element_code=element_code,
                                                area_code=area_code, combo=combo))
    flagged = scored.filter(pl.col("z").abs() > threshold)
    return [Outlier(period=p, value=v, z=z) for p, v, z in flagged.iter_rows()]
