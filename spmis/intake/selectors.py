"""Reads of sources, submissions and error reports."""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass

import polars as pl
from django.db.models import Model, Q, QuerySet

from spmis.access.classification import field_level
from spmis.access.models import Clearance, User
from spmis.access.policy import Permission
from spmis.access.selectors import scope_for_user
from spmis.core.errors import NotFound, ValidationFailed
from spmis.geography.models import Area
from spmis.intake.models import Source, Submission
from spmis.intake.parsers import neutralise_cell
from spmis.intake.rates import SourceState, late_or_missing
from spmis.payments.models import BenefitPayment
from spmis.registry.models import Household, Person
from spmis.schemes.models import Enrolment


def source_list() -> QuerySet[Source]:
    return Source.objects.order_by("code").prefetch_related("schemes")


def submission_get(*, submission_id: int) -> Submission:
    submission = Submission.objects.select_related("source", "mapping").filter(
        pk=submission_id).first()
    if submission is None:
        raise NotFound(f"No submission {submission_id}.")
    return submission


# Where each target field of a mapping is stored: its classification decides who may read an
# issue's value. A column mapped to nothing known (an extension, a stray column) counts as
# confidential, like a person's name.
TARGET_STORED_AS: dict[str, tuple[type[Model], str]] = {
    **{f: (Person, f) for f in ("national_id", "given_name", "family_name", "date_of_birth",
                                "date_of_death", "sex", "area", "relationship_to_head",
                                "disability_level", "registered_on")},
    "person_ref": (Person, "source_ref"), "household_ref": (Household, "source_ref"),
    "address": (Household, "address"), "annual_income": (Person, "annual_income_minor"),
    "scheme": (Enrolment, "scheme"), "enrolment_status": (Enrolment, "status"),
    "enrolment_start": (Enrolment, "start_date"), "period": (BenefitPayment, "period"),
    "amount": (BenefitPayment, "amount_minor"), "currency": (BenefitPayment, "currency"),
    "paid_on": (BenefitPayment, "paid_on"),
}
HIDDEN = "•••"


@dataclass(frozen=True)
class IssueRow:
    row: int
    column: str
    value: str  # HIDDEN when the reader may not see it
    rule: str
    message: str  # the value quoted in it is hidden the same way


def submission_issues_for_user(*, user: User | None, submission: Submission,
                               limit: int | None = None) -> list[IssueRow]:
    """A submission's issues with their values shown only to a user who may see persons where
    the source sends from (every scheme it declares), and only values of fields within the
    user's clearance (``user`` None: the operator on the server sees them); the caller audits
    the read."""
    issues = submission.issues.order_by("row", "id")
    chosen = issues[:limit] if limit is not None else issues
    visible = user is None or _values_visible(user, submission.source)
    levels = _column_levels(submission)

    def hidden(column: str) -> bool:
        return user is not None and (not visible or levels.get(
            column, Clearance.CONFIDENTIAL) > user.clearance)

    rows = []
    for i in chosen:
        if i.value and hidden(i.column):
            rows.append(IssueRow(i.row, i.column, HIDDEN, i.rule,
                                 i.message.replace(i.value, HIDDEN)))
        else:
            rows.append(IssueRow(i.row, i.column, i.value, i.rule, i.message))
    return rows


def _values_visible(user: User, source: Source) -> bool:
    scope = scope_for_user(user=user, permission=Permission.VIEW_PERSONS)
    declared = frozenset(source.schemes.values_list("id", flat=True))
    if source.area is None:  # a national source: a national role only
        return any(g.area_path.count("/") == 1 and (g.schemes is None or declared <= g.schemes)
                   for g in scope.grants)
    return any(source.area.path.startswith(g.area_path)
               and (g.schemes is None or declared <= g.schemes) for g in scope.grants)


def _column_levels(submission: Submission) -> dict[str, Clearance]:
    """The clearance each source column (or target name) of the submission's mapping needs."""
    from spmis.intake.mapping import MappingError, load_mapping

    if submission.mapping is None:
        return {}
    try:
        spec = load_mapping(submission.mapping.text)
    except MappingError:
        return {}
    levels = {}
    for f in spec.fields:
        model, name = TARGET_STORED_AS.get(f.target, (Person, "given_name"))
        levels[f.where] = levels[f.target] = field_level(model, name)
    return levels


def submission_error_report(*, user: User | None, submission: Submission,
                            file_format: str) -> bytes:
    """The row-level error report (row, column, value, rule, message) as CSV or XLSX, values
    shown as ``submission_issues_for_user`` shows them.

    Cells that a spreadsheet would run as a formula are neutralised.
    """
    rows = [(i.row, i.column, i.value, i.rule, i.message)
            for i in submission_issues_for_user(user=user, submission=submission)]
    frame = pl.DataFrame(rows, orient="row", schema={
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


def source_manage_list_for_user(*, user: User) -> QuerySet[Source]:
    """The sources the user may manage (MANAGE_SOURCES inside their areas), with their area and
    schemes, by code."""
    return (source_list_for_user(user=user, permission=Permission.MANAGE_SOURCES)
            .select_related("area").prefetch_related("schemes"))


def source_manage_get_for_user(*, user: User, code: str) -> Source:
    """One source the user may manage; NotFound also when it is outside their areas."""
    source = source_manage_list_for_user(user=user).filter(code=code.strip()).first()
    if source is None:
        raise NotFound(f"No source {code.strip()!r} among yours.")
    return source


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


@dataclass(frozen=True)
class ExpectedColumn:
    """One column a source's mapping reads: what it becomes and what it must hold."""

    column: str
    field: str
    required: bool
    values: str  # the accepted codes, the date format, the number unit ("" if free text)


def expected_columns(*, source: Source) -> list[ExpectedColumn]:
    """The columns the source's latest mapping reads, in the mapping's order ([] when it has
    no mapping yet)."""
    from spmis.intake.mapping import REQUIRED, MappingError, load_mapping

    latest = source.mappings.order_by("-version").first()
    if latest is None:
        return []
    try:
        spec = load_mapping(latest.text)
    except MappingError:
        return []
    found = []
    for f in (*spec.fields, *spec.extensions):
        if f.codes is not None:
            values = ", ".join(code for code, _v in f.codes if code)
        else:
            values = f.date_format or (f"amounts in {f.unit} units" if f.unit else "")
        required = f.target in REQUIRED or f.target == "given_name"
        found += [ExpectedColumn(column=c, field=f.target, required=required, values=values)
                  for c in f.columns]
    return found


# --- the landing page (counts and states of the user's own sources; no personal data) -------

# The permissions that make a source "theirs": they send it, load it, or manage it.
OWN_SOURCE_PERMISSIONS = (Permission.SUBMIT_DATA, Permission.RECORD_DATA,
                          Permission.MANAGE_SOURCES)


def own_source_states_for_user(*, user: User, period: dt.date,
                               today: dt.date) -> list[SourceState]:
    """Where each source the user sends, loads or manages stands for ``period`` on ``today``
    (missing, late, due, refused or on time), as the reporting page counts it; [] for a user
    who has none of these permissions."""
    codes: set[str] = set()
    for permission in OWN_SOURCE_PERMISSIONS:
        codes |= set(source_list_for_user(user=user, permission=permission)
                     .values_list("code", flat=True))
    if not codes:
        return []
    return [s for s in late_or_missing(user=user, period=period, today=today)
            if s.source_code in codes]


def submission_latest() -> Submission | None:
    """The latest file received from any source (for the system administrator's state of the
    system: when intake last ran)."""
    return Submission.objects.select_related("source").order_by("-received_at", "-id").first()
