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
    """Access governance: the monthly review."""


@access.command()
@click.option("--dormant-days", type=click.IntRange(min=1), default=90, show_default=True)
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
