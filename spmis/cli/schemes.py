"""`spmis scheme ...`: the scheme catalogue and the eligibility criteria schemes declare."""

from __future__ import annotations

import math

import click

from spmis.cli.indicators import setup_django


@click.group("scheme")
def scheme() -> None:
    """The scheme catalogue."""


@scheme.command("list")
def list_command() -> None:
    """Every scheme with its declared eligibility criteria."""
    setup_django()
    from spmis.core.money import format_money
    from spmis.schemes.selectors import scheme_list
    from spmis.schemes.services import scheme_criteria

    for s in scheme_list():
        c = scheme_criteria(s)
        declared = [f"ages {c.age_from if c.age_from is not None else 0}-"
                    f"{c.age_to if c.age_to is not None else ''}"
                    if c.age_from is not None or c.age_to is not None else "",
                    f"sex {c.sex}" if c.sex else "",
                    f"disability level >= {c.disability_from}"
                    if c.disability_from is not None else "",
                    f"yearly income <= {format_money(c.income_threshold_minor, s.currency)}"
                    if c.income_threshold_minor is not None else ""]
        click.echo(f"{s.code}\t{s.guarantee}\t"
                   + ("; ".join(d for d in declared if d) or "no criteria declared"))


@scheme.command("criteria")
@click.argument("code")
@click.option("--age-from", type=int, default=None, help="First eligible age (completed years).")
@click.option("--age-to", type=int, default=None, help="Last eligible age.")
@click.option("--sex", type=click.Choice(["F", "M"]), default=None)
@click.option("--disability-from", type=click.IntRange(1, 3), default=None,
              help="Lowest Washington Group level (2: a lot of difficulty).")
@click.option("--income-threshold", type=float, default=None,
              help="Means test: yearly income at most this, in major units (e.g. 3000.00).")
def criteria_command(code: str, age_from: int | None, age_to: int | None, sex: str | None,
                     disability_from: int | None, income_threshold: float | None) -> None:
    """Declare CODE's eligibility criteria (replacing those it had; give none to clear them).
    Administrative inclusion and exclusion errors are measured against them."""
    setup_django()
    from spmis.schemes.services import Criteria, scheme_criteria_set

    if income_threshold is not None and not math.isfinite(income_threshold):
        raise click.BadParameter("give the income threshold as an amount, e.g. 3000.00.",
                                 param_hint="--income-threshold")
    threshold = None if income_threshold is None else round(income_threshold * 100)
    done = scheme_criteria_set(actor=None, code=code, criteria=Criteria(
        age_from=age_from, age_to=age_to, sex=sex or "", disability_from=disability_from,
        income_threshold_minor=threshold))
    click.echo(f"{done.code}: criteria saved")
