"""Reads of sources, submissions and error reports."""

from __future__ import annotations

import io

import polars as pl
from django.db.models import QuerySet

from spmis.core.errors import NotFound, ValidationFailed
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
