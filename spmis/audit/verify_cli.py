"""Standalone verifier for an outside auditor: public key + checkpoint + inclusion proof.

    python -m spmis.audit.verify_cli --key KEY_FILE --checkpoint CHECKPOINT_FILE \\
        --proof PROOF_JSON [--origin ORIGIN]

The proof JSON is ``{"index": i, "size": n, "leaf_hash": hex, "hashes": [hex, ...]}``,
optionally with ``"entry"``: the canonical entry text, whose leaf hash is then recomputed
rather than trusted. Prints one verdict line; exits 0 if everything checks, 1 otherwise.
Needs only the standard library, ``cryptography`` and the two modules below (no Django).

The entry text is hashed exactly as given, byte for byte: the verifier needs no knowledge of
its fields. For reading it: a JSON object with sorted keys ``action``, ``actor``,
``actor_id``, ``area``, ``at``, ``detail``, ``object``, ``object_type``, ``purpose``, ``seq``,
and ``address`` (the client's IP address) in entries written while serving a request once
spmis recorded it; older entries, and those of commands, have no ``address`` key and verify
as they always did.
"""

from __future__ import annotations

import argparse
import base64
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from spmis.audit.checkpoint import CheckpointError, verify_checkpoint
from spmis.audit.merkle import HASH_SIZE, leaf_hash, verify_inclusion


class VerificationFailed(Exception):
    """Anything that means "do not trust this": the message is the verdict."""


@dataclass(frozen=True)
class InclusionClaim:
    index: int
    size: int
    leaf_hash: bytes
    hashes: list[bytes]


def _hash(value: Any, what: str) -> bytes:
    try:
        raw = bytes.fromhex(value) if isinstance(value, str) else b""
    except ValueError:
        raw = b""
    if len(raw) != HASH_SIZE:
        raise VerificationFailed(f"{what} is not a {HASH_SIZE}-byte hex hash")
    return raw


def _count(value: Any, what: str) -> int:
    # bool is an int subclass; "index": true must not pass as leaf 1.
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise VerificationFailed(f"proof {what} must be a non-negative integer")
    return value


def _entry_leaf(doc: dict[str, Any]) -> bytes:
    """The leaf hash, recomputed from the entry when given (and then it must agree)."""
    if "entry" not in doc:
        return _hash(doc.get("leaf_hash"), "proof leaf_hash")
    if not isinstance(doc["entry"], str):
        raise VerificationFailed("proof entry must be a string")
    computed = leaf_hash(doc["entry"].encode())
    if "leaf_hash" in doc and _hash(doc["leaf_hash"], "proof leaf_hash") != computed:
        raise VerificationFailed("proof leaf_hash does not match the hash of its entry")
    return computed


def parse_proof(text: str) -> InclusionClaim:
    try:
        doc = json.loads(text)
    except ValueError as exc:
        raise VerificationFailed(f"proof is not valid JSON: {exc}") from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("hashes"), list):
        raise VerificationFailed('proof must be a JSON object with a "hashes" list')
    return InclusionClaim(
        index=_count(doc.get("index"), "index"),
        size=_count(doc.get("size"), "size"),
        leaf_hash=_entry_leaf(doc),
        hashes=[_hash(h, f"proof hash #{i}") for i, h in enumerate(doc["hashes"])],
    )


def _read(path: Path, what: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise VerificationFailed(f"cannot read {what} {path}: {exc}") from exc


def check(key_file: Path, checkpoint_file: Path, proof_file: Path, origin: str | None) -> str:
    """Run every check; return the success verdict or raise VerificationFailed."""
    key = _read(key_file, "key").strip()
    try:
        checkpoint = verify_checkpoint(_read(checkpoint_file, "checkpoint"), key, origin=origin)
    except CheckpointError as exc:
        raise VerificationFailed(f"checkpoint rejected: {exc}") from exc
    claim = parse_proof(_read(proof_file, "proof"))
    if claim.size != checkpoint.size:
        raise VerificationFailed(
            f"proof is for tree size {claim.size}, checkpoint is for size {checkpoint.size}"
        )
    if not verify_inclusion(
        claim.leaf_hash, claim.index, claim.size, claim.hashes, checkpoint.root
    ):
        raise VerificationFailed(
            f"inclusion proof for entry {claim.index} does not match the checkpoint root"
        )
    root_b64 = base64.b64encode(checkpoint.root).decode("ascii")
    return (
        f"OK: entry {claim.index} (leaf {claim.leaf_hash.hex()}) is in {checkpoint.origin} "
        f"at size {checkpoint.size}, root {root_b64}, signed by the given key"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m spmis.audit.verify_cli",
        description="Verify that an audit-log entry is included in a signed checkpoint.",
    )
    parser.add_argument("--key", type=Path, required=True, help="verifier key file")
    parser.add_argument("--checkpoint", type=Path, required=True, help="signed checkpoint")
    parser.add_argument("--proof", type=Path, required=True, help="inclusion proof JSON")
    parser.add_argument("--origin", help="also require this checkpoint origin (log name)")
    args = parser.parse_args(argv)
    try:
        print(check(args.key, args.checkpoint, args.proof, args.origin))
    except VerificationFailed as exc:
        print(f"FAIL: {exc}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
