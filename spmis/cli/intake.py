"""`spmis intake …`: sources, mappings, submissions and their error reports."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from spmis.intake.models import Submission


def setup_django() -> None:
    from spmis.cli.main import setup_django as setup

    setup()


@click.group()
def intake() -> None:
    """Data from sub-national institutions: sources, mappings, submissions."""


@intake.command()
def sources() -> None:
    """List the sources, one a line, code first."""
    setup_django()
    from spmis.intake.selectors import source_list

    for source in source_list():
        schemes = ",".join(s.code for s in source.schemes.all()) or "-"
        click.echo(f"{source.code}\t{source.name}\t{source.institution}\t{source.kind}\t"
                   f"{source.schedule}\tschemes={schemes}")


@intake.group()
def mapping() -> None:
    """Check and save mappings (YAML or JSON)."""


@mapping.command("check")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--against", type=click.Path(exists=True, dir_okay=False),
              help="Also check that this data file has every column the mapping needs.")
def mapping_check(file: str, against: str | None) -> None:
    """Explain what is wrong with a mapping file (exit 1 if anything)."""
    from spmis.intake.mapping_cli import check_file

    problems = check_file(file, sample=against)
    if problems:
        for problem in problems:
            click.echo(f"- {problem}", err=True)
        raise SystemExit(1)
    click.echo("The mapping is valid.")


@mapping.command("save")
@click.option("--source", "source_code", required=True)
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
def mapping_save(source_code: str, file: str) -> None:
    """Store FILE as the source's next mapping version (validated first)."""
    setup_django()
    from spmis.intake.services import mapping_save as save

    saved = save(actor=None, source_code=source_code, text=Path(file).read_text())
    click.echo(f"Saved mapping version {saved.version} for {source_code}.")


@intake.command()
@click.option("--source", "source_code", required=True, help="Source code.")
@click.option("--period", required=True, type=click.DateTime(formats=["%Y-%m"]),
              help="Reporting period, YYYY-MM.")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
def submit(source_code: str, period: dt.datetime, file: str) -> None:
    """Submit FILE for a source and period; exits 1 when the submission is refused."""
    setup_django()
    from spmis.intake.models import SubmissionStatus
    from spmis.intake.services import submission_submit

    path = Path(file)
    submission = submission_submit(actor=None, source_code=source_code, period=period.date(),
                                   filename=path.name, data=path.read_bytes())
    _print(submission)
    if submission.status == SubmissionStatus.REFUSED:
        raise SystemExit(1)


@intake.command()
@click.argument("submission_id", type=int)
def status(submission_id: int) -> None:
    """Show a submission's status and counts."""
    setup_django()
    from spmis.intake.selectors import submission_get

    _print(submission_get(submission_id=submission_id))


@intake.command()
@click.argument("submission_id", type=int)
@click.option("--format", "fmt", type=click.Choice(["csv", "xlsx"]), default="csv",
              show_default=True)
@click.option("--output", type=click.Path(dir_okay=False), default=None,
              help="Write here (default: standard output for csv).")
def errors(submission_id: int, fmt: str, output: str | None) -> None:
    """The row-level error report of a submission."""
    setup_django()
    from spmis.intake.selectors import submission_error_report, submission_get

    report = submission_error_report(submission=submission_get(submission_id=submission_id),
                                     file_format=fmt)
    if output:
        Path(output).write_bytes(report)
        click.echo(f"Wrote {output}.", err=True)
    elif fmt == "xlsx":
        raise click.UsageError("An XLSX report needs --output FILE.")
    else:
        sys.stdout.buffer.write(report)


def _print(s: Submission) -> None:
    click.echo(f"submission {s.pk}: {s.status} source={s.source.code} period={s.period:%Y-%m} "
               f"rows={s.rows_total} loaded={s.rows_loaded} rejected={s.rows_rejected}")
    if s.message:
        click.echo(s.message)
