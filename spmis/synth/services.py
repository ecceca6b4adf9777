"""Loading a synthetic country into the registry: one transaction, set-based, audited."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path

from django.db import connection, models, transaction

from spmis.access.models import ApprovalRequest, RoleAssignment, User
from spmis.audit.actions import AuditAction
from spmis.audit.services import audit_record
from spmis.core import clock
from spmis.core.bulk import bulk_insert, load_transaction, reset_sequences
from spmis.core.errors import Conflict
from spmis.geography.models import Area, AreaBoundary, AreaLevel, PopulationDenominator
from spmis.geography.selectors import area_get
from spmis.intake.models import (
    AggregateValue,
    ChangedRow,
    Mapping,
    PeriodApproval,
    Source,
    SourceKind,
    Submission,
    SubmissionFile,
    SubmissionIssue,
)
from spmis.intake.services import mapping_save, submission_submit
from spmis.linkage.models import (
    Cut,
    Link,
    LinkageModel,
    LinkageRun,
    PersonIdentity,
    VerificationFlag,
)
from spmis.payments.models import BenefitPayment
from spmis.registry.models import Household, Person
from spmis.schemes.models import Enrolment, IncompatibleSchemes, Scheme
from spmis.synth import sources
from spmis.synth.country import Country, generate_country

# Parents before children, so foreign keys hold at every step.
LOAD_ORDER: list[tuple[str, type[models.Model]]] = [
    ("area_levels", AreaLevel),
    ("areas", Area),
    ("boundaries", AreaBoundary),
    ("sources", Source),
    ("schemes", Scheme),
    ("source_schemes", Source.schemes.through),
    ("households", Household),
    ("persons", Person),
    ("enrolments", Enrolment),
    ("payments", BenefitPayment),
    ("population", PopulationDenominator),
]

# Intake history refers to the country's sources and areas, linkage to its persons, scheme
# rules to its schemes: they go with them.
INTAKE_HISTORY: list[type[models.Model]] = [
    Cut, VerificationFlag, PersonIdentity, Link, LinkageRun, LinkageModel, IncompatibleSchemes,
    ChangedRow, SubmissionFile, SubmissionIssue, AggregateValue, PeriodApproval, Submission,
    Mapping, Source.schemes.through,
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
    office_files: Path | None = None,
) -> Country:
    """Generate a country and load it. Refuses to mix with existing data unless ``replace``.

    With ``office_files``, a few districts are not loaded but written there as the files
    their offices send (see :mod:`spmis.synth.sources`); :func:`office_files_ingest` takes
    them in through intake.
    """
    country = generate_country(persons=persons, seed=seed, as_of=as_of, months=months)
    if office_files is not None:
        everyone = country
        country, held = sources.hold_back(country)
        sources.write_office_files(country, held, office_files, now=clock.now(),
                                   everyone=everyone)
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
            action=AuditAction.COUNTRY_SYNTHESISE,
            object_type="country",
            object_id=country.areas["code"][0],
            detail={"seed": seed, "as_of": as_of.isoformat(), "months": months,
                    "counts": country.counts()},
        )
    return country


def office_files_ingest(*, actor: User | None, directory: Path,
                        progress: Callable[[str], None] | None = None) -> list[Submission]:
    """Register the offices of a manifest written by ``country_synthesise(office_files=…)``,
    save their mappings and submit their files, each with the time it was received."""
    manifest = json.loads((directory / sources.MANIFEST).read_text(encoding="utf-8"))
    schemes = list(Scheme.objects.all())
    for entry in manifest["sources"]:
        if Source.objects.filter(code=entry["code"]).exists():
            continue
        with transaction.atomic():
            source = Source.objects.create(
                code=entry["code"], name=entry["name"], institution=entry["name"],
                kind=entry.get("kind", SourceKind.LOCAL_GOVERNMENT),
                schedule=entry.get("schedule", "MONTHLY"),
                area=area_get(code=entry["area"]) if entry.get("area") else None,
                deadline_days=manifest["deadline_days"])
            if source.kind != SourceKind.AUTHORITATIVE_REGISTRY:
                source.schemes.set(schemes)
            audit_record(actor=actor, action=AuditAction.SOURCE_CREATE, object_type="source",
                         object_id=source.pk, detail={"code": source.code,
                                                      "kind": source.kind})
        mapping_save(actor=actor, source_code=source.code,
                     text=(directory / entry["mapping"]).read_text(encoding="utf-8"))
    done = []
    for item in manifest["files"]:
        path = directory / item["file"]
        if progress:
            progress(path.name)
        period = dt.date.fromisoformat(item["period"] + "-01")
        done.append(submission_submit(
            actor=actor, source_code=item["source"], period=period, filename=path.name,
            data=path.read_bytes(),
            received_at=dt.datetime.fromisoformat(item["received_at"])))
    return done


def _step_progress(progress: StepProgress | None, step: str,
                   total: int) -> Callable[[int], None] | None:
    if progress is None:
        return None
    progress(step, 0, total)
    return lambda rows: progress(step, rows, total)


def _delete_country() -> None:
    RoleAssignment.objects.all().delete()  # their areas are about to go
    tables = [model._meta.db_table
              for model in [*INTAKE_HISTORY, *(model for _, model in reversed(LOAD_ORDER))]]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # TRUNCATE: a DELETE would leave each removed row's foreign-key check to commit,
            # one scan of the referring tables per row (hours for a million persons).
            # CASCADE reaches only tables that refer to the old country's rows.
            # TRUNCATE is refused while foreign-key checks of earlier rows of the same
            # transaction wait (a caller's, a test's): run them first.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " CASCADE")
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
            return
        # One statement per table; foreign keys are checked at commit, when all are gone.
        for table in tables:
            cursor.execute(f'DELETE FROM "{table}"')
