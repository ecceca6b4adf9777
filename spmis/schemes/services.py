"""Writes to the scheme catalogue: declaring the eligibility criteria the registry can check."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from django.db import transaction

from spmis.access.models import User
from spmis.audit.actions import AuditAction
from spmis.audit.services import audit_record
from spmis.core.errors import NotFound, ValidationFailed
from spmis.schemes.models import Scheme


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
