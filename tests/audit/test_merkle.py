"""RFC 6962 / 9162 Merkle hashing: published vectors, an independent recursive reference,
pymerkle, and property tests that every proof verifies and every tampering is caught."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pymerkle import InmemoryTree  # type: ignore[import-untyped]

from spmis.audit import merkle
from spmis.audit.merkle import (
    EMPTY_ROOT,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    root,
    verify_consistency,
    verify_inclusion,
)

# Certificate Transparency's reference leaves and the root for each tree size 0..8.
CT_ENTRIES = [
    bytes.fromhex(h)
    for h in ["", "00", "10", "2021", "3031", "40414243", "5051525354555657",
              "606162636465666768696a6b6c6d6e6f"]
]  # fmt: skip
CT_ROOTS = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
CT_LEAVES = [leaf_hash(e) for e in CT_ENTRIES]

# Leaves for the larger tests: distinct, deterministic.
LEAVES = [leaf_hash(i.to_bytes(4, "big")) for i in range(3 * (1 << 12) + 50)]


# --- an independent reference: RFC 6962 §2.1 transcribed literally, recursively -------


def ref_split(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def ref_mth(d: list[bytes]) -> bytes:
    if not d:
        return hashlib.sha256(b"").digest()
    if len(d) == 1:
        return d[0]
    k = ref_split(len(d))
    return hashlib.sha256(b"\x01" + ref_mth(d[:k]) + ref_mth(d[k:])).digest()


def ref_path(m: int, d: list[bytes]) -> list[bytes]:
    if len(d) == 1:
        return []
    k = ref_split(len(d))
    if m < k:
        return [*ref_path(m, d[:k]), ref_mth(d[k:])]
    return [*ref_path(m - k, d[k:]), ref_mth(d[:k])]


def ref_subproof(m: int, d: list[bytes], b: bool) -> list[bytes]:
    if m == len(d):
        return [] if b else [ref_mth(d)]
    k = ref_split(len(d))
    if m <= k:
        return [*ref_subproof(m, d[:k], b), ref_mth(d[k:])]
    return [*ref_subproof(m - k, d[k:], False), ref_mth(d[:k])]


# --- known values -----------------------------------------------------------------------


def test_empty_root_is_sha256_of_nothing():
    assert EMPTY_ROOT.hex() == CT_ROOTS[0]
    assert root([]) == EMPTY_ROOT


def test_hash_prefixes_are_rfc6962_domain_separation():
    assert leaf_hash(b"") == hashlib.sha256(b"\x00").digest()
    a, b = b"a" * 32, b"b" * 32
    assert node_hash(a, b) == hashlib.sha256(b"\x01" + a + b).digest()


@pytest.mark.parametrize("size", range(9))
def test_roots_match_the_certificate_transparency_vectors(size):
    assert root(CT_LEAVES[:size]).hex() == CT_ROOTS[size]


def test_inclusion_and_consistency_match_the_ct_vectors():
    def hexes(hashes: list[bytes]) -> list[str]:
        return [h.hex()[:8] for h in hashes]

    assert hexes(inclusion_proof(CT_LEAVES, 0, 8)) == ["96a296d2", "5f083f0a", "6b47aaf2"]
    assert hexes(inclusion_proof(CT_LEAVES, 5, 8)) == ["bc1a0643", "ca854ea1", "d37ee418"]
    assert hexes(consistency_proof(CT_LEAVES, 1, 8)) == ["96a296d2", "5f083f0a", "6b47aaf2"]
    assert hexes(consistency_proof(CT_LEAVES, 6, 8)) == ["0ebc5d34", "ca854ea1", "d37ee418"]
    assert hexes(consistency_proof(CT_LEAVES, 2, 5)) == ["5f083f0a", "bc1a0643"]


@pytest.mark.parametrize("n", range(1, 65))
def test_root_and_proofs_equal_the_recursive_rfc_definitions(n):
    d = LEAVES[:n]
    assert root(d) == ref_mth(d)
    assert all(inclusion_proof(d, i, n) == ref_path(i, d) for i in range(n))
    assert all(consistency_proof(d, m, n) == ref_subproof(m, d, True) for m in range(1, n))


@pytest.mark.parametrize("n", [4095, 4096, 4097, 8191, 8192, 8193, 3 * 4096 + 1, len(LEAVES)])
def test_roots_across_hashing_block_boundaries(n):
    assert root(LEAVES[:n]) == ref_mth(LEAVES[:n])


def test_root_streams_from_an_iterator():
    assert root(iter(LEAVES)) == root(LEAVES) == ref_mth(LEAVES)


# --- pymerkle: an outside implementation -----------------------------------------------


@pytest.mark.parametrize("n", range(65))
def test_roots_equal_pymerkle(n):
    tree = InmemoryTree(algorithm="sha256")  # security (0x00/0x01 prefixes) on by default
    entries = [i.to_bytes(2, "big") * (i % 5) for i in range(n)]  # includes empty entries
    for entry in entries:
        tree.append_entry(entry)
    assert root([leaf_hash(e) for e in entries]) == tree.get_root()


def test_pymerkle_is_configured_for_rfc6962_domain_separation():
    tree = InmemoryTree(algorithm="sha256")
    assert (tree.leaf_prefix, tree.node_prefix) == (b"\x00", b"\x01")
    # Without the prefixes it builds a different (second-preimage-prone) tree: the
    # comparison above would catch a misconfiguration.
    unsafe = InmemoryTree(algorithm="sha256", disable_security=True)
    for tr in (tree, unsafe):
        for entry in CT_ENTRIES:
            tr.append_entry(entry)
    assert tree.get_root().hex() == CT_ROOTS[8] != unsafe.get_root().hex()


# --- property tests ---------------------------------------------------------------------


def _flip(hashes: list[bytes], which: int, byte: int, mask: int) -> list[bytes]:
    tampered = bytearray(hashes[which])
    tampered[byte] ^= mask
    return [*hashes[:which], bytes(tampered), *hashes[which + 1 :]]


sizes = st.integers(min_value=1, max_value=600)
masks = st.integers(min_value=1, max_value=255)
bytes_at = st.integers(min_value=0, max_value=31)


@settings(max_examples=300, deadline=None)
@given(n=sizes, data=st.data())
def test_every_inclusion_proof_verifies_and_tampering_fails(n, data):
    index = data.draw(st.integers(0, n - 1), label="index")
    d, r = LEAVES[:n], root(LEAVES[:n])
    proof = inclusion_proof(d, index, n)
    assert verify_inclusion(d[index], index, n, proof, r)

    other = data.draw(st.integers(0, n + 3).filter(lambda i: i != index), label="wrong index")
    assert not verify_inclusion(d[index], other, n, proof, r)
    assert not verify_inclusion(d[index], index, n, proof, _flip([r], 0, 0, 1)[0])
    if proof:
        which = data.draw(st.integers(0, len(proof) - 1), label="which hash")
        bad = _flip(proof, which, data.draw(bytes_at), data.draw(masks))
        assert not verify_inclusion(d[index], index, n, bad, r)
        assert not verify_inclusion(d[index], index, n, proof[:-1], r)
    assert not verify_inclusion(d[index], index, n, [*proof, r], r)
    # (A wrong *size* can verify: the path for leaf 0 is the same in sizes 5..8. The size
    # is bound by the signed checkpoint that carries the root, not by the proof.)


@settings(max_examples=300, deadline=None)
@given(n=sizes, data=st.data())
def test_every_consistency_proof_verifies_and_tampering_fails(n, data):
    m = data.draw(st.integers(0, n), label="old size")
    old_root, new_root = root(LEAVES[:m]), root(LEAVES[:n])
    proof = consistency_proof(LEAVES, m, n)
    assert verify_consistency(m, n, old_root, new_root, proof)

    flipped_old, flipped_new = (_flip([h], 0, 31, 0x80)[0] for h in (old_root, new_root))
    assert not verify_consistency(m, n, flipped_old, new_root, proof)
    if m:  # every tree extends the empty one, so only then can the new root be wrong
        assert not verify_consistency(m, n, old_root, flipped_new, proof)
    if proof:
        which = data.draw(st.integers(0, len(proof) - 1), label="which hash")
        bad = _flip(proof, which, data.draw(bytes_at), data.draw(masks))
        assert not verify_consistency(m, n, old_root, new_root, bad)
        assert not verify_consistency(m, n, old_root, new_root, proof[1:])


@given(n=sizes, data=st.data())
def test_consistency_rejects_a_fork(n, data):
    """A log that rewrote any old entry cannot prove its new root extends the old one."""
    m = data.draw(st.integers(1, n), label="old size")
    changed = data.draw(st.integers(0, m - 1), label="rewritten entry")
    forked = [*LEAVES[:changed], leaf_hash(b"rewritten"), *LEAVES[changed + 1 : n]]
    proof = consistency_proof(forked, m, n)
    assert not verify_consistency(m, n, root(LEAVES[:m]), root(forked), proof)


# --- argument checking ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("index", "size"), [(-1, 4), (4, 4), (0, 0), (0, 9), (0, -1)]
)  # fmt: skip
def test_inclusion_proof_rejects_out_of_range_arguments(index, size):
    with pytest.raises(ValueError, match="out of range"):
        inclusion_proof(CT_LEAVES, index, size)


@pytest.mark.parametrize(("old", "new"), [(5, 4), (-1, 4), (0, 9), (9, 9)])
def test_consistency_proof_rejects_out_of_range_arguments(old, new):
    with pytest.raises(ValueError, match="out of range"):
        consistency_proof(CT_LEAVES, old, new)


def test_verifiers_reject_malformed_input_without_raising():
    r = root(CT_LEAVES)
    assert not verify_inclusion(CT_LEAVES[0], 0, 0, [], r)
    assert not verify_inclusion(CT_LEAVES[0], -1, 8, inclusion_proof(CT_LEAVES, 0, 8), r)
    assert not verify_inclusion(CT_LEAVES[0], 0, 8, [b"short"], r)
    assert not verify_consistency(8, 4, r, r, [])
    assert not verify_consistency(4, 8, root(CT_LEAVES[:4]), r, [])
    assert verify_consistency(8, 8, r, r, []) and not verify_consistency(8, 8, r, r, [r])
    assert verify_consistency(0, 8, EMPTY_ROOT, r, []) and not verify_consistency(0, 8, r, r, [])


def test_block_size_is_a_power_of_two():
    # root() relies on this: whole blocks must be perfect subtrees.
    assert merkle._BLOCK & (merkle._BLOCK - 1) == 0
