"""`spmis intake …`: sources, mappings, submissions and their error reports."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from spmis.cli.params import PERIOD, ROW_ID
from spmis.intake.source_cli import source_group

if TYPE_CHECKING:
    from spmis.access.models import User
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


intake.add_command(source_group(setup_django))


@intake.group()
def mapping() -> None:
    """Check and save mappings (YAML or JSON)."""


@mapping.command("check")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--against", type=click.Path(exists=True, dir_okay=False),
              help="Also read this data file as a submission would and report what the "
                   "mapping does not cover.")
def mapping_check(file: str, against: str | None) -> None:
    """Explain what is wrong with a mapping file (exit 1 if anything); with --against, the
    data file is read exactly as `submit` reads it."""
    from spmis.intake.mapping_cli import check_report

    report = check_report(file, sample=against)
    for note in report.notes:
        click.echo(f"note: {note}")
    for warning in report.warnings:
        click.echo(f"warning: {warning}", err=True)
    if report.problems:
        for problem in report.problems:
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


@mapping.command("draft")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--source", "source_code", default=None,
              help="The source sending FILE: its code and its one scheme are filled in.")
def mapping_draft(file: str, source_code: str | None) -> None:
    """Propose a mapping for FILE (printed, nothing stored): the header row, each column
    matched to a field by its name (English, French, Spanish, Portuguese), every code-like
    column's values to translate, date formats and number separators guessed. Edit it, then
    `mapping check` and `mapping save`."""
    from spmis.intake.draft import draft_mapping
    from spmis.intake.parsers import ParseError

    schemes: tuple[str, ...] = ()
    if source_code is not None:
        setup_django()
        from spmis.intake.services import source_get

        source = source_get(code=source_code)
        schemes = tuple(source.schemes.order_by("code").values_list("code", flat=True))
    path = Path(file)
    try:
        text = draft_mapping(path.read_bytes(), filename=path.name, schemes=schemes,
                             source=source_code)
    except ParseError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(text, nl=False)


RECEIVED_FORMATS = ["%Y-%m-%d", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"]


@intake.command()
@click.option("--source", "source_code", required=True, help="Source code.")
@click.option("--period", required=True, type=PERIOD,
              help="Reporting period, YYYY-MM.")
@click.option("--received-at", type=click.DateTime(formats=RECEIVED_FORMATS), default=None,
              help="When the file reached the MIS unit, if before now (e-mail, paper): "
                   "YYYY-MM-DD or YYYY-MM-DDTHH:MM in the server's time zone; never in the "
                   "future. Counts for timeliness. Default: now.")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
def submit(source_code: str, period: dt.date, file: str,
           received_at: dt.datetime | None) -> None:
    """Submit FILE for a source and period; exits 1 when the submission is refused. The same
    file again says which submission already has it and changes nothing."""
    setup_django()
    from django.utils import timezone

    from spmis.intake.models import SubmissionStatus
    from spmis.intake.parsers import MAX_BYTES
    from spmis.intake.services import submission_receive

    path = Path(file)
    size = path.stat().st_size
    if size > MAX_BYTES:  # refuse before reading a huge file into memory
        raise click.ClickException(f"{path.name} is {size // 2**20} MB; the limit is "
                                   f"{MAX_BYTES // 2**20} MB. Split it by area or month.")
    if received_at is not None and received_at.year < 1900:
        raise click.BadParameter("a file cannot have been received before 1900.",
                                 param_hint="'--received-at'")
    receipt = submission_receive(
        actor=None, source_code=source_code, period=period, filename=path.name,
        data=path.read_bytes(),
        received_at=timezone.make_aware(received_at) if received_at is not None else None,
        progress=_echo_progress)
    if receipt.repeat:  # not the earlier load's counts again, as if it had just happened
        s = receipt.submission
        click.echo(f"{receipt.note} ({s.status}, received "
                   f"{timezone.localtime(s.received_at):%Y-%m-%d %H:%M}.)")
        return
    _print(receipt.submission)
    if receipt.submission.status == SubmissionStatus.REFUSED:
        raise SystemExit(1)


def _echo_progress(stage: str, **detail: Any) -> None:
    """Each stage of a load on stderr, as the submission's page shows it."""
    if "table" in detail:
        if detail.get("done") == detail.get("total"):
            click.echo(f"  loaded {detail['table']}: {detail['total']:,} rows", err=True)
        return
    rows = f" ({detail['total']:,} rows)" if "total" in detail else ""
    click.echo(f"  {stage}{rows} ...", err=True)


@intake.command()
@click.argument("submission_id", type=ROW_ID)
def retry(submission_id: int) -> None:
    """Load again a submission whose background load failed or stalled (its process died),
    here and now, from its kept file; exits 1 unless it loads."""
    setup_django()
    from spmis.intake.models import SubmissionStatus
    from spmis.intake.services import submission_claim, submission_retry, submission_run

    submission_retry(actor=None, submission_id=submission_id)
    claimed = submission_claim(submission_id=submission_id)
    if claimed is None:  # the web server's runner took it first
        click.echo(f"submission {submission_id} is being loaded by the web server; its page "
                   f"shows how far it has got.")
        return
    done = submission_run(submission=claimed, echo=_echo_progress)
    _print(done)
    if done.status not in (SubmissionStatus.LOADED, SubmissionStatus.PARTIAL):
        raise SystemExit(1)


@intake.command()
@click.argument("submission_id", type=ROW_ID)
def status(submission_id: int) -> None:
    """Show a submission's status and counts."""
    setup_django()
    from spmis.intake.selectors import submission_get

    _print(submission_get(submission_id=submission_id))


@intake.command()
@click.argument("submission_id", type=ROW_ID)
@click.option("--format", "fmt", type=click.Choice(["csv", "xlsx"]), default="csv",
              show_default=True)
@click.option("--output", type=click.Path(dir_okay=False), default=None,
              help="Write here (default: standard output for csv).")
def errors(submission_id: int, fmt: str, output: str | None) -> None:
    """The row-level error report of a submission."""
    setup_django()
    from spmis.intake.selectors import submission_error_report, submission_get

    report = submission_error_report(user=None,
                                     submission=submission_get(submission_id=submission_id),
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


def _user(username: str | None) -> User | None:
    if username is None:
        return None
    from spmis.access.services import user_get_by_username

    return user_get_by_username(username=username)


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


@intake.command()
@click.option("--period", required=True, type=PERIOD,
              help="Reporting period, YYYY-MM.")
@click.option("--level", type=int, default=None,
              help="Only this area level (0 country, 1 region, 2 district, 3 commune).")
@click.option("--as", "username", default=None,
              help="Only the areas this user may see (default: everywhere).")
def rates(period: dt.date, level: int | None, username: str | None) -> None:
    """Reporting rates for a period: expected, received and on-time reports by area."""
    setup_django()
    from spmis.intake.rates import reporting_rates

    rows = reporting_rates(user=_user(username), period=period)
    if level is not None:
        rows = [r for r in rows if r.level == level]
    click.echo(f"{'area':<12} {'name':<24} {'expected':>8} {'received':>8} {'on time':>8} "
               f"{'rate %':>7} {'on-time %':>9}")
    for r in rows:
        name = ("  " * r.level + r.area_name)[:24]
        click.echo(f"{r.area_code:<12} {name:<24} {r.expected:>8} {r.received:>8} "
                   f"{r.on_time:>8} {_pct(r.rate):>7} {_pct(r.on_time_rate):>9}")
    if not rows:
        click.echo("No reports were due for that period in these areas.")


@intake.command()
@click.option("--period", required=True, type=PERIOD,
              help="Reporting period, YYYY-MM.")
@click.option("--all", "show_all", is_flag=True,
              help="Also list the sources that are on time or not yet due.")
@click.option("--as", "username", default=None,
              help="Only the sources this user may see (default: everywhere).")
def late(period: dt.date, show_all: bool, username: str | None) -> None:
    """Sources that are late, missing or refused (every file refused) for a period, with
    their deadline."""
    setup_django()
    from spmis.core import clock
    from spmis.intake.rates import STATE_LATE, STATE_MISSING, STATE_REFUSED, late_or_missing

    states = late_or_missing(user=_user(username), period=period, today=clock.today())
    shown = [s for s in states
             if show_all or s.state in (STATE_LATE, STATE_MISSING, STATE_REFUSED)]
    for s in shown:
        received = f"{s.received_at:%Y-%m-%d %H:%M}" if s.received_at else "-"
        click.echo(f"{s.state:<8}\t{s.source_code}\t{s.area_code}\tdeadline={s.deadline}\t"
                   f"received={received}")
    if not shown:
        click.echo("No late or missing sources.")


@intake.command()
@click.option("--area", "area_code", required=True, help="District P-code.")
@click.option("--period", required=True, type=PERIOD,
              help="Reporting period, YYYY-MM.")
@click.option("--as", "username", required=True, help="The acting user.")
@click.option("--action", type=click.Choice(["request", "approve", "reject", "accept",
                                             "unapprove"]),
              default="request", show_default=True)
@click.option("--reason", default="", help="Why (needed to reject or un-approve).")
def approve(area_code: str, period: dt.date, username: str, action: str,
            reason: str) -> None:
    """Period approval: request, approve/reject, accept (region) or un-approve a district's
    data for a month. While approved, no source in the district may submit for it."""
    setup_django()
    from spmis.intake import approvals

    actor = _user(username)
    assert actor is not None
    if action == "request":
        done = approvals.period_approve_request(actor=actor, area_code=area_code, period=period)
    elif action in ("approve", "reject"):
        done = approvals.period_approve_decide(actor=actor, area_code=area_code, period=period,
                                               approve=action == "approve", reason=reason)
    elif action == "accept":
        done = approvals.period_accept(actor=actor, area_code=area_code, period=period)
    else:
        done = approvals.period_unapprove(actor=actor, area_code=area_code, period=period,
                                          reason=reason)
    click.echo(f"{area_code} {period:%Y-%m}: {done.state}")


@intake.command()
@click.argument("submission_id", type=int)
@click.option("--as", "username", required=True, help="The acting user.")
@click.option("--action", type=click.Choice(["request", "approve", "reject"]),
              default="request", show_default=True)
@click.option("--reason", default="", help="Why (needed to ask, and to reject).")
def withdraw(submission_id: int, username: str, action: str, reason: str) -> None:
    """Withdraw a loaded submission (maker-checker): one user asks with a reason, an approver
    over the source's area approves; then what it created is deleted and what it changed
    restored. Only a source's latest loaded submission can be withdrawn."""
    setup_django()
    from spmis.intake import withdrawals

    actor = _user(username)
    assert actor is not None
    if action == "request":
        done = withdrawals.submission_withdraw_request(actor=actor, submission_id=submission_id,
                                                      reason=reason)
        click.echo(f"submission {done.pk}: withdrawal asked, waiting for an approver "
                   f"(request {done.withdraw_request_id}).")
        return
    done = withdrawals.submission_withdraw_decide(actor=actor, submission_id=submission_id,
                                                  approve=action == "approve", reason=reason)
    _print(done)
    if done.status == "WITHDRAWN":
        click.echo(withdrawals.withdrawal_summary(done))


@intake.command("aggregate-upload")
@click.option("--source", "source_code", required=True, help="Source code.")
@click.option("--area", "area_code", required=True, help="Area P-code the figures are for.")
@click.option("--period", required=True, type=PERIOD,
              help="Reporting period, YYYY-MM.")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
def aggregate_upload(source_code: str, area_code: str, period: dt.date, file: str) -> None:
    """Load an aggregate return from FILE (columns element, combo, value); exits 1 when a
    validation rule refuses it."""
    setup_django()
    from spmis.intake.aggregates import aggregate_upload as upload

    path = Path(file)
    result = upload(actor=None, source_code=source_code, area_code=area_code,
                    period=period, data=path.read_bytes(), filename=path.name)
    if result.refused:
        for violation in result.violations:
            click.echo(f"- {violation}", err=True)
        click.echo("The return was refused; nothing was saved.", err=True)
        raise SystemExit(1)
    assert result.submission is not None
    click.echo(f"submission {result.submission.pk}: {result.saved} values saved for "
               f"{source_code} {area_code} {period:%Y-%m}.")


@intake.command()
@click.option("--element", "element_code", required=True, help="Data element code.")
@click.option("--area", "area_code", required=True, help="Area P-code.")
@click.option("--combo", default="", help='Category option combo, e.g. "SEX=F" (default: '
                                          "the total).")
@click.option("--threshold", type=float, default=3.5, show_default=True,
              help="Flag months whose modified z-score is above this (absolute value).")
def outliers(element_code: str, area_code: str, combo: str, threshold: float) -> None:
    """Months whose aggregate value is unusual for the area (modified z-score, median/MAD)."""
    setup_django()
    from spmis.intake.aggregates import aggregate_outliers

    found = aggregate_outliers(element_code=element_code, area_code=area_code, combo=combo,
                               threshold=threshold)
    for o in found:
        click.echo(f"{o.period:%Y-%m}\tvalue={o.value}\tz={o.z:.2f}")
    if not found:
        click.echo("No outliers.")


@intake.command()
def elements() -> None:
    """The data elements aggregate returns may give, with their breakdowns (combos)."""
    setup_django()
    from spmis.intake.aggregates import combo_label, element_list

    for element, combos in element_list():
        click.echo(f"{element.code}\t{element.name}")
        for combo in combos:
            click.echo(f"  {combo or '(total)'}\t{combo_label(combo)}")
