"""Benchmark: the audit log's Merkle tree at 1M entries. Prints one JSON object.

    python bench/merkle.py [--leaves 1000000] [--verify-repeats 1000]

Times the root over n random leaf hashes, one inclusion proof (generate + verify) and one
consistency proof from old = n//2 + 7 to n (generate + verify). Verification is averaged
over --verify-repeats runs since a single one is far below timer noise.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from spmis.audit import merkle

T = TypeVar("T")


def timed(fn: Callable[[], T]) -> tuple[T, float]:
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start


def per_call(fn: Callable[[], bool], repeats: int) -> float:
    _, seconds = timed(lambda: [fn() for _ in range(repeats)])
    assert fn(), "proof did not verify"
    return seconds / repeats


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--leaves", type=int, default=1_000_000)
    parser.add_argument("--verify-repeats", type=int, default=1000)
    args = parser.parse_args()
    n, repeats = args.leaves, args.verify_repeats
    old = n // 2 + 7

    # Random 32-byte strings stand in for leaf hashes: hashing cost is per node, not data.
    leaves = [os.urandom(32) for _ in range(n)]
    new_root, root_s = timed(lambda: merkle.root(leaves))
    old_root = merkle.root(leaves[:old])
    index = n * 2 // 3  # a leaf in the right, incomplete part of the tree

    inc, inc_gen_s = timed(lambda: merkle.inclusion_proof(leaves, index, n))
    inc_ver_s = per_call(lambda: merkle.verify_inclusion(leaves[index], index, n, inc, new_root),
                         repeats)  # fmt: skip
    con, con_gen_s = timed(lambda: merkle.consistency_proof(leaves, old, n))
    con_ver_s = per_call(lambda: merkle.verify_consistency(old, n, old_root, new_root, con),
                         repeats)  # fmt: skip

    print(json.dumps({
        "benchmark": "merkle",
        "leaves": n,
        "root_s": round(root_s, 3),
        "entries_per_s": round(n / root_s),
        "inclusion": {"index": index, "hashes": len(inc), "generate_s": round(inc_gen_s, 3),
                      "verify_ms": round(inc_ver_s * 1000, 4)},
        "consistency": {"old": old, "new": n, "hashes": len(con),
                        "generate_s": round(con_gen_s, 3), "verify_ms": round(con_ver_s * 1000, 4)},
        # ru_maxrss is KiB on Linux; includes the n leaf hashes held in memory (~70 MB at 1M).
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "python": platform.python_version(),
        "cpu_count": os.cpu_count(),
    }, indent=2))  # fmt: skip


if __name__ == "__main__":
    main()
