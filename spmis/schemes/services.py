"""Writes to schemes: the catalogue's declared eligibility criteria, and enrolments (set-wise for
the rows sources send; exits one at a time, audited)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import asdict, dataclass

import polars as pl
from django.db import transaction
from django.db.models import DateField, F, Value
from django.db.models.functions import Greatest

from spmis.access.models import User
from spmis.audit.actions import AuditAction
from spmis.audit.services import audit_record
from spmis.core.bulk import upsert_sourced, withdraw_sourced
from spmis.core.errors import NotFound, ValidationFailed
from spmis.schemes.models import Enrolment, EnrolmentStatus, Scheme


@dataclass(frozen=True)
class Criteria:
    """A scheme's declared eligibility criteria; None (or "") means not a criterion."""

    age_from: int | None = None
    age_to: int | None = None
    sex: str = ""
    disability_from: int | None = None  # Washington Group level, 1-3
    income_threshold_minor: int | None = None  # yearly, at most this much

    def problems(self) -> list[str]:
        found = []
        if any(a is not None and not 0 <= a <= 130 for a in (self.age_from, self.age_to)):
            found.append("ages must be between 0 and 130")
        if self.age_from is not None and self.age_to is not None and self.age_from > self.age_to:
            found.append("the first eligible age is after the last")
        if self.sex not in ("", "F", "M"):
            found.append("sex must be F or M")
        if self.disability_from is not None and not 1 <= self.disability_from <= 3:
            found.append("the disability level must be 1, 2 or 3 (Washington Group)")
        if self.income_threshold_minor is not None and self.income_threshold_minor < 0:
            found.append("the income threshold cannot be negative")
        if self.income_threshold_minor is not None and self.income_threshold_minor > 10**15:
            found.append("the income threshold is larger than any income (at most 10^15 "
                         "minor units)")
        return found


def scheme_criteria_set(*, actor: User | None, code: str, criteria: Criteria) -> Scheme:
    """Replace a scheme's declared criteria (what administrative inclusion and exclusion
    errors are measured against); audited with the old and new values."""
    problems = criteria.problems()
    if problems:
        raise ValidationFailed("; ".join(problems) + ".")
    with transaction.atomic():
        scheme = Scheme.objects.select_for_update().filter(code=code).first()
        if scheme is None:
            raise NotFound(f"No scheme {code!r}.")
        before = scheme_criteria(scheme)
        scheme.eligible_age_from, scheme.eligible_age_to = criteria.age_from, criteria.age_to
        scheme.eligible_sex, scheme.eligible_disability_from = (criteria.sex,
                                                                criteria.disability_from)
        scheme.income_threshold_minor = criteria.income_threshold_minor
        scheme.save(update_fields=["eligible_age_from", "eligible_age_to", "eligible_sex",
                                   "eligible_disability_from", "income_threshold_minor"])
        audit_record(actor=actor, action=AuditAction.SCHEME_CRITERIA_SET, object_type="scheme",
                     object_id=scheme.pk, detail={"scheme": code, "before": asdict(before),
                                                  "after": asdict(criteria)})
    return scheme


def scheme_criteria(scheme: Scheme) -> Criteria:
    return Criteria(age_from=scheme.eligible_age_from, age_to=scheme.eligible_age_to,
                    sex=scheme.eligible_sex, disability_from=scheme.eligible_disability_from,
                    income_threshold_minor=scheme.income_threshold_minor)


def enrolments_upsert_bulk(*, rows: pl.DataFrame, source_id: int, submission_id: int,
                           keep: Iterable[str] = ()) -> pl.DataFrame:
    """Insert or update a source's enrolments by their ``source_ref`` (person and scheme).
    Returns the rows with ``id`` and ``action``."""
    return upsert_sourced(Enrolment, rows, source_id=source_id, submission_id=submission_id,
                          keep=keep)


def enrolments_exit(*, actor: User | None, person_id: int, scheme_id: int,
                    end_date: dt.date, reason: str) -> int:
    """End a person's active enrolments in a scheme at ``end_date``; returns how many.

    An enrolment that began after ``end_date`` (a person enrolled after the death the exit is
    for) ends on its own start date instead: an enrolment cannot end before it began (the
    table's check), and the earliest end it can have says the most that is true, that it
    should never have run; the audit entry keeps the date asked for and how many started
    after it. (Refusing instead would leave the finding, e.g. a confirmed death, with no way
    to stop the benefit.)

    Called by the decision that found the reason (a confirmed death, a duplicate), inside its
    transaction; the exit is audited on its own with that reason.
    """
    with transaction.atomic():
        active = Enrolment.objects.filter(
            person_id=person_id, scheme_id=scheme_id, status=EnrolmentStatus.ACTIVE)
        started_after = active.filter(start_date__gt=end_date).count()
        exited = active.update(status=EnrolmentStatus.EXITED, end_date=Greatest(
            Value(end_date, output_field=DateField()), F("start_date")))
        if exited:
            audit_record(actor=actor, action=AuditAction.ENROLMENT_EXIT, object_type="person",
                         object_id=person_id,
                         detail={"scheme": scheme_id, "end_date": end_date.isoformat(),
                                 "enrolments": exited, "reason": reason[:200],
                                 "started_after_end_date": started_after})
    return exited


def enrolments_withdraw_bulk(*, submission_id: int, before: pl.DataFrame) -> dict[str, int]:
    """Undo a submission's writes to enrolments (see ``core.bulk.withdraw_sourced``)."""
    return withdraw_sourced(Enrolment, submission_id=submission_id, before=before)
