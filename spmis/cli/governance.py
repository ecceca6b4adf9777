"""`spmis audit …` and `spmis access …`: the governance doors onto audit and access services."""

from __future__ import annotations

import json
from pathlib import Path

import click


def setup_django() -> None:
    from spmis.cli.main import setup_django as setup

    setup()


@click.group()
def audit() -> None:
    """The tamper-evident audit log: checkpoints, verification, proofs."""


@audit.command()
def checkpoint() -> None:
    """Sign the current tree head now (cron this, e.g. hourly) and print it."""
    setup_django()
    from spmis.audit.services import audit_checkpoint

    click.echo(audit_checkpoint(actor=None).note, nl=False)


@audit.command()
@click.option("--key", "key_file", type=click.Path(exists=True, dir_okay=False),
              help="Verifier key file (default: the key of this installation).")
def verify(key_file: str | None) -> None:
    """Recompute the whole log and check every checkpoint; exit 1 naming the first bad entry."""
    setup_django()
    from spmis.audit.services import audit_verify

    key = Path(key_file).read_text().strip() if key_file else None
    result = audit_verify(verifier_key=key)
    if not result.ok:
        for problem in result.problems:
            click.echo(f"BAD: {problem}", err=True)
        raise SystemExit(1)
    click.echo(f"OK: {result.entries} entries, {result.checkpoints} checkpoints verified.")


@audit.command()
@click.option("--entry", "seq", type=click.IntRange(min=0), required=True,
              help="Entry number (its position in the log, from 0).")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default=None,
              help="Also write proof.json, checkpoint.txt and key.txt here for an outside "
                   "verifier.")
def prove(seq: int, out_dir: str | None) -> None:
    """Print an inclusion proof of one entry against the latest checkpoint."""
    setup_django()
    from spmis.audit.services import audit_prove, audit_public_key

    proof = audit_prove(seq=seq)
    if out_dir:
        folder = Path(out_dir)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "checkpoint.txt").write_text(proof["checkpoint"])
        (folder / "key.txt").write_text(audit_public_key() + "\n")
        (folder / "proof.json").write_text(json.dumps(
            {k: v for k, v in proof.items() if k != "checkpoint"}, indent=2))
        click.echo(f"Wrote {folder}/proof.json, checkpoint.txt, key.txt. Check with:\n"
                   f"  python -m spmis.audit.verify_cli --key {folder}/key.txt "
                   f"--checkpoint {folder}/checkpoint.txt --proof {folder}/proof.json")
    else:
        click.echo(json.dumps(proof, indent=2))


@audit.command()
def pubkey() -> None:
    """Print the verifier key that checks this installation's checkpoints."""
    setup_django()
    from spmis.audit.services import audit_public_key

    click.echo(audit_public_key())


@click.group()
def access() -> None:
    """Access governance: grant and revoke roles, clearances, the monthly review."""


@access.command()
@click.argument("username")
@click.argument("role")
@click.option("--area", "area_code", required=True, help="P-code of the area subtree.")
@click.option("--scheme", "schemes", multiple=True,
              help="Limit to this scheme code (repeatable; default: all schemes).")
def grant(username: str, role: str, area_code: str, schemes: tuple[str, ...]) -> None:
    """Grant ROLE over an area to an existing user (refused if it breaks a SoD rule)."""
    setup_django()
    from spmis.access.services import role_assign, user_get_by_username

    role_assign(actor=None, user=user_get_by_username(username=username), role=role.upper(),
                area_code=area_code, scheme_codes=schemes)
    click.echo(f"Granted {role.upper()} in {area_code} to {username}.")


@access.command()
@click.argument("username")
@click.argument("role")
@click.option("--area", "area_code", required=True, help="P-code the role was granted over.")
@click.option("--reason", default="", help="Why (kept in the audit log, as on the access "
              "review page).")
def revoke(username: str, role: str, area_code: str, reason: str) -> None:
    """Take ROLE over an area away from a user."""
    setup_django()
    from spmis.access.services import role_revoke, user_get_by_username

    role_revoke(actor=None, user=user_get_by_username(username=username), role=role.upper(),
                area_code=area_code, reason=reason.strip())
    click.echo(f"Revoked {role.upper()} in {area_code} from {username}.")


@access.command()
@click.argument("username")
@click.argument("level", type=click.Choice(["PUBLIC", "INTERNAL", "CONFIDENTIAL", "SECRET"],
                                           case_sensitive=False))
def clearance(username: str, level: str) -> None:
    """Set a user's clearance: the highest classification they may see."""
    setup_django()
    from spmis.access.models import Clearance
    from spmis.access.services import user_get_by_username, user_set_clearance

    user_set_clearance(actor=None, user=user_get_by_username(username=username),
                       clearance=Clearance[level.upper()])
    click.echo(f"{username} now has clearance {level.upper()}.")


@access.command()
@click.option("--dormant-days", type=click.IntRange(1, 36_500), default=90, show_default=True)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True)
def review(dormant_days: int, fmt: str) -> None:
    """Users, roles, scopes, clearances, dormant and privileged accounts, SoD violations."""
    setup_django()
    from spmis.access.selectors import access_review

    report = access_review(dormant_days=dormant_days)
    if fmt == "json":
        click.echo(json.dumps(report.as_dict(), indent=2, default=str))
        return
    click.echo(report.as_text())
