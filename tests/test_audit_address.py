"""Audit entries written while serving a request record the client's address (as the server
saw it behind the trusted proxy); entries written before that, or outside a request, hash and
verify exactly as they did, through spmis, an outside RFC 6962 implementation and the
standalone verifier."""

from __future__ import annotations

import datetime as dt
import http.client
import json
import subprocess
import sys
import threading
from typing import Any

import pytest
from click.testing import CliRunner
from django.db import connection
from django.test import Client
from pymerkle import InmemoryTree  # type: ignore[import-untyped]
from waitress import wasyncore
from waitress.server import create_server

from spmis.audit.actions import AuditAction
from spmis.audit.models import AuditCheckpoint, AuditEvent
from spmis.audit.services import (
    audit_checkpoint,
    audit_record,
    audit_verify,
    client_address_context,
    entry_bytes,
)
from spmis.cli.main import cli, waitress_proxy_options

pytestmark = pytest.mark.django_db


def canonical_before_addresses(event: AuditEvent) -> bytes:
    """An entry's canonical form as spmis wrote it before it recorded client addresses."""
    at: dt.datetime = event.occurred_at
    return json.dumps(
        {"seq": event.seq, "at": at.isoformat(timespec="microseconds"),
         "actor": event.actor_username, "actor_id": event.actor_id, "action": event.action,
         "object_type": event.object_type, "object": event.object_id, "area": event.area_code,
         "purpose": event.purpose, "detail": event.detail},
        sort_keys=True, separators=(",", ":"), ensure_ascii=False,
    ).encode()


def failed_login(**meta: str) -> AuditEvent:
    Client(**meta).post("/login/", {"username": "nobody", "password": "wrong-password"})
    return AuditEvent.objects.filter(action="auth.login_failed").latest("seq")


def test_entries_outside_a_request_hash_as_before():
    event = audit_record(actor=None, action=AuditAction.AUDIT_SEARCH, detail={"n": "é"})
    assert event.client_address == ""
    assert entry_bytes(event) == canonical_before_addresses(event)
    assert b"address" not in entry_bytes(event)


def test_a_request_records_the_client_address_and_ignores_its_forwarded_for():
    event = failed_login(REMOTE_ADDR="203.0.113.7")
    assert event.client_address == "203.0.113.7"
    assert json.loads(entry_bytes(event))["address"] == "203.0.113.7"
    spoofed = failed_login(REMOTE_ADDR="198.51.100.9", HTTP_X_FORWARDED_FOR="10.1.2.3")
    assert spoofed.client_address == "198.51.100.9"
    ipv6 = failed_login(REMOTE_ADDR="2001:DB8:0:0::1")
    assert ipv6.client_address == "2001:db8::1"  # one spelling, whatever the server gave
    assert audit_record(actor=None, action=AuditAction.AUDIT_SEARCH).client_address == ""


def test_old_and_new_entries_verify_together_and_tampering_with_an_address_shows():
    for i in range(5):  # as written before addresses were recorded: the column is blank
        audit_record(actor=None, action=AuditAction.PERSON_VIEW, object_type="person",
                     object_id=i, detail={"n": i})
    audit_checkpoint(actor=None)
    with client_address_context("192.0.2.44"):
        for i in range(4):
            audit_record(actor=None, action=AuditAction.AUDIT_SEARCH, detail={"n": i})
    made = audit_checkpoint(actor=None)
    assert audit_verify().ok
    events = list(AuditEvent.objects.order_by("seq"))
    assert [e.client_address for e in events].count("192.0.2.44") == 4
    tree = InmemoryTree(algorithm="sha256")  # an outside RFC 6962 implementation
    for event in events[:made.size]:
        tree.append_entry(entry_bytes(event))
    assert tree.get_root().hex() == AuditCheckpoint.objects.get(pk=made.pk).root

    with connection.cursor() as cursor:
        cursor.execute("UPDATE audit_auditevent SET client_address = %s WHERE seq = %s",
                       ["192.0.2.45", events[7].seq])
    problems = audit_verify().problems
    assert problems[0].startswith(f"entry {events[7].seq} ") and "altered" in problems[0]


@pytest.mark.parametrize("seq", [1, 4])  # entries 0-2 without an address, 3-5 with one
def test_the_standalone_verifier_checks_entries_with_and_without_an_address(tmp_path, seq):
    for i in range(3):
        audit_record(actor=None, action=AuditAction.PERSON_VIEW, detail={"n": i})
    with client_address_context("192.0.2.44"):
        for i in range(3):
            audit_record(actor=None, action=AuditAction.PERSON_VIEW, detail={"n": i})
    audit_checkpoint(actor=None)
    done = CliRunner().invoke(cli, ["audit", "prove", "--entry", str(seq), "--out",
                                    str(tmp_path)])
    assert done.exit_code == 0, done.output
    proof = json.loads((tmp_path / "proof.json").read_text())
    assert ('"address":"192.0.2.44"' in proof["entry"]) == (seq >= 3)
    verify = [sys.executable, "-m", "spmis.audit.verify_cli", "--key", str(tmp_path / "key.txt"),
              "--checkpoint", str(tmp_path / "checkpoint.txt"),
              "--proof", str(tmp_path / "proof.json")]
    assert subprocess.run(verify, capture_output=True).returncode == 0
    proof["entry"] = proof["entry"].replace("192.0.2.44", "192.0.2.45") if seq >= 3 else \
        proof["entry"].replace('"area"', '"address":"192.0.2.45","area"')
    (tmp_path / "proof.json").write_text(json.dumps(proof))
    assert subprocess.run(verify, capture_output=True).returncode == 1


def _remote_addr_through_waitress(trusted_proxy: str | None, forwarded_for: str) -> str:
    """REMOTE_ADDR as the application sees it behind `spmis serve`'s waitress options."""
    seen: list[str] = []

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        seen.append(environ["REMOTE_ADDR"])
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    server = create_server(app, host="127.0.0.1", port=0,
                           **waitress_proxy_options(trusted_proxy))
    stop = threading.Event()

    def serve() -> None:  # server.run(), but one that can be told to stop before closing
        while not stop.is_set():
            wasyncore.loop(timeout=0.05, map=server._map, count=1)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        request = http.client.HTTPConnection("127.0.0.1", server.effective_port, timeout=10)
        request.request("GET", "/", headers={"X-Forwarded-For": forwarded_for,
                                             "X-Forwarded-Proto": "https"})
        assert request.getresponse().status == 200
        request.close()
    finally:
        stop.set()
        thread.join(timeout=10)
        server.close()
    return seen[0]


def test_forwarded_for_is_believed_from_the_trusted_proxy_only():
    assert _remote_addr_through_waitress("127.0.0.1", "203.0.113.7") == "203.0.113.7"
    assert _remote_addr_through_waitress("192.0.2.1", "203.0.113.7") == "127.0.0.1"
    assert _remote_addr_through_waitress(None, "203.0.113.7") == "127.0.0.1"
