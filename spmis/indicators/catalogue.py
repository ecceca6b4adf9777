"""Indicator definitions: versioned data (catalogue.yaml), checked when loaded.

Definitions are engine-neutral: filters on a fixed snapshot schema, turned into SQL by
:mod:`spmis.indicators.engine`, so the same catalogue can run on DuckDB today and Spark later.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from django.conf import settings
from django.utils.translation import get_language, gettext, override

from spmis.core.parameters import GROUPS, ParameterError, ParameterSet, parameters_in_force

CODE = re.compile(r"[A-Z][A-Z0-9_]{0,39}")  # also what keeps codes safe inside SQL text

GUARANTEES = ("HEALTH", "CHILDREN", "WORKING_AGE", "OLD_AGE")
FUNCTIONS = ("SICKNESS", "HEALTH", "DISABILITY", "OLD_AGE", "SURVIVORS", "FAMILY_CHILD",
             "MATERNITY", "UNEMPLOYMENT", "EMPLOYMENT_INJURY", "HOUSING",
             "SOCIAL_EXCLUSION")
UNITS = ("PERCENT", "NUMBER", "CURRENCY")
STATISTICS = ("median", "mean", "share_above", "median_ratio")
ADMIN_ERRORS = ("exclusion", "inclusion")
COVERAGES = ("enrolled", "receiving")
DIRECTIONS = ("higher", "lower")  # which way is better
# Benefit filters: flags of the scheme catalogue (social_assistance: a non-contributory
# transfer to the poor or vulnerable; employment_injury: covers employment injury).
BENEFIT_FILTERS = ("guarantee", "function", "cash", "contributory", "social_assistance",
                   "employment_injury")
PROCESSES = ("reporting_rate", "reporting_rate_on_time", "duplicate_record_rate",
             "open_flags", "overdue_flags", "payments_on_time")


class CatalogueError(ValueError):
    pass


@dataclass(frozen=True)
class Indicator:
    code: str
    name: str
    description: str
    age_from: int
    age_to: int | None
    sex: str | None
    severe_disability: bool
    benefits: dict[str, Any]  # empty = any benefit
    missing_denominator: str | None  # why there is no denominator, or None
    unit: str
    reference: str
    sdmx: dict[str, str]
    # Vertical indicators: a statistic of the cash each person received in the period,
    # summed across schemes: median, mean, share_above (a benchmark), median_ratio.
    statistic: str | None = None
    benchmark: str | None = None
    # Process and quality indicators, read from the capabilities that hold them.
    process: str | None = None
    # Also computed per scheme (the schemes that pass the benefit filter), besides any scheme.
    by_scheme: bool = False
    # Administrative errors against schemes' declared eligibility criteria: exclusion
    # (eligible, not enrolled) or inclusion (enrolled, not eligible); always per scheme.
    admin_error: str | None = None
    # What makes a person covered: "enrolled" (an enrolment in force at the period's end, or
    # a payment for the period: the COV_* series) or "receiving" (paid in the period, or in
    # the scheme's payment cycle covering it: the SDG 1.3.1 series).
    coverage: str = "enrolled"
    # SDG 1.3.1 vulnerable persons (population group VULNERABLE): the ages of the children,
    # working-age and older groups; the first always counts, the second unless protected by a
    # contributory scheme, the third unless receiving a contributory benefit.
    vulnerable: tuple[tuple[int, int | None], ...] | None = None
    # Which way is better: "higher" (coverage, adequacy) or "lower" (errors, duplicates,
    # open flags). Drill-downs list, and maps shade darkest, the worst areas first.
    direction: str = "higher"


def load(text: str, parameters: ParameterSet | None = None) -> list[Indicator]:
    """Parse and check a catalogue; every problem is named. Populations given as an R202
    ``age_group`` take their ages from ``parameters`` (default: those in force today)."""
    parameters = parameters or parameters_in_force(dt.date.today())
    raw = yaml.safe_load(text)
    if not isinstance(raw, list) or not raw:
        raise CatalogueError("The catalogue must be a non-empty list of indicators.")
    found, problems = [], []
    for i, item in enumerate(raw):
        try:
            found.append(_indicator(item, parameters))
        except (KeyError, TypeError, ValueError, ParameterError) as exc:
            code = item.get("code", "?") if isinstance(item, dict) else "?"
            problems.append(f"indicator {i + 1} ({code}): {exc}")
    codes = [i.code for i in found]
    problems += [f"code {c} is defined twice" for c in sorted({c for c in codes
                                                                if codes.count(c) > 1})]
    if problems:
        raise CatalogueError("; ".join(problems))
    return found


def _indicator(item: dict[str, Any], parameters: ParameterSet) -> Indicator:
    if not CODE.fullmatch(str(item.get("code", ""))):
        raise ValueError("code must be capital letters, digits and underscores")
    process = item.get("process")
    if process is not None and process not in PROCESSES:
        raise ValueError(f"process must be one of {PROCESSES}")
    population = item.get("population", {"ages": [0, None]})
    vulnerable = None
    ages: tuple[int, int | None] | list[Any]
    if population.get("group") == "VULNERABLE":
        vulnerable = tuple(parameters.ages_of(g) for g in GROUPS)
        ages = (0, None)
    elif "group" in population:
        raise ValueError("population.group must be VULNERABLE")
    else:
        ages = parameters.ages_of(population["age_group"]) if "age_group" in population \
            else population["ages"]
    coverage = item.get("coverage", "enrolled")
    if coverage not in COVERAGES:
        raise ValueError(f"coverage must be one of {COVERAGES}")
    benefits = {} if item.get("benefits", "any") == "any" else dict(item["benefits"])
    unknown = set(benefits) - set(BENEFIT_FILTERS)
    if unknown:
        raise ValueError(f"unknown benefit filter(s) {sorted(unknown)}")
    if benefits.get("guarantee", GUARANTEES[0]) not in GUARANTEES:
        raise ValueError(f"guarantee must be one of {GUARANTEES}")
    if benefits.get("function", FUNCTIONS[0]) not in FUNCTIONS:
        raise ValueError(f"function must be one of {FUNCTIONS}")
    vertical = item.get("vertical") or {}
    statistic, benchmark = vertical.get("statistic"), vertical.get("benchmark")
    if vertical and statistic not in STATISTICS:
        raise ValueError(f"vertical.statistic must be one of {STATISTICS}")
    if statistic in ("share_above", "median_ratio") and not benchmark:
        raise ValueError(f"vertical.statistic {statistic} needs a benchmark")
    admin_error = item.get("admin_error")
    if admin_error is not None and admin_error not in ADMIN_ERRORS:
        raise ValueError(f"admin_error must be one of {ADMIN_ERRORS}")
    denominator = item.get("denominator", "population")
    if (denominator == "registry") != (admin_error is not None):
        raise ValueError("denominator registry goes with admin_error, and only with it")
    missing = None if denominator in ("population", "recipients", "registry") else \
        str(denominator["missing"])
    if item["unit"] not in UNITS:
        raise ValueError(f"unit must be one of {UNITS}")
    if item.get("direction") not in DIRECTIONS:
        raise ValueError(f"direction (which way is better) must be one of {DIRECTIONS}")
    return Indicator(
        code=str(item["code"]), name=str(item["name"]),
        description=" ".join(str(item.get("description", "")).split()),
        age_from=int(ages[0]), age_to=None if ages[1] is None else int(ages[1]),
        sex=population.get("sex"), severe_disability=population.get("disability") == "SEVERE",
        benefits=benefits, missing_denominator=" ".join(missing.split()) if missing else None,
        unit=item["unit"], reference=item["reference"], sdmx=dict(item.get("sdmx", {})),
        statistic=statistic, benchmark=benchmark, process=process,
        by_scheme=bool(item.get("by_scheme", False)) or admin_error is not None,
        admin_error=admin_error, coverage=coverage, vulnerable=vulnerable,
        direction=item["direction"])


def catalogue(on: dt.date | None = None) -> tuple[Indicator, ...]:
    """The catalogue with the parameters in force on ``on`` (default today): a period's
    figures use the age groups of the period."""
    return _catalogue(parameters_in_force(on or dt.date.today()))


@cache
def _catalogue(parameters: ParameterSet) -> tuple[Indicator, ...]:
    text = (Path(__file__).parent / "catalogue.yaml").read_text(encoding="utf-8")
    return tuple(load(text, parameters))


def shown(on: dt.date | None = None) -> tuple[Indicator, ...]:
    """The catalogue as pages show it: each name, description and note in the active language
    (spmis/locale; the messages are gathered in catalogue_messages.py). What is computed,
    stored and exported keeps catalogue()'s English."""
    language = get_language() or settings.LANGUAGE_CODE
    return _shown(parameters_in_force(on or dt.date.today()), language)


@cache
def _shown(parameters: ParameterSet, language: str) -> tuple[Indicator, ...]:
    def said(text: str | None) -> str | None:
        return gettext(text) if text else text  # gettext("") would give the catalogue's header

    with override(language):
        return tuple(replace(i, name=gettext(i.name), description=said(i.description) or "",
                             missing_denominator=said(i.missing_denominator))
                     for i in _catalogue(parameters))


def messages() -> list[str]:
    """Every text of catalogue.yaml a page shows, for the message catalogues."""
    texts: list[str] = []
    for i in _catalogue(parameters_in_force(dt.date.today())):
        texts += [t for t in (i.name, i.description, i.missing_denominator) if t]
    return list(dict.fromkeys(texts))
