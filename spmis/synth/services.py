"""Loading a synthetic country into the registry: one transaction, set-based, audited."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from django.db import connection, models

from spmis.access.models import ApprovalRequest, RoleAssignment, User
from spmis.audit.services import audit_record
from spmis.core.bulk import bulk_insert, load_transaction, reset_sequences
from spmis.core.errors import Conflict
from spmis.geography.models import Area, AreaLevel, PopulationDenominator
from spmis.intake.models import (
    AggregateValue,
    Mapping,
    PeriodApproval,
    Source,
    Submission,
    SubmissionIssue,
)
from spmis.payments.models import BenefitPayment
from spmis.registry.models import Household, Person
from spmis.schemes.models import Enrolment, Scheme
from spmis.synth.country import Country, generate_country

# Parents before children, so foreign keys hold at every step.
LOAD_ORDER: list[tuple[str, type[models.Model]]] = [
    ("area_levels", AreaLevel),
    ("areas", Area),
    ("sources", Source),
    ("schemes", Scheme),
    ("households", Household),
    ("persons", Person),
    ("enrolments", Enrolment),
    ("payments", BenefitPayment),
    ("population", PopulationDenominator),
]

# Intake history refers to the country's sources and areas: it goes with them.
INTAKE_HISTORY: list[type[models.Model]] = [
    SubmissionIssue, AggregateValue, PeriodApproval, Submission, Mapping,
    Source.schemes.through,
]

StepProgress = Callable[[str, int, int], None]  # (step, rows just loaded, rows in step)


def country_synthesise(
    *,
    actor: User | None,
    persons: int,
    seed: int,
    as_of: dt.date,
    months: int = 12,
    replace: bool = False,
    progress: StepProgress | None = None,
) -> Country:
    """Generate a country and load it. Refuses to mix with existing data unless ``replace``."""
    country = generate_country(persons=persons, seed=seed, as_of=as_of, months=months)
    with load_transaction(model for _, model in LOAD_ORDER):
        existing = Person.objects.count() + Area.objects.count() + Scheme.objects.count()
        if existing and not replace:
            raise Conflict(
                "The database already holds a country (areas, schemes or persons). "
                "Use --replace to delete it and synthesise a new one."
            )
        if existing:
            if ApprovalRequest.objects.exists():
                raise Conflict("Approval requests refer to this country's areas; a synthetic "
                               "country cannot replace a database with workflow history.")
            _delete_country()
        for name, model in LOAD_ORDER:
            frame = getattr(country, name)
            bulk_insert(model, frame, progress=_step_progress(progress, name, frame.height),
                        rebuild_indexes=True)  # the tables were empty
        reset_sequences([model for _, model in LOAD_ORDER if model is not AreaLevel])
        audit_record(
            actor=actor,
            action="country.synthesise",
            object_type="country",
            object_id=country.areas["code"][0],
            detail={"seed": seed, "as_of": as_of.isoformat(), "months": months,
                    "counts": country.counts()},
        )
    return country


def _step_progress(progress: StepProgress | None, step: str,
                   total: int) -> Callable[[int], None] | None:
    if progress is None:
        return None
    progress(step, 0, total)
    return lambda rows: progress(step, rows, total)


def _delete_country() -> None:
    RoleAssignment.objects.all().delete()  # their areas are about to go
    with connection.cursor() as cursor:
        # One statement per table; foreign keys are checked at commit, when all are gone.
        tables = [*INTAKE_HISTORY, *(model for _, model in reversed(LOAD_ORDER))]
        for model in tables:
            cursor.execute(f'DELETE FROM "{model._meta.db_table}"')
