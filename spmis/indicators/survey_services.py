"""Saving a survey's inclusion and exclusion errors: all estimates or none, audited."""

from __future__ import annotations

from django.db import transaction

from spmis.access.models import User
from spmis.audit.actions import AuditAction
from spmis.audit.services import audit_record
from spmis.core import clock
from spmis.core.errors import ValidationFailed
from spmis.indicators.models import Survey, SurveyEstimate
from spmis.indicators.survey import SurveyResult


def survey_save(*, actor: User | None, result: SurveyResult, name: str, year: int) -> Survey:
    """Store a computed result (from ``survey.survey_compute``) under a name and year."""
    name = name.strip()
    if not name or len(name) > 200:
        raise ValidationFailed("A saved survey needs a name (--name), at most 200 characters.")
    if not 1900 <= year <= 2100:
        raise ValidationFailed("The survey year must be between 1900 and 2100 (--year).")
    with transaction.atomic():
        survey = Survey.objects.create(
            name=name, year=year, file_name=result.file_name[:255],
            file_sha256=result.file_sha256, columns=result.columns,
            benefit_amounts=result.amounts, benchmark=result.benchmark.code,
            benchmark_text=result.benchmark.describe()[:300], variance=result.variance[:300],
            respondents=result.respondents, persons=result.persons, saved_at=clock.now(),
            actor=actor)
        SurveyEstimate.objects.bulk_create(
            SurveyEstimate(survey=survey, measure=e.measure, value=e.value, ci_low=e.ci_low,
                           ci_high=e.ci_high, n=e.n, numerator=e.numerator,
                           denominator=e.denominator) for e in result.estimates)
        audit_record(actor=actor, action=AuditAction.SURVEY_SAVE, object_type="survey",
                     object_id=survey.pk, detail={
                         "name": name, "year": year, "file": survey.file_name,
                         "sha256": survey.file_sha256, "benchmark": survey.benchmark,
                         "estimates": len(result.estimates)})
    return survey
