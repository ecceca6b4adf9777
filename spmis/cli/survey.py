"""`spmis survey …`: inclusion and exclusion errors from household-survey microdata."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import click

if TYPE_CHECKING:
    from spmis.indicators.survey import SurveyResult

QUINTILES = 5


class Figure(Protocol):
    """An estimate as computed (``survey.Estimate``) or as saved (``SurveyEstimate``)."""

    @property
    def value(self) -> float | None: ...
    @property
    def ci_low(self) -> float | None: ...
    @property
    def ci_high(self) -> float | None: ...
    @property
    def n(self) -> int: ...
    @property
    def numerator(self) -> float: ...
    @property
    def denominator(self) -> float: ...


def setup_django() -> None:
    from spmis.cli.main import setup_django as setup

    setup()


@click.group()
def survey() -> None:
    """Survey-based inclusion and exclusion errors (household microdata with weights)."""


@survey.command("errors")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--weight", required=True, help="Person weight column (a household weight "
              "with --household-size).")
@click.option("--household-size", default=None, help="Household size column: --weight is "
              "then a household weight and each row stands for that many persons.")
@click.option("--welfare", required=True, help="Per-capita consumption or income column.")
@click.option("--benefit", required=True, help="Benefit column: amount per capita (same "
              "units as welfare) or a 0/1 receipt indicator.")
@click.option("--household", default=None, help="Household id column.")
@click.option("--psu", default=None, help="PSU (cluster) column, for the variance.")
@click.option("--strata", default=None, help="Stratum column, for the variance.")
@click.option("--target", default="q1", show_default=True,
              help="The target group: q1 (poorest quintile), bottom-P (poorest P%) or "
                   "line=AMOUNT (below a poverty line in welfare units).")
@click.option("--save", is_flag=True, help="Store the result (needs --name and --year).")
@click.option("--name", default="", help="The survey's name, e.g. 'HIES 2025'.")
@click.option("--year", type=int, default=None, help="The survey year.")
@click.option("--as", "username", default=None, help="The acting user (default: the system).")
def errors_command(file: Path, weight: str, household_size: str | None, welfare: str,
                   benefit: str, household: str | None, psu: str | None, strata: str | None,
                   target: str, save: bool, name: str, year: int | None,
                   username: str | None) -> None:
    """Coverage and incidence by welfare quintile, exclusion and inclusion errors with 95% CIs.

    The format comes from the extension: .csv, .dta (Stata) or .sav (SPSS)."""
    from spmis.indicators.survey import SurveyBenchmark, SurveyColumns, survey_compute

    if save and (not name.strip() or year is None):
        raise click.UsageError("--save needs --name and --year.")
    columns = SurveyColumns(weight=weight, welfare=welfare, benefit=benefit,
                            household_size=household_size, household=household, strata=strata,
                            psu=psu)
    result = survey_compute(file, columns, SurveyBenchmark.parse(target))
    _print_result(result)
    if save:
        setup_django()
        from spmis.cli.intake import _user
        from spmis.indicators.survey_services import survey_save

        saved = survey_save(actor=_user(username), result=result, name=name, year=year or 0)
        click.echo(f"saved as survey {saved.pk}")


@survey.command("list")
def list_command() -> None:
    """Saved surveys, newest first: id, saved, name, year, benchmark, EE and IE."""
    setup_django()
    from spmis.indicators.survey_selectors import survey_estimates, survey_list

    for saved in survey_list():
        found = survey_estimates(survey=saved)
        click.echo(f"{saved.pk}\t{saved.saved_at:%Y-%m-%d %H:%M}\t{saved.name}\t{saved.year}\t"
                   f"{saved.benchmark}\tEE {_pct(found.get('EE'))}\tIE {_pct(found.get('IE'))}")


@survey.command("synth")
@click.option("--output", required=True, type=click.Path(file_okay=False, path_type=Path))
@click.option("--households", type=click.IntRange(min=80), default=2_000, show_default=True,
              help="Sampled households (about 4.5 persons each).")
@click.option("--seed", type=int, default=1, show_default=True)
def synth_command(output: Path, households: int, seed: int) -> None:
    """Write a synthetic household survey as survey.csv, survey.dta and survey.sav."""
    from spmis.synth.survey import survey_synthesise, survey_write

    made = survey_synthesise(households=households, seed=seed, with_population=False)
    for path in survey_write(made.sample, output).values():
        click.echo(path)
    click.echo(f"{made.sample.height} respondents; columns weight, welfare, benefit, hhid, "
               "stratum, psu (also hh_weight, hh_size, receives)", err=True)


def _pct(figure: Figure | None) -> str:
    if figure is None or figure.value is None:
        return "-"
    return f"{100 * figure.value:.1f}%"


def _ci(figure: Figure | None) -> str:
    if figure is None or figure.ci_low is None or figure.ci_high is None:
        return ""
    return f"[{100 * figure.ci_low:.1f}, {100 * figure.ci_high:.1f}]"


def _print_result(result: SurveyResult) -> None:
    figures = result.by_measure
    click.echo(f"{result.file_name}: {result.respondents:,} respondents, "
               f"{result.persons:,.0f} persons (weighted)")
    click.echo(f"benchmark {result.benchmark.code}: the target group is "
               f"{result.benchmark.describe()}")
    click.echo(f"variance: {result.variance}")
    click.echo("")
    click.echo(f"{'quintile':<14}{'persons':>9}  {'coverage [95% CI]':<24}"
               f"{'incidence [95% CI]' if result.amounts else ''}".rstrip())
    for k in range(1, QUINTILES + 1):
        label = f"Q{k}" + (" (poorest)" if k == 1 else " (richest)" if k == QUINTILES else "")
        coverage = figures.get(f"COVERAGE_Q{k}")
        incidence = figures.get(f"INCIDENCE_Q{k}")
        click.echo((f"{label:<14}{_pct(figures.get(f'POPULATION_Q{k}')):>9}  "
                    f"{_pct(coverage) + ' ' + _ci(coverage):<24}"
                    + (f"{_pct(incidence)} {_ci(incidence)}" if incidence else "")).rstrip())
    total = figures.get("COVERAGE")
    click.echo(f"{'all':<14}{'100.0%':>9}  {_pct(total)} {_ci(total)}")
    click.echo("")
    ee, ie = figures["EE"], figures["IE"]
    click.echo(f"exclusion error (EE) {_pct(ee)} {_ci(ee)}: {ee.numerator:,.0f} of the "
               f"{ee.denominator:,.0f} persons in the target group receive nothing "
               f"(n={ee.n:,})")
    click.echo(f"inclusion error (IE) {_pct(ie)} {_ci(ie)}: {ie.numerator:,.0f} of the "
               f"{ie.denominator:,.0f} recipients are outside the target group (n={ie.n:,})")
