"""Signed checkpoints: C2SP signed-note / tlog-checkpoint, checked against Go's note vector."""

from __future__ import annotations

import base64
import re

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from spmis.audit.checkpoint import (
    Checkpoint,
    CheckpointError,
    generate_key,
    parse_checkpoint,
    sign_checkpoint,
    sign_note,
    verify_checkpoint,
    verify_note,
)
from spmis.audit.merkle import leaf_hash

ORIGIN = "spmis.example/audit"
ROOT = leaf_hash(b"some root")
B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

# golang.org/x/mod/sumdb/note's documented example: an independent implementation.
GO_SEED = base64.b64decode("AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz")[1:]
GO_VERIFIER = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
GO_NOTE = (
    GO_TEXT + "\n\u2014 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1"
    "FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
)


@pytest.fixture(scope="module")
def key() -> tuple[bytes, str]:
    return generate_key(ORIGIN)


@pytest.fixture
def signed(key: tuple[bytes, str]) -> str:
    return sign_checkpoint(origin=ORIGIN, size=1234, root=ROOT, key_name=ORIGIN, private_pem=key[0])


def _pem(seed: bytes) -> bytes:
    return Ed25519PrivateKey.from_private_bytes(seed).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def test_note_signing_matches_the_go_reference_byte_for_byte():
    # Ed25519 is deterministic, so the same key and text must give Go's exact note.
    assert sign_note(GO_TEXT, key_name="PeterNeumann", private_pem=_pem(GO_SEED)) == GO_NOTE
    assert verify_note(GO_NOTE, GO_VERIFIER) == GO_TEXT


def test_generate_key_gives_pem_and_a_note_verifier_key(key):
    pem, verifier = key
    assert pem.startswith(b"-----BEGIN PRIVATE KEY-----")
    assert re.fullmatch(r"spmis\.example/audit\+[0-9a-f]{8}\+A[A-Za-z0-9+/]{43}", verifier)
    assert base64.b64decode(verifier.split("+", 2)[2])[0] == 0x01


def test_round_trip(key, signed):
    body, sig = signed.split("\n\n")
    assert body == f"{ORIGIN}\n1234\n{base64.b64encode(ROOT).decode()}"
    assert sig.startswith(f"\u2014 {ORIGIN} ") and sig.endswith("\n")
    checkpoint = verify_checkpoint(signed, key[1], origin=ORIGIN)
    assert (checkpoint.origin, checkpoint.size, checkpoint.root) == (ORIGIN, 1234, ROOT)
    assert parse_checkpoint(signed) == checkpoint
    assert isinstance(checkpoint, Checkpoint) and len(checkpoint.signatures) == 1
    assert len(checkpoint.signatures[0].signature) == 64


def test_every_flipped_body_character_fails(key, signed):
    body_length = signed.index("\n\n")
    for i in range(body_length):
        replacement = "0" if signed[i] != "0" else "1"
        tampered = signed[:i] + replacement + signed[i + 1 :]
        with pytest.raises(CheckpointError):
            verify_checkpoint(tampered, key[1])


def test_every_changed_signature_character_fails(key, signed):
    # Within the base64 alphabet, so it is the signature check (or canonical base64,
    # for the final character's spare bits) that must catch it, not the parser.
    start = signed.rindex(" ") + 1
    for i in range(start, len(signed) - 1):
        if signed[i] == "=":
            continue
        replacement = B64[(B64.index(signed[i]) + 1) % 64]
        tampered = signed[:i] + replacement + signed[i + 1 :]
        with pytest.raises(CheckpointError):
            verify_checkpoint(tampered, key[1])


def test_flipped_raw_bytes_fail(key, signed):
    raw = signed.encode()
    for i in range(len(raw)):
        tampered = bytearray(raw)
        tampered[i] ^= 0x01
        with pytest.raises((CheckpointError, UnicodeDecodeError)):
            verify_checkpoint(tampered.decode(), key[1])


def test_wrong_key_fails(signed):
    _, other = generate_key(ORIGIN)  # same name, different key
    with pytest.raises(CheckpointError, match="no signature"):
        verify_checkpoint(signed, other)
    with pytest.raises(CheckpointError, match="no signature"):
        verify_checkpoint(signed, GO_VERIFIER)


def test_forged_signature_under_the_right_key_hash_fails(key, signed):
    pem, _ = generate_key(ORIGIN)
    forged = sign_checkpoint(origin=ORIGIN, size=1234, root=ROOT, key_name=ORIGIN, private_pem=pem)
    # Keep the genuine key hash but substitute another key's signature bytes.
    genuine = base64.b64decode(signed.rsplit(" ", 1)[1])
    other = base64.b64decode(forged.rsplit(" ", 1)[1])
    spliced = signed.rsplit(" ", 1)[0] + " " + base64.b64encode(genuine[:4] + other[4:]).decode()
    with pytest.raises(CheckpointError, match="invalid signature"):
        verify_checkpoint(spliced + "\n", key[1])


def test_cosignatures_by_unknown_keys_are_ignored(key, signed):
    witness_pem, witness = generate_key("witness.example")
    witness_note = sign_note(signed.split("\n\n")[0] + "\n", key_name="witness.example",
                             private_pem=witness_pem)  # fmt: skip
    cosigned = signed + witness_note.split("\n\n")[1]
    assert verify_checkpoint(cosigned, key[1]).size == 1234
    assert verify_checkpoint(cosigned, witness).size == 1234
    assert len(parse_checkpoint(cosigned).signatures) == 2


def test_wrong_origin_fails(key, signed):
    with pytest.raises(CheckpointError, match="expected"):
        verify_checkpoint(signed, key[1], origin="other.example/log")


def test_extension_lines_are_signed_and_kept(key):
    body = f"{ORIGIN}\n7\n{base64.b64encode(ROOT).decode()}\nTimestamp: 1700000000\n"
    note = sign_note(body, key_name=ORIGIN, private_pem=key[0])
    assert verify_checkpoint(note, key[1]).extensions == ("Timestamp: 1700000000",)


@pytest.mark.parametrize(
    "body",
    [
        "\n7\nROOT\n",  # empty origin
        f"{ORIGIN}\n07\nROOT\n",  # leading zero
        f"{ORIGIN}\n-7\nROOT\n",
        f"{ORIGIN}\n18446744073709551616\nROOT\n",  # 2**64
        f"{ORIGIN}\n7\n{base64.b64encode(b'short').decode()}\n",
        f"{ORIGIN}\n7\n",
    ],
)
def test_malformed_bodies_are_rejected_even_when_signed(key, body):
    note = sign_note(body.replace("ROOT", base64.b64encode(ROOT).decode()), key_name=ORIGIN,
                     private_pem=key[0])  # fmt: skip
    with pytest.raises(CheckpointError):
        verify_checkpoint(note, key[1])


@pytest.mark.parametrize(
    "text",
    ["", "no signatures\n", "a\n\n\u2014 k\n", "a\n\nk AAAA\n", "a\n\n\u2014 k AAAA\n",
     "a\n\n\u2014 k AAAAAAAA\n\n", "a\x07\n\n\u2014 k AAAAAAAA\n"],
)  # fmt: skip
def test_malformed_notes_are_rejected(text):
    with pytest.raises(CheckpointError):
        parse_checkpoint(text)


@pytest.mark.parametrize(
    "verifier",
    [
        "",
        "name+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  # hash mismatch
        "PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "PeterNeumann+c74f20a3+Apc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "PeterNeumann+C74F20A3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
    ],
)
def test_malformed_verifier_keys_are_rejected(verifier):
    with pytest.raises(CheckpointError):
        verify_note(GO_NOTE, verifier)


def test_signing_rejects_bad_arguments(key):
    pem = key[0]
    with pytest.raises(CheckpointError):
        sign_checkpoint(origin="a\nb", size=1, root=ROOT, key_name=ORIGIN, private_pem=pem)
    with pytest.raises(CheckpointError):
        sign_checkpoint(origin=ORIGIN, size=-1, root=ROOT, key_name=ORIGIN, private_pem=pem)
    with pytest.raises(CheckpointError):
        sign_checkpoint(origin=ORIGIN, size=1, root=b"x", key_name=ORIGIN, private_pem=pem)
    with pytest.raises(CheckpointError):
        sign_checkpoint(origin=ORIGIN, size=1, root=ROOT, key_name="a b", private_pem=pem)
    with pytest.raises(CheckpointError):
        sign_checkpoint(origin=ORIGIN, size=1, root=ROOT, key_name=ORIGIN, private_pem=b"junk")


def test_verifier_keys_whose_base64_contains_a_plus():
    # "+" separates the fields, but base64 uses it too: only the first two "+" split.
    pem = _pem(bytes([8]) * 32)
    note = sign_checkpoint(origin=ORIGIN, size=1, root=ROOT, key_name="k", private_pem=pem)
    verifier = "k+55d9cee6+AROY9ixtGkV8UbpqS189vS9p/KkyFiGNyJl+QWvRfZPK"
    assert verify_checkpoint(note, verifier).size == 1
    # transparency-dev/formats' test key of the same shape parses too.
    with pytest.raises(CheckpointError, match="no signature"):
        verify_note(note, "TEST+7997405c+AQcC+FTVKf0jlTdHDY3rbevmnKxxPjigCXlVtGe6RIr6")
