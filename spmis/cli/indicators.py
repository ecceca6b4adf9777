"""`spmis indicators …` and `spmis registry export`: figures, their export, their inputs."""

from __future__ import annotations

import datetime as dt
import time
from decimal import Decimal, InvalidOperation
from pathlib import Path

import click

from spmis.cli.params import MAX_ID


def setup_django() -> None:
    from spmis.cli.main import setup_django as setup

    setup()


def _period(text: str | None) -> dt.date | None:
    if text is None:
        return None
    from spmis.core.periods import parse_period

    period = parse_period(text)
    if period is None:
        raise click.BadParameter(f"{text!r} is not a period; write YYYY-MM, between 1900-01 "
                                 f"and 2100-12.")
    return period


@click.group()
def indicators() -> None:
    """Coverage indicators: compute a period, export a run."""


@indicators.command("run")
@click.option("--period", default=None, help="YYYY-MM (default: the latest complete month).")
@click.option("--from", "start", default=None, help="YYYY-MM: compute every month with data "
              "from this one (a trend) ...")
@click.option("--to", "end", default=None, help="... to this one, YYYY-MM (default: the "
              "latest complete month).")
def run_command(period: str | None, start: str | None, end: str | None) -> None:
    """Compute every indicator for a period (or every month with data of a range) across
    every disaggregation; print the run id (one a line)."""
    setup_django()
    from spmis.core import clock
    from spmis.indicators.services import (
        indicators_run,
        indicators_run_range,
        latest_complete_period,
    )

    if period is not None and (start is not None or end is not None):
        raise click.UsageError("Give --period, or --from and --to, not both.")
    if end is not None and start is None:
        raise click.UsageError("--to goes with --from.")
    started = time.perf_counter()

    def say(step: str) -> None:
        click.echo(f"[{time.perf_counter() - started:6.1f}s] {step}", err=True)

    if start is None:
        done = [indicators_run(actor=None, period=_period(period), progress=say)]
    else:
        first = _period(start)
        last = _period(end) or latest_complete_period(clock.today())
        assert first is not None
        done = indicators_run_range(actor=None, start=first, end=last, progress=say)
        if not done:
            click.echo(f"No month from {first:%Y-%m} to {last:%Y-%m} has data (payments, "
                       f"enrolments or submissions): nothing computed.", err=True)
    for run in done:
        click.echo(run.pk)
        click.echo(f"period {run.period:%Y-%m}: {run.counts['values']} values", err=True)
    click.echo(f"{len(done)} run(s) in {time.perf_counter() - started:.1f}s", err=True)


@indicators.command("export")
@click.option("--run", "run_ref", default="latest", show_default=True,
              help="A run id, or latest.")
@click.option("--format", "fmt", type=click.Choice(
    ["csv", "sdmx-csv", "sdmx-csv2", "sdmx-structure", "json"]),
    default="csv", show_default=True,
    help="sdmx-csv: SDMX-CSV 1.0; sdmx-csv2: SDMX-CSV 2.0; sdmx-structure: the SDMX-ML 2.1 "
         "structure message (code lists, concepts, DSD, dataflow) they are read against.")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="A file (default: standard output). With an SDMX-CSV format the "
                   "structure is written beside it too, as <name>.structure.xml.")
@click.option("--min-count", type=click.IntRange(min=0), default=0, show_default=True,
              help="For the public: suppress cells counting fewer persons than this (and "
                   "those that would give them away); 0 publishes every cell.")
@click.option("--from", "start", default=None, help="YYYY-MM: instead of one run, the "
              "latest run of every period from this one (a trend; SDMX formats) ...")
@click.option("--to", "end", default=None, help="... to this one, YYYY-MM (default: the "
              "latest period computed).")
def export_command(run_ref: str, fmt: str, output: Path | None, min_count: int,
                   start: str | None, end: str | None) -> None:
    """Export a run's values (SDMX-CSV: the dataflow SPMIS:DF_SP_COVERAGE(1.0), dimensions,
    OBS_VALUE, attributes; the structure with --format sdmx-structure), or with --from/--to
    the latest run of each period of a range in one SDMX file."""
    setup_django()
    from spmis.indicators.export import SDMX_FORMATS, export_runs
    from spmis.indicators.models import IndicatorRun
    from spmis.indicators.selectors import runs_by_period

    runs = IndicatorRun.objects.filter(finished_at__isnull=False)
    if start is not None:
        if run_ref != "latest":
            raise click.UsageError("Give --run, or --from and --to, not both.")
        if fmt not in SDMX_FORMATS:
            raise click.UsageError(f"Several periods go in one file in {', '.join(SDMX_FORMATS)}"
                                   " only.")
        first = _period(start)
        last = _period(end) or (runs.order_by("-period").values_list("period", flat=True)
                                .first())
        assert first is not None
        chosen = runs_by_period(start=first, end=last) if last else []
        if not chosen:
            raise click.ClickException(f"No indicator run for any period from {start} to "
                                       f"{end or 'the latest'}: `spmis indicators run --from "
                                       f"... --to ...` makes them.")
    elif end is not None:
        raise click.UsageError("--to goes with --from.")
    else:
        if run_ref == "latest":
            run = runs.order_by("-id").first()
        elif run_ref.isdecimal() and int(run_ref) <= MAX_ID:
            run = runs.filter(pk=int(run_ref)).first()
        else:
            raise click.BadParameter("--run takes a run id or 'latest'.")
        if run is None:
            raise click.ClickException(
                "No such indicator run: `spmis indicators run` makes one.")
        chosen = [run]
    text = export_runs(chosen, fmt, min_count=min_count)
    what = (f"run {chosen[0].pk}" if len(chosen) == 1 else
            f"runs {', '.join(str(r.pk) for r in chosen)} ({chosen[0].period:%Y-%m} to "
            f"{chosen[-1].period:%Y-%m})")
    if output is None:
        click.echo(text, nl=False)
        return
    output.write_text(text, encoding="utf-8")
    click.echo(f"{what} written to {output}", err=True)
    if fmt in ("sdmx-csv", "sdmx-csv2"):
        beside = output.with_name(f"{output.stem}.structure.xml")
        beside.write_text(export_runs(chosen, "sdmx-structure"), encoding="utf-8")
        click.echo(f"its SDMX structure written to {beside}", err=True)


@indicators.command("list")
def list_command() -> None:
    """The indicator catalogue, one a line: code, unit, name (and why a denominator lacks)."""
    from spmis.indicators.catalogue import catalogue

    for ind in catalogue():
        note = f"  [no denominator: {ind.missing_denominator}]" if ind.missing_denominator \
            else ""
        click.echo(f"{ind.code}\t{ind.unit}\t{ind.name}{note}")


@indicators.command("target")
@click.argument("indicator")
@click.option("--area", "area_code", required=True, help="An area P-code (the country's for "
              "a national target).")
@click.option("--year", type=int, required=True)
@click.option("--value", type=float, required=True)
@click.option("--source", default="", help="The strategy or plan that sets it.")
def target_command(indicator: str, area_code: str, year: int, value: float,
                   source: str) -> None:
    """Set a target for an indicator, area and year (shown against the series)."""
    setup_django()
    from spmis.indicators.services import target_set

    done = target_set(actor=None, indicator=indicator, area_code=area_code, year=year,
                      value=value, source=source)
    click.echo(f"{done.indicator} {done.area_code} {done.year}: {done.value}")


@indicators.command("benchmark")
@click.argument("code")
@click.option("--amount", required=True, help="Per person per month, in major units (e.g. "
              "2000.50).")
@click.option("--currency", required=True, help="ISO 4217 code, e.g. USD.")
@click.option("--from", "valid_from", required=True, help="In force from YYYY-MM-DD.")
@click.option("--to", "valid_to", default=None, help="In force until YYYY-MM-DD (default: "
              "open).")
@click.option("--name", default="", help="What it is, e.g. National poverty line.")
@click.option("--source", default="", help="Who set it and where it is published.")
def benchmark_command(code: str, amount: str, currency: str, valid_from: str,
                      valid_to: str | None, name: str, source: str) -> None:
    """Set a benchmark vertical indicators are measured against (POVERTY_LINE, ...)."""
    setup_django()
    from spmis.core.money import format_money, minor_exponent
    from spmis.core.periods import parse_iso_date
    from spmis.indicators.services import benchmark_set

    start, end = parse_iso_date(valid_from), parse_iso_date(valid_to or "")
    if start is None or (valid_to and end is None):
        raise click.BadParameter("dates are written YYYY-MM-DD, between 1900-01-01 and "
                                 "2100-12-31.")
    try:
        minor = Decimal(amount.replace(",", "")).scaleb(minor_exponent(currency))
    except InvalidOperation:
        raise click.BadParameter(f"{amount!r} is not an amount.") from None
    if not minor.is_finite() or minor != minor.to_integral_value():
        raise click.BadParameter(f"{amount} {currency} has more decimals than the currency.")
    done = benchmark_set(actor=None, code=code, name=name, amount_minor=int(minor),
                         currency=currency, valid_from=start, valid_to=end, source=source)
    click.echo(f"{done.code} from {done.valid_from}: "
               f"{format_money(done.amount_minor, done.currency)}")


@click.group()
def registry() -> None:
    """The registry's person-level data, de-identified."""


@registry.command("export")
@click.option("--format", "fmt", type=click.Choice(["parquet", "csv"]), default="parquet",
              show_default=True)
@click.option("--output", required=True, type=click.Path(file_okay=False, path_type=Path))
@click.option("--period", default=None, help="YYYY-MM (default: the latest complete month).")
def registry_export(fmt: str, output: Path, period: str | None) -> None:
    """Write the de-identified inputs of the indicators so anyone can recompute a figure."""
    setup_django()
    from spmis.core import clock
    from spmis.indicators.services import latest_complete_period
    from spmis.indicators.snapshot import export_deidentified

    day = _period(period) or latest_complete_period(clock.today())
    for name, rows in export_deidentified(output, day, fmt).items():
        click.echo(f"{name}: {rows} rows")
