"""Signed checkpoints: C2SP tlog-checkpoint bodies in C2SP signed-note envelopes, Ed25519.

A checkpoint commits the log to a tree size and root hash. Using the public formats (not a
home-grown JSON blob) lets outside tooling, witnesses and auditors check it unchanged::

    spmis.example/audit
    1000000
    <base64 root hash>

    — spmis.example/audit <base64(4-byte key hash || 64-byte Ed25519 signature)>

Pure Python + ``cryptography``; no Django.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

__all__ = [
    "Checkpoint",
    "CheckpointError",
    "NoteSignature",
    "generate_key",
    "key_hash",
    "parse_checkpoint",
    "sign_checkpoint",
    "sign_note",
    "verifier_key_text",
    "verify_checkpoint",
    "verify_note",
]

ALG_ED25519 = 0x01
SIG_PREFIX = "\u2014 "  # em dash + space starts every signature line
MAX_SIGNATURES = 100  # the reference (Go) implementation's cap; bounds work on hostile input
_ROOT_SIZE = 32
_SIGNATURE_SIZE = 64
_MAX_SIZE = (1 << 64) - 1  # tree sizes are uint64 in the spec
_SIZE_RE = re.compile(r"0|[1-9][0-9]{0,19}")  # decimal, no sign, no leading zeros
_KEY_HASH_RE = re.compile(r"[0-9a-f]{8}")


class CheckpointError(ValueError):
    """A checkpoint or key is malformed, or its signature does not verify."""


@dataclass(frozen=True)
class NoteSignature:
    key_name: str
    key_hash: bytes  # 4 bytes: which key signed, so verifiers can skip unknown ones
    signature: bytes


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes
    signatures: tuple[NoteSignature, ...]
    extensions: tuple[str, ...] = ()  # optional extra body lines, kept but not interpreted


# --- encoding helpers -----------------------------------------------------------------


def _b64decode(text: str, what: str) -> bytes:
    """Strict, canonical base64: otherwise a flipped padding bit would go unnoticed."""
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise CheckpointError(f"{what} is not valid base64") from exc
    if base64.b64encode(raw).decode("ascii") != text:
        raise CheckpointError(f"{what} is not canonical base64")
    return raw


def _check_key_name(name: str) -> None:
    # Names appear in "name+hash+key" and in space-separated signature lines.
    if not name or "+" in name or any(ch.isspace() for ch in name) or not name.isprintable():
        raise CheckpointError(f"invalid key name {name!r}: must be non-empty, no spaces or '+'")


def _check_text(text: str) -> None:
    # signed-note: valid UTF-8 with no control characters other than newline.
    if any(ch != "\n" and (ord(ch) < 0x20 or ord(ch) == 0x7F) for ch in text):
        raise CheckpointError("note contains control characters")


def key_hash(key_name: str, public_key: bytes) -> bytes:
    """First 4 bytes of SHA-256(name || "\\n" || 0x01 || public key) (C2SP signed-note)."""
    material = key_name.encode() + b"\n" + bytes([ALG_ED25519]) + public_key
    return hashlib.sha256(material).digest()[:4]


def _raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def verifier_key_text(key_name: str, public_key: bytes) -> str:
    """The note "verifier key" string: ``<name>+<hex key hash>+<base64(0x01 || key)>``."""
    _check_key_name(key_name)
    encoded = base64.b64encode(bytes([ALG_ED25519]) + public_key).decode("ascii")
    return f"{key_name}+{key_hash(key_name, public_key).hex()}+{encoded}"


# --- keys -----------------------------------------------------------------------------


def generate_key(key_name: str = "spmis.example/audit") -> tuple[bytes, str]:
    """A new Ed25519 key: (PKCS#8 PEM private key, public verifier key text)."""
    private = Ed25519PrivateKey.generate()
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return pem, verifier_key_text(key_name, _raw_public(private.public_key()))


def _load_private(private_pem: bytes) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(private_pem, password=None)
    except (ValueError, TypeError) as exc:
        raise CheckpointError("private key is not an unencrypted PEM key") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise CheckpointError("private key is not an Ed25519 key")
    return key


@dataclass(frozen=True)
class _Verifier:
    name: str
    key_hash: bytes
    key: Ed25519PublicKey


def _parse_verifier_key(text: str) -> _Verifier:
    parts = text.strip().split("+", 2)  # the base64 key may itself contain "+"
    if len(parts) != 3 or not _KEY_HASH_RE.fullmatch(parts[1]):
        raise CheckpointError("verifier key must look like <name>+<8 hex digits>+<base64 key>")
    name, hash_hex, encoded = parts
    _check_key_name(name)
    raw = _b64decode(encoded, "verifier key")
    if len(raw) != 33 or raw[0] != ALG_ED25519:
        raise CheckpointError("verifier key is not an Ed25519 (0x01) key")
    if key_hash(name, raw[1:]) != bytes.fromhex(hash_hex):
        raise CheckpointError("verifier key hash does not match its name and key")
    return _Verifier(name, bytes.fromhex(hash_hex), Ed25519PublicKey.from_public_bytes(raw[1:]))


# --- body -----------------------------------------------------------------------------


def _body(origin: str, size: int, root: bytes) -> str:
    if not origin or "\n" in origin:
        raise CheckpointError("origin must be a non-empty single line")
    if not 0 <= size <= _MAX_SIZE:
        raise CheckpointError(f"tree size {size} is out of range")
    if len(root) != _ROOT_SIZE:
        raise CheckpointError(f"root hash must be {_ROOT_SIZE} bytes, got {len(root)}")
    body = f"{origin}\n{size}\n{base64.b64encode(root).decode('ascii')}\n"
    _check_text(body)
    return body


def _parse_body(body: str) -> tuple[str, int, bytes, tuple[str, ...]]:
    lines = body.split("\n")[:-1]  # body ends with "\n"
    if len(lines) < 3:
        raise CheckpointError("checkpoint body needs origin, size and root hash lines")
    origin, size_text, root_text, *extensions = lines
    if not origin:
        raise CheckpointError("checkpoint origin line is empty")
    if not _SIZE_RE.fullmatch(size_text) or int(size_text) > _MAX_SIZE:
        raise CheckpointError(f"checkpoint size {size_text!r} is not a canonical decimal")
    root = _b64decode(root_text, "checkpoint root hash")
    if len(root) != _ROOT_SIZE:
        raise CheckpointError(f"checkpoint root hash is {len(root)} bytes, not {_ROOT_SIZE}")
    if any(not line for line in extensions):
        raise CheckpointError("checkpoint extension lines must not be empty")
    return origin, int(size_text), root, tuple(extensions)


# --- signed notes (C2SP signed-note) --------------------------------------------------


def _split_note(text: str) -> tuple[str, list[str]]:
    """Split a signed note into (body including its final newline, signature lines)."""
    _check_text(text)
    cut = text.rfind("\n\n")  # signatures hold no blank line, so the last one splits
    if cut < 0 or not text.endswith("\n"):
        raise CheckpointError("note must be body, blank line, signature lines, newline")
    lines = text[cut + 2 : -1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise CheckpointError(f"note has more than {MAX_SIGNATURES} signatures")
    return text[: cut + 1], lines


def _parse_signature(line: str) -> NoteSignature:
    if not line.startswith(SIG_PREFIX):
        raise CheckpointError(f"malformed signature line {line!r}")
    fields = line[len(SIG_PREFIX) :].split(" ")
    if len(fields) != 2:
        raise CheckpointError(f"malformed signature line {line!r}")
    name, encoded = fields
    _check_key_name(name)
    raw = _b64decode(encoded, "signature")
    if len(raw) < 5:
        raise CheckpointError("signature is too short")
    return NoteSignature(name, raw[:4], raw[4:])


def sign_note(text: str, *, key_name: str, private_pem: bytes) -> str:
    """Wrap ``text`` (non-empty, newline-terminated) in a signed note with one signature."""
    _check_key_name(key_name)
    _check_text(text)
    if not text.endswith("\n") or "\n\n" in text:
        raise CheckpointError("note text must end in a newline and contain no blank line")
    private = _load_private(private_pem)
    khash = key_hash(key_name, _raw_public(private.public_key()))
    signature = base64.b64encode(khash + private.sign(text.encode())).decode("ascii")
    return f"{text}\n{SIG_PREFIX}{key_name} {signature}\n"


def verify_note(text: str, verifier_key: str) -> str:
    """Check ``text`` carries a valid signature by ``verifier_key``; return the signed text.

    Signatures by other keys are ignored (witnesses may cosign), but one claiming to be
    by this key and failing is an error, as is the absence of any signature by it.
    """
    verifier = _parse_verifier_key(verifier_key)
    body, sig_lines = _split_note(text)
    signatures = [_parse_signature(line) for line in sig_lines]
    ours = [s for s in signatures if (s.key_name, s.key_hash) == (verifier.name, verifier.key_hash)]
    if not ours:
        raise CheckpointError(f"note has no signature by key {verifier.name!r}")
    for sig in ours:
        try:
            if len(sig.signature) != _SIGNATURE_SIZE:
                raise InvalidSignature
            verifier.key.verify(sig.signature, body.encode())
        except InvalidSignature as exc:
            raise CheckpointError(f"invalid signature by key {verifier.name!r}") from exc
    return body


# --- checkpoints ----------------------------------------------------------------------


def parse_checkpoint(text: str) -> Checkpoint:
    """Parse a signed checkpoint without checking any signature."""
    body, sig_lines = _split_note(text)
    origin, size, root, extensions = _parse_body(body)
    signatures = tuple(_parse_signature(line) for line in sig_lines)
    return Checkpoint(origin, size, root, signatures, extensions)


def sign_checkpoint(
    *, origin: str, size: int, root: bytes, key_name: str, private_pem: bytes
) -> str:
    """A signed note for the checkpoint (origin, size, root), signed by one key."""
    return sign_note(_body(origin, size, root), key_name=key_name, private_pem=private_pem)


def verify_checkpoint(text: str, verifier_key: str, *, origin: str | None = None) -> Checkpoint:
    """Parse ``text`` and check it carries a valid signature by ``verifier_key``.

    Pass ``origin`` to also pin which log the checkpoint must come from.
    """
    verify_note(text, verifier_key)
    checkpoint = parse_checkpoint(text)
    if origin is not None and checkpoint.origin != origin:
        raise CheckpointError(f"checkpoint is for {checkpoint.origin!r}, expected {origin!r}")
    return checkpoint
