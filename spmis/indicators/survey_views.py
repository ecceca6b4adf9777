"""Survey-based inclusion and exclusion errors: the latest saved survey, read-only.

Exclusion and inclusion errors with their 95% intervals and the benchmark in words; coverage
and benefit incidence by welfare quintile as a table and a bar chart. The figures are national
aggregates of a sample, shown to anyone holding the coverage permission.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from spmis.access.doors import require_permission
from spmis.access.policy import Permission
from spmis.core import formatting
from spmis.indicators import survey_selectors
from spmis.indicators.models import SurveyEstimate

QUINTILES = 5


@dataclass(frozen=True)
class Shown:
    """One estimate as the page prints it: 12.3% [10.1, 14.5]."""

    value: str
    interval: str
    n: int | None
    numerator: float | None
    denominator: float | None

    @classmethod
    def of(cls, row: SurveyEstimate | None) -> Shown:
        if row is None or row.value is None:
            return cls("—", "", row.n if row else None, None, None)
        interval = "" if row.ci_low is None or row.ci_high is None else \
            formatting.interval(100 * row.ci_low, 100 * row.ci_high)
        return cls(formatting.percent(100 * row.value), interval, row.n, row.numerator,
                   row.denominator)


def _percent(row: SurveyEstimate | None) -> float | None:
    return None if row is None or row.value is None else round(100 * row.value, 2)


def _quintiles(found: dict[str, SurveyEstimate]) -> list[dict[str, Any]]:
    return [{"label": f"Q{k}", "population": Shown.of(found.get(f"POPULATION_Q{k}")),
             "coverage": Shown.of(found.get(f"COVERAGE_Q{k}")),
             "incidence": Shown.of(found.get(f"INCIDENCE_Q{k}"))}
            for k in range(1, QUINTILES + 1)]


@require_GET
@login_required
def survey_errors(request: HttpRequest) -> HttpResponse:
    require_permission(request, Permission.VIEW_COVERAGE)
    survey = survey_selectors.survey_latest()
    context: dict[str, Any] = {"survey": survey}
    if survey is not None:
        found = survey_selectors.survey_estimates(survey=survey)
        context.update({
            "ee": Shown.of(found.get("EE")), "ie": Shown.of(found.get("IE")),
            "coverage": Shown.of(found.get("COVERAGE")),
            "quintiles": _quintiles(found),
            "bars": {"labels": [f"Q{k}" for k in range(1, QUINTILES + 1)],
                     "coverage": [_percent(found.get(f"COVERAGE_Q{k}"))
                                  for k in range(1, QUINTILES + 1)],
                     "incidence": [_percent(found.get(f"INCIDENCE_Q{k}"))
                                   for k in range(1, QUINTILES + 1)]
                     if survey.benefit_amounts else []},
        })
    return render(request, "indicators/survey.html", context)
