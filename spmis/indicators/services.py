"""Indicator runs: snapshot, compute every indicator, keep the values with their lineage."""

from __future__ import annotations

import datetime as dt
import math
import re
import tempfile
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

import polars as pl
from django.db import transaction

from spmis.access.models import User
from spmis.audit.actions import AuditAction
from spmis.audit.services import audit_record
from spmis.core import clock
from spmis.core.bulk import bulk_insert
from spmis.core.parameters import parameters_in_force
from spmis.core.periods import add_months, month_start
from spmis.indicators import engine, process, snapshot
from spmis.indicators.catalogue import CODE, catalogue
from spmis.indicators.models import Benchmark, IndicatorRun, IndicatorValue, Target
from spmis.intake.models import Submission, SubmissionStatus
from spmis.linkage.models import LinkageRun
from spmis.schemes.models import Scheme
from spmis.schemes.services import scheme_criteria

MAX_AMOUNT_MINOR = 10**15  # far above any monthly benchmark in any currency; fits 64 bits

Progress = Callable[[str], None]


def latest_complete_period(today: dt.date) -> dt.date:
    """The month before this one: the latest period whose data can be complete."""
    return month_start(month_start(today) - dt.timedelta(days=1))


def indicators_run(*, actor: User | None, period: dt.date | None = None,
                   progress: Progress | None = None) -> IndicatorRun:
    say = progress or (lambda _: None)
    period = month_start(period) if period else latest_complete_period(clock.today())
    started = clock.now()
    year = snapshot.population_year(period)
    period_end = add_months(period, 1) - dt.timedelta(days=1)
    parameters = parameters_in_force(period_end)
    indicators = list(catalogue(period_end))
    with tempfile.TemporaryDirectory() as tmp:
        say("writing the snapshot")
        counts = snapshot.snapshot_write(Path(tmp), period, year)
        say(f"computing {sum(1 for i in indicators if i.process is None)} indicators")
        values = engine.compute(Path(tmp), period, indicators, parameters.age_bands)
    say("reading process and quality indicators")
    values = pl.concat([values, process.compute(period, clock.today(), indicators)])
    linkage = LinkageRun.objects.order_by("-id").first()
    lineage = {
        "submissions": list(Submission.objects.filter(
            status__in=[SubmissionStatus.LOADED, SubmissionStatus.PARTIAL],
            period__lte=period).order_by("id").values_list("id", flat=True)),
        "linkage_run": linkage.pk if linkage else None,
        "linkage_model": linkage.model.version if linkage else None,
        "population_year": year,
        "parameters": {"valid_from": parameters.valid_from.isoformat(),
                       "age_groups": [list(g) for g in parameters.age_groups],
                       "age_bands": [b.label for b in parameters.age_bands]},
        # Administrative errors depend on criteria that can change: keep those used.
        "scheme_criteria": {
            s.code: asdict(scheme_criteria(s)) for s in Scheme.objects.order_by("code")},
        "snapshot_rows": counts,
    }
    with transaction.atomic():
        run = IndicatorRun.objects.create(period=period, started_at=started, actor=actor,
                                          lineage=lineage)
        say(f"storing {values.height} values")
        bulk_insert(IndicatorValue, values.with_columns(run_id=pl.lit(run.pk, pl.Int64)))
        run.counts = {"values": values.height, "indicators": len(indicators)}
        run.finished_at = clock.now()
        run.save(update_fields=["counts", "finished_at"])
        audit_record(actor=actor, action=AuditAction.INDICATORS_RUN, object_type="indicator_run",
                     object_id=run.pk, detail={"period": f"{period:%Y-%m}", **run.counts})
    return run



def benchmark_set(*, actor: User | None, code: str, name: str, amount_minor: int,
                  currency: str, valid_from: dt.date, valid_to: dt.date | None = None,
                  source: str = "") -> Benchmark:
    """Set a benchmark (a poverty line, a minimum wage) in force from ``valid_from``, per
    person per month in minor units; the same code and start again changes it. Audited."""
    from spmis.core.errors import ValidationFailed

    code, currency = code.strip().upper(), currency.strip().upper()
    problems = []
    if not CODE.fullmatch(code):
        problems.append(f"the code {code!r} is not of the form POVERTY_LINE")
    if not 0 <= amount_minor <= MAX_AMOUNT_MINOR:
        problems.append("the amount cannot be negative" if amount_minor < 0 else
                        "the amount is larger than any benchmark (at most 10^15 minor units)")
    if not re.fullmatch(r"[A-Z]{3}", currency):
        problems.append(f"{currency!r} is not an ISO 4217 currency code")
    if valid_to is not None and valid_to < valid_from:
        problems.append("it cannot end before it starts")
    if problems:
        raise ValidationFailed("; ".join(problems).capitalize() + ".")
    with transaction.atomic():
        given = {"name": name.strip()[:200], "source": source.strip()[:300]}
        benchmark, created = Benchmark.objects.update_or_create(
            code=code, valid_from=valid_from,
            defaults={"amount_minor": amount_minor, "currency": currency, "valid_to": valid_to,
                      **{k: v for k, v in given.items() if v}},  # blank keeps what was said
            create_defaults={"amount_minor": amount_minor, "currency": currency,
                             "valid_to": valid_to, "name": given["name"] or code,
                             "source": given["source"]})
        audit_record(actor=actor, action=AuditAction.BENCHMARK_SET, object_type="benchmark",
                     object_id=benchmark.pk,
                     detail={"code": code, "amount_minor": amount_minor, "currency": currency,
                             "valid_from": valid_from.isoformat(), "created": created,
                             "valid_to": valid_to.isoformat() if valid_to else None})
    return benchmark


def target_set(*, actor: User | None, indicator: str, area_code: str, year: int,
               value: float, source: str = "") -> Target:
    """Set (or change) a target; audited."""
    from spmis.core.errors import NotFound, ValidationFailed
    from spmis.geography.models import Area

    if indicator not in {i.code for i in catalogue()}:
        raise NotFound(f"No indicator {indicator!r} in the catalogue.")
    if not Area.objects.filter(code=area_code).exists():
        raise NotFound(f"No area with code {area_code!r}.")
    if not 1900 <= year <= 2100 or not math.isfinite(value) or value < 0:
        raise ValidationFailed("The year must be between 1900 and 2100 and the value >= 0.")
    with transaction.atomic():
        target, _ = Target.objects.update_or_create(
            indicator=indicator, area_code=area_code, year=year,
            defaults={"value": value, "source": source[:300]})
        audit_record(actor=actor, action=AuditAction.INDICATORS_TARGET_SET, object_type="target",
                     object_id=target.pk, detail={"indicator": indicator, "area": area_code,
                                                  "year": year, "value": value})
    return target
