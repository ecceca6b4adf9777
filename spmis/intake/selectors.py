"""Reads of sources, submissions and error reports."""

from __future__ import annotations

import datetime as dt
import io

import polars as pl
from django.db.models import Q, QuerySet

from spmis.access.models import User
from spmis.access.policy import Permission
from spmis.access.selectors import scope_for_user
from spmis.core.errors import NotFound, ValidationFailed
from spmis.geography.models import Area
from spmis.intake.models import Source, Submission
from spmis.intake.parsers import neutralise_cell


def source_list() -> QuerySet[Source]:
    return Source.objects.order_by("code").prefetch_related("schemes")


def submission_get(*, submission_id: int) -> Submission:
    submission = Submission.objects.select_related("source", "mapping").filter(
        pk=submission_id).first()
    if submission is None:
        raise NotFound(f"No submission {submission_id}.")
    return submission


def submission_error_report(*, submission: Submission, file_format: str) -> bytes:
    """The row-level error report (row, column, value, rule, message) as CSV or XLSX.

    Cells that a spreadsheet would run as a formula are neutralised.
    """
    rows = submission.issues.order_by("row", "id").values_list("row", "column", "value", "rule",
                                                               "message")
    frame = pl.DataFrame(list(rows), orient="row", schema={
        "row": pl.Int64, "column": pl.String, "value": pl.String, "rule": pl.String,
        "message": pl.String})
    frame = frame.with_columns(pl.col(c).map_elements(neutralise_cell, return_dtype=pl.String)
                               for c in ("column", "value", "message"))
    buffer = io.BytesIO()
    if file_format == "csv":
        frame.write_csv(buffer)
    elif file_format == "xlsx":
        frame.write_excel(buffer, worksheet="errors", autofit=True)
    else:
        raise ValidationFailed(f"Unknown report format {file_format!r}: use csv or xlsx.")
    return buffer.getvalue()


def _sources_q(*, user: User, permission: Permission) -> Q | None:
    """Sources whose area is inside the user's scope for ``permission``; sources without an
    area only for national users (a scope holding a root of the hierarchy). None: nothing."""
    scope = scope_for_user(user=user, permission=permission)
    if scope.empty:
        return None
    inside = scope.area_q("area")
    if Area.objects.filter(parent__isnull=True, path__in=scope.area_paths).exists():
        inside |= Q(area__isnull=True)
    return inside


def source_list_for_user(*, user: User, permission: Permission) -> QuerySet[Source]:
    """Sources the user may use ``permission`` on (e.g. SUBMIT_DATA: the upload form's list)."""
    inside = _sources_q(user=user, permission=permission)
    if inside is None:
        return Source.objects.none()
    return Source.objects.filter(inside).order_by("code")


def submission_list_for_user(*, user: User, source_code: str = "",
                             period: dt.date | None = None) -> QuerySet[Submission]:
    """Submissions of the sources inside the user's VIEW_COVERAGE scope, newest first."""
    inside = _sources_q(user=user, permission=Permission.VIEW_COVERAGE)
    if inside is None:
        return Submission.objects.none()
    sources = Source.objects.filter(inside).values("id")
    submissions = Submission.objects.filter(source__in=sources).select_related("source")
    if source_code:
        submissions = submissions.filter(source__code=source_code)
    if period is not None:
        submissions = submissions.filter(period=period.replace(day=1))
    return submissions.order_by("-received_at", "-id")


def submission_get_for_user(*, user: User, submission_id: int) -> Submission:
    """One submission inside the user's VIEW_COVERAGE scope; NotFound also when outside it."""
    submission = (submission_list_for_user(user=user).select_related("mapping", "supersedes")
                  .filter(pk=submission_id).first())
    if submission is None:
        raise NotFound(f"No submission {submission_id}.")
    return submission
