"""The audit log: append entries, sign checkpoints, verify the whole log, prove an entry.

Every entry is appended in the caller's transaction under a lock on the single log head row,
so entries get gap-free sequence numbers in commit order and the head always holds the root
of exactly the committed entries. Entries are leaves of an RFC 6962 Merkle tree.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.db import connections, transaction

from spmis.audit import checkpoint as notes
from spmis.audit import merkle
from spmis.audit.actions import AuditAction
from spmis.audit.models import AuditCheckpoint, AuditEvent, AuditLogHead
from spmis.core import clock
from spmis.core.errors import Conflict, NotFound, ValidationFailed

logger = logging.getLogger(__name__)
SYSTEM_ACTOR = "system"
# Who acts when no user is logged in: the command line names the operating-system account.
_operator: ContextVar[str] = ContextVar("spmis_operator", default=SYSTEM_ACTOR)


def set_operator(name: str) -> None:
    """Name the actor of entries written without a user (e.g. ``cli:maria``)."""
    _operator.set(name[:150])


# The client address of the request being served, set by a middleware of the web server.
_client_address: ContextVar[str | None] = ContextVar("spmis_client_address", default=None)
ADDRESS_MAX = 64


@contextmanager
def client_address_context(address: str | None) -> Iterator[None]:
    """Entries written inside name ``address`` as where the request came from."""
    token = _client_address.set(address[:ADDRESS_MAX] if address else None)
    try:
        yield
    finally:
        _client_address.reset(token)


# Objects about people: their ids are stored as keyed hashes, so the log names no one.
PERSONAL_OBJECTS = frozenset({"person", "household"})


def object_ref(object_type: str, object_id: str | int) -> str:
    """The keyed hash that stands for a person's or household's id in the log."""
    key = hashlib.sha256(f"spmis-audit-ref:{settings.SECRET_KEY}".encode()).digest()
    message = f"{object_type}:{object_id}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()[:32]


def audit_record(
    *,
    actor: AbstractBaseUser | None,
    action: AuditAction,
    object_type: str = "",
    object_id: str | int = "",
    area_code: str = "",
    purpose: str = "",
    detail: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one entry. ``actor`` None means the system itself (e.g. a command-line load)."""
    action = AuditAction.of(action)  # a string outside the catalogue is refused here
    ref = str(object_id)
    if object_type in PERSONAL_OBJECTS and ref:
        ref = object_ref(object_type, ref)
    with transaction.atomic():
        head = _head_for_update()
        event = AuditEvent(
            seq=head.size,
            occurred_at=clock.now(),
            actor_id=actor.pk if actor else None,
            actor_username=actor.get_username() if actor else _operator.get(),
            action=action,
            object_type=object_type,
            object_id=ref,
            area_code=area_code,
            purpose=purpose[:200],
            detail=detail or {},
            client_address=_client_address.get() or "",
        )
        leaf = merkle.leaf_hash(entry_bytes(event))
        event.leaf_hash = leaf.hex()
        event.save()
        head.frontier = _frontier_append(head.frontier, head.size, leaf)
        head.size += 1
        head.save(update_fields=["size", "frontier"])
    return event


# The stored columns an entry's leaf hash covers, in the order _canonical takes them.
ENTRY_COLUMNS = ("seq", "occurred_at", "actor_username", "actor_id", "action", "object_type",
                 "object_id", "area_code", "purpose", "detail", "client_address")


def entry_bytes(event: AuditEvent) -> bytes:
    """The canonical form of an entry: what its leaf hash covers, byte for byte."""
    return _canonical(*(getattr(event, column) for column in ENTRY_COLUMNS))


def _canonical(seq: int, at: dt.datetime, actor: str, actor_id: int | None, action: str,
               object_type: str, object_ref: str, area: str, purpose: str,
               detail: dict[str, Any], address: str = "") -> bytes:
    """Sorted-key JSON. ``address`` (added later) is a key only when there is one, so the
    entries written before it, and those written outside a request, hash as they always did."""
    doc = {"seq": seq, "at": at.isoformat(timespec="microseconds"), "actor": actor,
           "actor_id": actor_id, "action": action, "object_type": object_type,
           "object": object_ref, "area": area, "purpose": purpose, "detail": detail}
    if address:
        doc["address"] = address
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _head_for_update() -> AuditLogHead:
    head = AuditLogHead.objects.select_for_update().filter(pk=1).first()
    if head is None:
        head, _ = AuditLogHead.objects.get_or_create(pk=1)
        head = AuditLogHead.objects.select_for_update().get(pk=1)
    return head


def _frontier_append(frontier: list[str], size: int, leaf: bytes) -> list[str]:
    """Add a leaf to the compact range of a tree of ``size`` leaves (hex list, largest first)."""
    stack = [bytes.fromhex(h) for h in frontier]
    _push(stack, size, leaf)
    return [h.hex() for h in stack]


def _push(stack: list[bytes], size: int, leaf: bytes) -> None:
    """The compact-range append, in place: merge equal-sized subtrees as a binary counter."""
    node = leaf
    while size & 1:
        node = merkle.node_hash(stack.pop(), node)
        size >>= 1
    stack.append(node)


def _frontier_root(frontier: list[str]) -> bytes:
    return _stack_root([bytes.fromhex(h) for h in frontier])


def _stack_root(hashes: list[bytes]) -> bytes:
    if not hashes:
        return merkle.EMPTY_ROOT
    node = hashes[-1]
    for left in reversed(hashes[:-1]):
        node = merkle.node_hash(left, node)
    return node


# --- checkpoints -----------------------------------------------------------------------------

def _origin() -> str:
    return str(getattr(settings, "SPMIS_AUDIT_ORIGIN", "spmis/audit"))


def _private_key() -> bytes:
    """The Ed25519 signing key, created on first use next to the database."""
    path = Path(settings.SPMIS_AUDIT_KEY_FILE)
    if not path.exists():
        if AuditCheckpoint.objects.exists():
            # A new key would make every earlier checkpoint unverifiable: restore the old one.
            raise Conflict(f"The audit signing key {path} is missing but checkpoints signed "
                           f"with it exist. Restore the key file from its backup.")
        path.parent.mkdir(parents=True, exist_ok=True)
        private_pem, _ = notes.generate_key(_origin())
        path.write_bytes(private_pem)
        path.chmod(0o600)
    return path.read_bytes()


def audit_public_key() -> str:
    """The verifier key (C2SP note format) anyone needs to check checkpoints."""
    private = serialization.load_pem_private_key(_private_key(), password=None)
    raw = private.public_key().public_bytes(serialization.Encoding.Raw,
                                            serialization.PublicFormat.Raw)
    return notes.verifier_key_text(_origin(), raw)


def audit_checkpoint(*, actor: AbstractBaseUser | None) -> AuditCheckpoint:
    """Sign the current tree head. The checkpoint itself is then logged as an entry."""
    with transaction.atomic():
        head = _head_for_update()
        root = _frontier_root(head.frontier)
        note = notes.sign_checkpoint(origin=_origin(), size=head.size, root=root,
                                     key_name=_origin(), private_pem=_private_key())
        made = AuditCheckpoint.objects.create(size=head.size, root=root.hex(), note=note,
                                              created_at=clock.now())
    audit_record(actor=actor, action=AuditAction.AUDIT_CHECKPOINT, object_type="checkpoint",
                 object_id=made.pk, detail={"size": made.size, "root": made.root})
    return made


# --- verification ----------------------------------------------------------------------------

@dataclass
class Verification:
    entries: int = 0
    checkpoints: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def audit_verify(*, verifier_key: str | None = None, stop_after: int = 20) -> Verification:
    """Recompute every leaf and the tree, check each checkpoint's signature and root, and the
    consistency of consecutive checkpoints. Problems name the first bad entry."""
    key = verifier_key or audit_public_key()
    result = Verification()
    checkpoints = list(AuditCheckpoint.objects.order_by("size", "id"))
    wanted = {c.size for c in checkpoints}
    roots: dict[int, bytes] = {}
    leaves: list[bytes] = []
    stack: list[bytes] = []
    last_id = 0
    expected = 0
    rows = (AuditEvent.objects.order_by("seq", "id")
            .values_list("id", "leaf_hash", *ENTRY_COLUMNS).iterator(chunk_size=10_000))
    for row_id, stored, *columns in rows:
        seq = columns[0]
        leaf = merkle.leaf_hash(_canonical(*columns))
        problem = _entry_problem(row_id, seq, stored, leaf, expected, last_id)
        if problem:
            result.problems.append(problem)
            if len(result.problems) >= stop_after:
                break
            if seq < expected:
                continue  # a duplicate: the tree goes on without it
            expected = seq  # after a gap, check the rest against their own numbers
        last_id = row_id
        leaves.append(leaf)
        _push(stack, len(leaves) - 1, leaf)
        if len(leaves) in wanted:
            roots[len(leaves)] = _stack_root(stack)
        expected += 1
        result.entries = expected
    result.problems += _checkpoint_problems(checkpoints, roots, leaves, key)
    result.checkpoints = len(checkpoints)
    return result


def _entry_problem(row_id: int, seq: int, stored: str, leaf: bytes, expected: int,
                   last_id: int) -> str | None:
    where = f"entry {expected} (id {row_id})"
    if seq > expected:
        return f"entries {expected}..{seq - 1} are missing (deleted) before id {row_id}"
    if seq < expected:
        return f"entry {seq} appears more than once (inserted): id {row_id}"
    if row_id <= last_id:
        return f"{where} is out of order (reordered)"
    if leaf.hex() != stored:
        return f"{where} was altered: its content no longer matches its leaf hash"
    return None


def _checkpoint_problems(checkpoints: list[AuditCheckpoint], roots: dict[int, bytes],
                         leaves: list[bytes], key: str) -> list[str]:
    problems = []
    previous: notes.Checkpoint | None = None
    for made in checkpoints:
        try:
            signed = notes.verify_checkpoint(made.note, key)
        except notes.CheckpointError as exc:
            problems.append(f"checkpoint {made.pk} has a bad signature or format: {exc}")
            continue
        if made.size not in roots:
            problems.append(f"checkpoint {made.pk} covers {signed.size} entries; the log has "
                            f"fewer")
        elif roots[made.size] != signed.root:
            problems.append(f"checkpoint {made.pk} (size {signed.size}) does not match the log: "
                            f"an entry below {signed.size} was changed")
        elif previous and not merkle.verify_consistency(
                previous.size, signed.size, previous.root, signed.root,
                merkle.consistency_proof(leaves, previous.size, signed.size)):
            problems.append(f"checkpoint {made.pk} is not an extension of the one before")
        previous = signed
    return problems


# --- proofs ----------------------------------------------------------------------------------

def audit_prove(*, seq: int) -> dict[str, Any]:
    """An inclusion proof of entry ``seq`` against the latest checkpoint that covers it."""
    made = AuditCheckpoint.objects.filter(size__gt=seq).order_by("-size").first()
    if made is None:
        raise NotFound(f"No checkpoint covers entry {seq} yet: run `spmis audit checkpoint`.")
    if seq < 0:
        raise ValidationFailed("Entry numbers start at 0.")
    hashes = [bytes.fromhex(h) for h in AuditEvent.objects.filter(seq__lt=made.size)
              .order_by("seq").values_list("leaf_hash", flat=True)]
    event = AuditEvent.objects.get(seq=seq)
    proof = merkle.inclusion_proof(hashes, seq, made.size)
    return {
        "index": seq,
        "size": made.size,
        "leaf_hash": event.leaf_hash,
        "hashes": [h.hex() for h in proof],
        "entry": entry_bytes(event).decode(),
        "checkpoint": made.note,
    }


def audit_checkpoint_every(*, minutes: int) -> threading.Thread | None:
    """Sign a checkpoint every ``minutes`` in a background thread of a long-running server."""
    if minutes <= 0:
        return None

    def loop() -> None:
        while True:
            time.sleep(minutes * 60)
            try:
                audit_checkpoint(actor=None)
            except Exception:  # a failed checkpoint must not stop the server; it is logged
                logger.exception("Periodic audit checkpoint failed")
            finally:
                connections.close_all()

    thread = threading.Thread(target=loop, name="audit-checkpoints", daemon=True)
    thread.start()
    return thread
