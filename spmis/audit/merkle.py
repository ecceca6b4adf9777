"""RFC 6962 / RFC 9162 Merkle tree hashing: roots, inclusion and consistency proofs.

Pure Python on hashlib, so an outside auditor can run it without Django. Leaves are
passed already hashed (``leaf_hash(entry)``), which is what a log stores per entry.

The tree shape is RFC 6962's: the left subtree of ``n`` leaves holds the largest power
of two *strictly less* than ``n``. A midpoint split would also give "a" Merkle tree, but
not one any other implementation could check, so every function here follows the RFC.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Sequence
from itertools import islice

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "consistency_proof",
    "inclusion_proof",
    "leaf_hash",
    "node_hash",
    "root",
    "verify_consistency",
    "verify_inclusion",
]

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()

# Domain separation (RFC 6962 §2.1): a leaf can never be mistaken for an interior node,
# which is what stops second-preimage forgeries of a different tree with the same root.
_LEAF_PREFIX = hashlib.sha256(b"\x00")
_NODE_PREFIX = hashlib.sha256(b"\x01")

# Leaves are hashed in perfect blocks of this many (a power of two) level by level,
# which is ~2x faster in CPython than pushing leaves one at a time onto a stack.
_BLOCK = 1 << 12


def leaf_hash(data: bytes) -> bytes:
    """SHA-256(0x00 || data)."""
    h = _LEAF_PREFIX.copy()
    h.update(data)
    return h.digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """SHA-256(0x01 || left || right)."""
    h = _NODE_PREFIX.copy()
    h.update(left)
    h.update(right)
    return h.digest()


# --- roots ----------------------------------------------------------------------------


def _pair_level(level: list[bytes]) -> list[bytes]:
    """One level up: hash adjacent pairs; an odd last node is carried up unchanged.

    Carrying the odd node up level by level yields exactly RFC 6962's left-heavy shape.
    """
    base = _NODE_PREFIX
    pairs = iter(level)
    out: list[bytes] = []
    append = out.append
    for left, right in zip(pairs, pairs, strict=False):
        h = base.copy()
        h.update(left)
        h.update(right)
        append(h.digest())
    if len(level) % 2:
        out.append(level[-1])
    return out


def _block_root(level: list[bytes]) -> bytes:
    """MTH of a non-empty in-memory list of leaf hashes."""
    while len(level) > 1:
        level = _pair_level(level)
    return level[0]


def _blocks(leaf_hashes: Iterable[bytes]) -> Iterator[list[bytes]]:
    it = iter(leaf_hashes)
    while block := list(islice(it, _BLOCK)):
        yield block


def _push(stack: list[bytes], subtree: bytes, count: int) -> None:
    """Add the ``count``-th equal-sized perfect subtree to a compact range, merging
    neighbours of equal size: one merge per trailing zero bit of ``count``."""
    stack.append(subtree)
    while count % 2 == 0:
        right = stack.pop()
        stack[-1] = node_hash(stack[-1], right)
        count //= 2


def root(leaf_hashes: Iterable[bytes]) -> bytes:
    """MTH (RFC 6962 §2.1) of already-hashed leaves.

    Streams: full blocks become perfect subtrees kept on a compact-range stack, so memory
    is O(block + log n) and a database cursor can be passed directly.
    """
    stack: list[bytes] = []  # roots of perfect subtrees, left to right, sizes decreasing
    tail: list[bytes] = []
    for count, block in enumerate(_blocks(leaf_hashes), 1):
        if len(block) < _BLOCK:
            tail = block  # only the last block can be short
            break
        _push(stack, _block_root(block), count)
    acc = _block_root(tail) if tail else None
    for subtree in reversed(stack):  # RFC fold: the rightmost (smallest) part goes deepest
        acc = subtree if acc is None else node_hash(subtree, acc)
    return EMPTY_ROOT if acc is None else acc


def _range_root(leaf_hashes: Sequence[bytes], start: int, end: int) -> bytes:
    return root(leaf_hashes[start:end])


# --- proof generation -----------------------------------------------------------------


def _split(n: int) -> int:
    """Largest power of two strictly less than n (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def _check_size(leaf_hashes: Sequence[bytes], size: int, *, minimum: int) -> None:
    if not minimum <= size <= len(leaf_hashes):
        raise ValueError(
            f"tree size {size} is out of range: the log has {len(leaf_hashes)} leaves "
            f"and the size must be at least {minimum}"
        )


def inclusion_proof(leaf_hashes: Sequence[bytes], index: int, size: int) -> list[bytes]:
    """Audit path (RFC 9162 §2.1.3.1) for leaf ``index`` in the tree of the first ``size``
    leaves, ordered from the leaf's sibling up to the root's child.

    Walks down from the root, so only one subtree hash per level is computed: about
    ``size`` node hashes in all, never the whole tree kept in memory.
    """
    _check_size(leaf_hashes, size, minimum=1)
    if not 0 <= index < size:
        raise ValueError(f"leaf index {index} is out of range for a tree of size {size}")
    path: list[bytes] = []
    lo, hi = 0, size
    while hi - lo > 1:
        mid = lo + _split(hi - lo)
        if index < mid:
            path.append(_range_root(leaf_hashes, mid, hi))
            hi = mid
        else:
            path.append(_range_root(leaf_hashes, lo, mid))
            lo = mid
    path.reverse()
    return path


def consistency_proof(leaf_hashes: Sequence[bytes], old_size: int, new_size: int) -> list[bytes]:
    """Consistency proof (RFC 9162 §2.1.4.1) that the first ``old_size`` leaves are a
    prefix of the first ``new_size``. Empty when ``old_size`` is 0 or equals ``new_size``.
    """
    _check_size(leaf_hashes, new_size, minimum=0)
    if not 0 <= old_size <= new_size:
        raise ValueError(f"old size {old_size} is out of range for new size {new_size}")
    if old_size in (0, new_size):
        return []
    path: list[bytes] = []
    lo, hi, m = 0, new_size, old_size
    whole_old_tree = True  # RFC's "b": the old root is known to the verifier, so omit it
    while m != hi - lo:
        mid = lo + _split(hi - lo)
        if lo + m <= mid:
            path.append(_range_root(leaf_hashes, mid, hi))
            hi = mid
        else:
            path.append(_range_root(leaf_hashes, lo, mid))
            m -= mid - lo
            lo = mid
            whole_old_tree = False
    if not whole_old_tree:
        path.append(_range_root(leaf_hashes, lo, hi))
    path.reverse()
    return path


# --- verification (never raises on hostile input: a bad proof is just False) ----------


def _well_formed(*hashes: bytes) -> bool:
    return all(isinstance(h, bytes) and len(h) == HASH_SIZE for h in hashes)


def _strip_right_zeros(fn: int, sn: int) -> tuple[int, int]:
    """Shift fn and sn right together until fn's LSB is set or fn is 0."""
    while fn and not fn & 1:
        fn >>= 1
        sn >>= 1
    return fn, sn


def verify_inclusion(
    leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> bool:
    """RFC 9162 §2.1.3.2: does ``proof`` place ``leaf_hash`` at ``index`` under ``root``?"""
    if not 0 <= index < size or not _well_formed(leaf_hash, root, *proof):
        return False
    fn, sn = index, size - 1
    r = leaf_hash
    for p in proof:
        if sn == 0:
            return False  # proof longer than the path
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            fn, sn = _strip_right_zeros(fn, sn)
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> bool:
    """RFC 9162 §2.1.4.2: is the tree of ``old_size`` leaves a prefix of ``new_size``'s?"""
    if not 0 <= old_size <= new_size or not _well_formed(old_root, new_root, *proof):
        return False
    if old_size == new_size:
        return not proof and old_root == new_root
    if old_size == 0:  # everything extends the empty tree; nothing to prove
        return not proof and old_root == EMPTY_ROOT
    if not proof:
        return False
    path = list(proof)
    if old_size & (old_size - 1) == 0:  # old tree is a perfect subtree: its root is a node
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            fn, sn = _strip_right_zeros(fn, sn)
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == old_root and sr == new_root
