"""Benchmark: verify a large audit log. Prints one JSON object.

    python bench/audit_verify.py --entries 1000000 [--database-url URL]

Fills a fresh database with N entries (bulk, with their real leaf hashes and sequence), signs a
checkpoint at N/2 and at N, then times: the full recompute (`spmis audit verify`), and the
consistency check between the two checkpoints given a proof (what a witness does).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _django


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    _tmp = _django.setup(args.database_url)  # removed when the benchmark ends
    from django.db import connection, transaction

    from spmis.audit import checkpoint as notes
    from spmis.audit import merkle
    from spmis.audit.models import AuditCheckpoint, AuditEvent, AuditLogHead
    from spmis.audit.services import (
        _frontier_append,
        _frontier_root,
        _origin,
        _private_key,
        audit_checkpoint,
        audit_public_key,
        audit_verify,
        entry_bytes,
    )

    n = args.entries
    t0 = time.perf_counter()
    frontier: list[str] = []
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    with transaction.atomic():
        AuditEvent.objects.all().delete()
        AuditCheckpoint.objects.all().delete()
        batch = []
        for seq in range(n):  # audit entries, not persons: the log is append-only by nature
            event = AuditEvent(seq=seq, occurred_at=start + dt.timedelta(seconds=seq),
                               actor_username="bench", action="person.view",
                               object_type="person", object_id=f"{seq:032x}", area_code="XY01",
                               detail={"n": seq})
            leaf = merkle.leaf_hash(entry_bytes(event))
            event.leaf_hash = leaf.hex()
            frontier = _frontier_append(frontier, seq, leaf)
            batch.append(event)
            if len(batch) == 20_000 or seq == n - 1:
                AuditEvent.objects.bulk_create(batch)
                batch = []
            if seq + 1 == n // 2:  # sign the half-way head as a checkpoint would have
                note = notes.sign_checkpoint(origin=_origin(), size=seq + 1,
                                             root=_frontier_root(frontier), key_name=_origin(),
                                             private_pem=_private_key())
                half = AuditCheckpoint.objects.create(
                    size=seq + 1, root=_frontier_root(frontier).hex(), note=note,
                    created_at=start)
        AuditLogHead.objects.update_or_create(pk=1, defaults={"size": n, "frontier": frontier})
    fill_s = time.perf_counter() - t0
    full = audit_checkpoint(actor=None)

    t0 = time.perf_counter()
    result = audit_verify()
    verify_s = time.perf_counter() - t0

    hashes = [bytes.fromhex(h) for h in
              AuditEvent.objects.order_by("seq").values_list("leaf_hash", flat=True)]
    t0 = time.perf_counter()
    proof = merkle.consistency_proof(hashes, half.size, full.size)
    proof_s = time.perf_counter() - t0
    key = audit_public_key()
    t0 = time.perf_counter()
    old = notes.verify_checkpoint(half.note, key)
    new = notes.verify_checkpoint(full.note, key)
    consistent = merkle.verify_consistency(old.size, new.size, old.root, new.root, proof)
    check_s = time.perf_counter() - t0
    print(json.dumps({
        "benchmark": "audit_verify",
        "database": connection.vendor,
        "entries": result.entries,
        "verified_ok": result.ok,
        "fill_seconds": round(fill_s, 2),
        "full_verify_seconds": round(verify_s, 2),
        "full_verify_entries_per_second": round(result.entries / verify_s),
        "consistency_proof_generate_seconds": round(proof_s, 3),
        "consistency_check_seconds": round(check_s, 5),
        "consistent": consistent,
        "peak_memory_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }, indent=2))


if __name__ == "__main__":
    main()
