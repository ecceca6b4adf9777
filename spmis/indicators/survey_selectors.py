"""Reads of saved surveys: the latest one, all of them, one survey's estimates by measure.

Survey estimates are national aggregates of a sample; who may see them is the door's job
(the coverage permission)."""

from __future__ import annotations

from spmis.indicators.models import Survey, SurveyEstimate


def survey_latest() -> Survey | None:
    return Survey.objects.order_by("-saved_at", "-id").first()


def survey_list() -> list[Survey]:
    return list(Survey.objects.order_by("-saved_at", "-id"))


def survey_estimates(*, survey: Survey) -> dict[str, SurveyEstimate]:
    return {e.measure: e for e in SurveyEstimate.objects.filter(survey=survey)}
