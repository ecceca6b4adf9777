"""`spmis linkage …`: one person across records and schemes."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from spmis.cli.params import ROW_ID


def setup_django() -> None:
    from spmis.cli.main import setup_django as setup

    setup()


def _say(started: float) -> Callable[[str], None]:
    return lambda step: click.echo(f"[{time.perf_counter() - started:6.1f}s] {step}", err=True)


@click.group()
def linkage() -> None:
    """Find the records that are one person, within and across sources."""


@linkage.command()
@click.option("--input", "source", required=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Person records: CSV (comma, semicolon, tab or pipe; UTF-8 or Windows-1252), "
                   "XLSX or JSON, with id, given_name, surname, date_of_birth, sex, area "
                   "(and optionally national_id, address); names such as 'Given Name' or "
                   "'DOB' are recognised.")
@click.option("--output", "target", required=True,
              type=click.Path(dir_okay=False, path_type=Path),
              help="Where to write id_l, id_r, match_probability (its folder must exist).")
@click.option("--threshold", type=click.FloatRange(0, 1), default=0.5, show_default=True,
              help="Write the pairs at or above this match probability.")
@click.option("--date-order", type=click.Choice(("dmy", "mdy", "ymd")), default=None,
              help="Dates with the year last are dd/mm (dmy) or mm/dd (mdy); ymd reads "
                   "two-digit years first (80-12-31). Default: detected from the file.")
@click.option("--force", is_flag=True, help="Overwrite the output file if it exists.")
def dedupe(source: Path, target: Path, threshold: float, date_order: str | None,
           force: bool) -> None:
    """Link any file of person records (no database): train, score, write the pairs.

    What reading decided (encoding, separator, columns, date order) and any unreadable or
    ambiguous dates are said on stderr. Exit 0 done, 1 input refused (with why), 2 usage."""
    from spmis.linkage.dedupe import dedupe_csv
    from spmis.linkage.engine import LinkageError

    started = time.perf_counter()
    try:
        written = dedupe_csv(source, target, threshold=threshold, date_order=date_order,
                             force=force, progress=_say(started),
                             tell=lambda line: click.echo(line, err=True))
    except LinkageError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{written} pairs at or above {threshold} written to {target} "
               f"in {time.perf_counter() - started:.1f}s")


@linkage.command()
@click.option("--source", "source_code", default=None,
              help="Only this source's records (default: every person record).")
@click.option("--retrain", is_flag=True, help="Train a new model version first.")
def run(source_code: str | None, retrain: bool) -> None:
    """Score candidate pairs, keep the links, re-derive identities; print the counts."""
    setup_django()
    from spmis.linkage.services import linkage_run

    started = time.perf_counter()
    done = linkage_run(actor=None, source_code=source_code, retrain=retrain,
                       progress=_say(started))
    click.echo(f"run {done.pk} (model v{done.model.version})")
    for key, value in done.counts.items():
        click.echo(f"  {key:<34} {value:>10,}")


@linkage.command()
@click.option("--pair", nargs=2, type=ROW_ID, required=True, metavar="A B",
              help="Two person record ids.")
def explain(pair: tuple[int, int]) -> None:
    """Why two records are (or are not) one person: each comparison's match weight."""
    setup_django()
    from spmis.linkage.services import link_explain

    why = link_explain(person_a=pair[0], person_b=pair[1])
    click.echo(f"records {why['person_l']} and {why['person_r']}: {why['state']}, "
               f"match probability {why['match_probability']:.4f} "
               f"(model v{why['model']}: link at {why['upper']}, review from {why['lower']})")
    click.echo(f"  {'prior':<16} {why['prior_weight']:+8.2f}")
    for name, weight in sorted(why["weights"].items(), key=lambda kv: -abs(kv[1] or 0)):
        bar = ("+" if (weight or 0) > 0 else "-") * min(int(abs(weight or 0)), 30)
        click.echo(f"  {name:<16} {weight if weight is not None else 0:+8.2f} {bar}")
    click.echo(f"  {'total':<16} {why['match_weight']:+8.2f}")
    if why["decided_by"]:
        click.echo(f"decided by {why['decided_by']}: {why['reason']}")


@linkage.command()
def quality() -> None:
    """Data-quality indicators: duplicate-record rate, linkage rate per source, open flags."""
    setup_django()
    from spmis.linkage.quality import linkage_quality

    click.echo(json.dumps(linkage_quality(), indent=2))


def _user(username: str) -> Any:
    from spmis.access.models import User

    user = User.objects.filter(username=username, is_active=True).first()
    if user is None:
        raise click.ClickException(f"No active user {username!r}.")
    return user


def _show_effect(effect: Any) -> None:
    """What a decision will do: the joins it cuts and the identities that result."""
    kinds = {"LINK": "link", "NATIONAL_ID": "shared national ID",
             "BOTH": "link and shared national ID"}
    click.echo(f"{effect.decision} on records {effect.person_l} and {effect.person_r}:")
    for cut in effect.cuts:
        how = kinds[cut.kind]
        if cut.state:
            how += f", {cut.state}" + (f" p {cut.probability:.3f}"
                                       if cut.probability is not None else "")
        click.echo(f"  cut {cut.person_l} - {cut.person_r} ({how})")
    for group in effect.before:
        click.echo(f"  identity {group[0]} ({len(group)} records) now: "
                   + ", ".join(map(str, group)))
    for group in effect.after:
        click.echo(f"  identity {group[0]} after: " + ", ".join(map(str, group)))


def _decide_shown(effect: Any, yes: bool, apply: Callable[[str], Any]) -> None:
    """Show a decision that separates records, ask before applying it, apply it as shown."""
    if effect.changes:
        _show_effect(effect)
    if effect.separates and not yes:
        click.confirm("Apply this decision?", abort=True)
    link = apply(effect.token)
    click.echo(json.dumps({"link": link.pk, "state": link.state,
                           "waiting": link.pending_state or None}))


@linkage.command()
@click.argument("link_id", type=ROW_ID)
@click.argument("decision", type=click.Choice(["MATCH", "NON_MATCH", "UNSURE", "REOPEN"]))
@click.option("--reason", default="", help="Required for NON_MATCH and UNSURE.")
@click.option("--as", "username", required=True, help="The reviewer (a user name).")
@click.option("--yes", is_flag=True, help="Apply a decision that separates records without "
                                          "asking (it is still shown).")
def decide(link_id: int, decision: str, reason: str, username: str, yes: bool) -> None:
    """Record a clerical review decision on a link (identities follow). A decision that
    separates records first shows the joins it cuts and the identities that result."""
    setup_django()
    from spmis.linkage.services import link_decide, link_decision_preview

    user = _user(username)
    effect = link_decision_preview(actor=user, link_id=link_id, decision=decision)
    _decide_shown(effect, yes, lambda token: link_decide(
        actor=user, link_id=link_id, decision=decision, reason=reason, expect=token))


@linkage.command()
@click.argument("person_a", type=ROW_ID)
@click.argument("person_b", type=ROW_ID)
@click.option("--reason", required=True, help="Why they are not one person.")
@click.option("--as", "username", required=True, help="The reviewer (a user name).")
@click.option("--yes", is_flag=True, help="Apply without asking (the effect is still shown).")
def separate(person_a: int, person_b: int, reason: str, username: str, yes: bool) -> None:
    """Not a match: two person records of one identity are not one person, whether or not
    they were ever scored as a pair (e.g. joined only by a shared national ID)."""
    setup_django()
    from spmis.linkage.services import pair_decide, pair_decision_preview

    user = _user(username)
    effect = pair_decision_preview(actor=user, person_a=person_a, person_b=person_b,
                                   decision="NON_MATCH")
    _decide_shown(effect, yes, lambda token: pair_decide(
        actor=user, person_a=person_a, person_b=person_b, decision="NON_MATCH",
        reason=reason, expect=token))


@linkage.command()
@click.option("--as", "username", required=True, help="The reviewer (a user name).")
@click.option("--state", default="REVIEW", show_default=True,
              type=click.Choice(["AUTO", "REVIEW", "MATCH", "NON_MATCH", "UNSURE"]))
@click.option("--limit", type=click.IntRange(1), default=50, show_default=True)
def queue(username: str, state: str, limit: int) -> None:
    """The pairs to review in the reviewer's areas, as the review page lists them: those
    whose decision would change the most first, then the closest to even odds; each pair of
    people once (the other pairs between them wait for its decision)."""
    setup_django()
    from spmis.linkage.selectors import review_queue_for_user

    listed = review_queue_for_user(user=_user(username), state=state)
    for entry in listed.entries[:limit]:
        would = "split" if entry.splits else "join"
        shown = "-" if entry.probability is None else f"{entry.probability:.3f}"
        click.echo(f"{entry.link_id}\t{entry.person_l}\t{entry.person_r}\t{shown}\t{would} "
                   f"{entry.impact}")
    if listed.waiting or listed.pending:
        click.echo(f"{listed.waiting} more pair(s) wait for a decision on the same people; "
                   f"{listed.pending} decision(s) wait for an approver.", err=True)


@linkage.command()
@click.argument("link_id", type=ROW_ID)
@click.option("--as", "username", required=True, help="The approver (a user name).")
@click.option("--reject", is_flag=True, help="Reject the waiting decision instead.")
@click.option("--reason", default="")
def approve(link_id: int, username: str, reject: bool, reason: str) -> None:
    """Approve (or reject) a review decision waiting for a checker (SPMIS_LINKAGE_CHECKER)."""
    setup_django()
    from spmis.access.models import User
    from spmis.linkage.services import link_decision_check

    user = User.objects.filter(username=username, is_active=True).first()
    if user is None:
        raise click.ClickException(f"No active user {username!r}.")
    link = link_decision_check(checker=user, link_id=link_id, approve=not reject,
                               reason=reason)
    click.echo(json.dumps({"link": link.pk, "state": link.state,
                           "waiting": link.pending_state or None}))


@click.group()
def crosscheck() -> None:
    """Check the registry against authoritative registries; verification flags."""


@crosscheck.command("run")
@click.option("--registry", "registry_code", default=None,
              help="The code of a source of kind AUTHORITATIVE_REGISTRY (e.g. CRVS).")
@click.option("--internal", is_flag=True,
              help="The registry's own checks: duplicate enrolment, double dipping.")
def crosscheck_run_command(registry_code: str | None, internal: bool) -> None:
    """Raise verification flags (run `spmis linkage run` first so identities are current)."""
    if not registry_code and not internal:
        raise click.UsageError("Give --registry CODE, --internal, or both.")
    setup_django()
    from spmis.linkage.crosscheck import crosscheck_internal, crosscheck_run

    counts: dict[str, int] = {}
    if registry_code:
        counts |= crosscheck_run(actor=None, registry_code=registry_code)
    if internal:
        counts |= {f"internal {k}": v for k, v in crosscheck_internal(actor=None).items()}
    for key, value in counts.items():
        click.echo(f"  {key:<34} {value:>10,}")


@crosscheck.command("flags")
@click.option("--all", "show_all", is_flag=True, help="Decided flags too, not only open ones.")
def crosscheck_flags(show_all: bool) -> None:
    """The verification flags, one a line: id, reason, person record, scheme, due date, state."""
    setup_django()
    from spmis.linkage.models import FlagState, VerificationFlag

    flags = VerificationFlag.objects.select_related("scheme").order_by("due_on", "id")
    if not show_all:
        flags = flags.filter(state=FlagState.OPEN)
    for flag in flags:
        scheme = flag.scheme.code if flag.scheme else "-"
        click.echo(f"{flag.pk}\t{flag.reason_code}\tperson={flag.person_id}\t{scheme}\t"
                   f"due={flag.due_on}\t{flag.state}")
