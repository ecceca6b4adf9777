"""The outside auditor's verifier, run as they would: a subprocess with three files."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from spmis.audit.checkpoint import generate_key, sign_checkpoint
from spmis.audit.merkle import inclusion_proof, leaf_hash, root

ORIGIN = "spmis.example/audit"
ENTRIES = [f'{{"id":{i},"action":"person.view"}}' for i in range(37)]
LEAVES = [leaf_hash(e.encode()) for e in ENTRIES]
INDEX = 21
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Key, checkpoint and proof files as the log would publish them."""
    folder = tmp_path_factory.mktemp("auditor")
    pem, verifier = generate_key(ORIGIN)
    size = len(LEAVES)
    note = sign_checkpoint(origin=ORIGIN, size=size, root=root(LEAVES), key_name=ORIGIN,
                           private_pem=pem)  # fmt: skip
    proof = {
        "index": INDEX,
        "size": size,
        "leaf_hash": LEAVES[INDEX].hex(),
        "hashes": [h.hex() for h in inclusion_proof(LEAVES, INDEX, size)],
    }
    files = {"key": folder / "log.pub", "checkpoint": folder / "checkpoint", "proof": folder / "p"}
    files["key"].write_text(verifier + "\n")
    files["checkpoint"].write_text(note)
    files["proof"].write_text(json.dumps(proof))
    return files


def run(files: dict[str, Path], *extra: str) -> subprocess.CompletedProcess[str]:
    args = [sys.executable, "-m", "spmis.audit.verify_cli"]
    args += ["--key", str(files["key"]), "--checkpoint", str(files["checkpoint"])]
    args += ["--proof", str(files["proof"]), *extra]
    # No Django settings in the environment: the verifier must not need them.
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO)}
    return subprocess.run(args, capture_output=True, text=True, env=env, timeout=60, check=False)


def with_file(bundle: dict[str, Path], tmp_path: Path, name: str, text: str) -> dict[str, Path]:
    path = tmp_path / name
    path.write_text(text)
    return {**bundle, name: path}


def with_proof(bundle: dict[str, Path], tmp_path: Path, **changes: object) -> dict[str, Path]:
    proof = {**json.loads(bundle["proof"].read_text()), **changes}
    return with_file(bundle, tmp_path, "proof", json.dumps(proof))


def test_good_proof_passes(bundle):
    result = run(bundle, "--origin", ORIGIN)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("OK: entry 21 ") and result.stdout.count("\n") == 1


def test_entry_text_is_rehashed(bundle, tmp_path):
    good = with_proof(bundle, tmp_path, entry=ENTRIES[INDEX])
    assert run(good).returncode == 0
    bad = with_proof(bundle, tmp_path, entry=ENTRIES[INDEX].replace("view", "edit"))
    result = run(bad)
    assert result.returncode == 1 and result.stdout.startswith("FAIL: ")


def test_tampered_proof_hash_fails(bundle, tmp_path):
    hashes = json.loads(bundle["proof"].read_text())["hashes"]
    hashes[2] = ("0" if hashes[2][0] != "0" else "1") + hashes[2][1:]
    result = run(with_proof(bundle, tmp_path, hashes=hashes))
    assert result.returncode == 1
    assert "does not match the checkpoint root" in result.stdout


@pytest.mark.parametrize(
    "changes",
    [
        {"index": INDEX + 1},
        {"size": len(LEAVES) - 1},
        {"leaf_hash": LEAVES[INDEX + 1].hex()},
        {"hashes": []},
        {"index": True},
        {"leaf_hash": "zz"},
    ],
)
def test_wrong_claims_fail(bundle, tmp_path, changes):
    result = run(with_proof(bundle, tmp_path, **changes))
    assert result.returncode == 1 and result.stdout.startswith("FAIL: "), result.stdout


def test_tampered_checkpoint_fails(bundle, tmp_path):
    note = bundle["checkpoint"].read_text().replace(f"\n{len(LEAVES)}\n", "\n38\n")
    result = run(with_file(bundle, tmp_path, "checkpoint", note))
    assert result.returncode == 1 and "checkpoint rejected" in result.stdout


def test_wrong_key_fails(bundle, tmp_path):
    result = run(with_file(bundle, tmp_path, "key", generate_key(ORIGIN)[1]))
    assert result.returncode == 1 and "no signature" in result.stdout


def test_wrong_origin_and_missing_files_fail(bundle, tmp_path):
    assert run(bundle, "--origin", "other.example/log").returncode == 1
    result = run({**bundle, "proof": tmp_path / "missing.json"})
    assert result.returncode == 1 and "cannot read proof" in result.stdout
    assert run(with_file(bundle, tmp_path, "proof", "{not json")).returncode == 1


def test_the_verifier_does_not_load_django():
    code = (
        "import sys, spmis.audit.verify_cli; "
        "sys.exit(any(m.split('.')[0] == 'django' for m in sys.modules))"
    )
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO)}
    assert subprocess.run([sys.executable, "-c", code], env=env, timeout=60).returncode == 0
