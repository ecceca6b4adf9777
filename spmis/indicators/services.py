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
from spmis.indicators.catalogue import CODE, Indicator, catalogue
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
        currency = payments_currency(Path(tmp) / "payments.parquet")
    say("reading process and quality indicators")
    values = pl.concat([values, process.compute(period, clock.today(), indicators)],
                       how="diagonal_relaxed")
    values = missing_notes(values, indicators, year)
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
        # What amounts are in (ISO 4217, major units): the payments' most used currency.
        "currency": currency,
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



MAX_MONTHS = 240  # twenty years of months in one call


def periods_with_data(start: dt.date, end: dt.date) -> list[dt.date]:
    """The months from ``start`` to ``end`` (inclusive) with something to count: a payment
    for the month, an enrolment in force during it, or a submission loaded for it."""
    from spmis.core.errors import ValidationFailed
    from spmis.payments.models import BenefitPayment
    from spmis.schemes.models import Enrolment

    start, end = month_start(start), month_start(end)
    if end < start:
        raise ValidationFailed(f"The range ends ({end:%Y-%m}) before it starts "
                               f"({start:%Y-%m}).")
    count = _months_between(start, end) + 1
    if count > MAX_MONTHS:
        raise ValidationFailed(f"At most {MAX_MONTHS} months at once; the range has {count}.")
    months = [add_months(start, k) for k in range(count)]
    paid = set(BenefitPayment.objects.filter(period__range=(start, end)).values_list(
        "period", flat=True).distinct())
    loaded = set(Submission.objects.filter(
        period__range=(start, end),
        status__in=[SubmissionStatus.LOADED, SubmissionStatus.PARTIAL]).values_list(
        "period", flat=True).distinct())
    # An enrolment open some day of the month (one indexed EXISTS a month, only for months
    # with neither payments nor submissions).
    enrolled = {m for m in months if m not in paid | loaded and Enrolment.objects.filter(
        start_date__lte=add_months(m, 1) - dt.timedelta(days=1)).exclude(
        end_date__lt=m).exists()}
    return [m for m in months if m in paid or m in loaded or m in enrolled]


def _months_between(start: dt.date, end: dt.date) -> int:
    return (end.year - start.year) * 12 + end.month - start.month


def indicators_run_range(*, actor: User | None, start: dt.date, end: dt.date,
                         progress: Progress | None = None) -> list[IndicatorRun]:
    """A run for every month from ``start`` to ``end`` with data (a trend), oldest first; each
    month is its own run (set-based, audited, committed as it finishes)."""
    say = progress or (lambda _: None)
    months = periods_with_data(start, end)
    say(f"{len(months)} month(s) with data from {month_start(start):%Y-%m} to "
        f"{month_start(end):%Y-%m}")
    def step(k: int, month: dt.date) -> Progress:
        return lambda text: say(f"[{k}/{len(months)}] {month:%Y-%m}: {text}")

    return [indicators_run(actor=actor, period=month, progress=step(k, month))
            for k, month in enumerate(months, start=1)]


def payments_currency(path: Path) -> str:
    """The payments' most used currency, as the engine scales amounts ("" when none)."""
    payments = pl.read_parquet(path, columns=["currency"])
    found = payments.drop_nulls().group_by("currency").len().sort(
        ["len", "currency"], descending=[True, False])
    return str(found["currency"][0]) if found.height else ""


def missing_notes(values: pl.DataFrame, indicators: list[Indicator],
                  year: int | None) -> pl.DataFrame:
    """``values`` with ``note`` filled where a value is missing (obs_status M) and the engine
    gave no reason: the catalogue's (a denominator the registry cannot give), a benchmark not
    in force, the population tables (no figure, no disability breakdown, a band across an age
    edge) or, for process indicators, nothing expected."""
    if "note" not in values.columns:
        values = values.with_columns(note=pl.lit(None, pl.String))
    kinds = pl.DataFrame({
        "indicator": [i.code for i in indicators],
        "_catalogue": [i.missing_denominator for i in indicators],
        "_benchmark": [i.benchmark for i in indicators],
        "_process": [i.process is not None for i in indicators],
        "_registry": [i.admin_error is not None for i in indicators],
        "_recipients": [i.statistic is not None for i in indicators]},
        schema_overrides={"_catalogue": pl.String, "_benchmark": pl.String})
    tables = f"the population tables of {year}" if year else "the population tables (none loaded)"
    given = pl.col("note").fill_null("")
    reason = (
        pl.when(given != "").then(given)
        .when(pl.col("_catalogue").is_not_null()).then(pl.col("_catalogue"))
        .when(pl.col("_benchmark").is_not_null() & pl.col("_recipients")).then(
            pl.lit("No ") + pl.col("_benchmark") + pl.lit(
                " benchmark in force at the period's end (spmis indicators benchmark)."))
        .when(pl.col("_recipients")).then(pl.lit("No recipient in the period."))
        .when(pl.col("_process")).then(pl.lit("Nothing expected or recorded for the period."))
        .when(pl.col("_registry")).then(pl.lit("No registered person meets the criteria."))
        .when(pl.col("disability") != "_T").then(pl.lit(
            f"No denominator by disability: {tables} have no disability breakdown."))
        .otherwise(pl.lit(
            f"No denominator: {tables} give no figure for this area, sex and ages (or one of "
            "their age bands lies across the edge of the indicator's ages).")))
    return values.join(kinds, on="indicator", how="left").with_columns(
        note=pl.when(pl.col("obs_status") == "M").then(reason).otherwise(given)
    ).drop("_catalogue", "_benchmark", "_process", "_registry", "_recipients")


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
