"""The tamper-evident audit log: checkpoints, verification against tampering, proofs."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from click.testing import CliRunner
from django.db import connection

from spmis.audit.actions import AuditAction
from spmis.audit.models import AuditCheckpoint, AuditEvent, AuditLogHead
from spmis.audit.services import (
    audit_checkpoint,
    audit_record,
    audit_verify,
    entry_bytes,
    object_ref,
)
from spmis.cli.main import cli
from spmis.registry.selectors import person_get_for_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def log(db):
    for i in range(40):
        audit_record(actor=None, action=AuditAction.PERSON_VIEW, object_type="person", object_id=i,
                     area_code="XY01", detail={"n": i, "note": "é"})
    audit_checkpoint(actor=None)
    for i in range(7):
        audit_record(actor=None, action=AuditAction.AUDIT_SEARCH, detail={"n": i})
    audit_checkpoint(actor=None)
    assert audit_verify().ok
    return AuditEvent.objects.count()


def raw(sql, params=()):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def first_problem() -> str:
    result = audit_verify()
    assert not result.ok
    return result.problems[0]


def test_untouched_log_verifies_through_the_cli(log):
    result = CliRunner().invoke(cli, ["audit", "verify"])
    assert result.exit_code == 0, result.output
    assert f"OK: {log} entries, 2 checkpoints" in result.output


def test_flipped_byte_is_detected_and_named(log):
    event = AuditEvent.objects.get(seq=12)
    raw("UPDATE audit_auditevent SET action = %s WHERE id = %s", ["test.evenu", event.id])
    assert first_problem().startswith(f"entry 12 (id {event.id}) was altered")
    result = CliRunner().invoke(cli, ["audit", "verify"])
    assert result.exit_code == 1 and "entry 12" in result.output


def test_edit_that_also_rewrites_the_leaf_hash_breaks_the_signed_root(log):
    event = AuditEvent.objects.get(seq=5)
    event.purpose = "covering tracks"
    from spmis.audit import merkle

    forged = merkle.leaf_hash(entry_bytes(event)).hex()
    raw("UPDATE audit_auditevent SET purpose = %s, leaf_hash = %s WHERE id = %s",
        ["covering tracks", forged, event.id])
    problems = audit_verify().problems
    assert any("does not match the log" in p for p in problems)


def test_deleted_entry_is_detected_and_named(log):
    raw("DELETE FROM audit_auditevent WHERE seq = 20")
    assert first_problem() == "entries 20..20 are missing (deleted) before id " \
        f"{AuditEvent.objects.get(seq=21).id}"


def test_inserted_entry_is_detected(log):
    copy = AuditEvent.objects.get(seq=30)
    raw("INSERT INTO audit_auditevent (seq, leaf_hash, occurred_at, actor_username, action, "
        "object_type, object_id, area_code, purpose, detail) "
        "SELECT seq + 1000000, leaf_hash, occurred_at, actor_username, action, object_type, "
        "object_id, area_code, purpose, detail FROM audit_auditevent WHERE id = %s", [copy.id])
    assert "missing" in first_problem() or "inserted" in first_problem()


def test_reordered_entries_are_detected(log):
    a, b = AuditEvent.objects.get(seq=3), AuditEvent.objects.get(seq=4)
    raw("UPDATE audit_auditevent SET seq = -1 WHERE id = %s", [a.id])
    raw("UPDATE audit_auditevent SET seq = 3 WHERE id = %s", [b.id])
    raw("UPDATE audit_auditevent SET seq = 4 WHERE id = %s", [a.id])
    assert first_problem().startswith("entry 4") or first_problem().startswith("entry 3")


def test_forged_checkpoint_signature_is_detected(log):
    made = AuditCheckpoint.objects.order_by("id").first()
    note = made.note.replace("\n— ", "\n— x", 1)
    raw("UPDATE audit_auditcheckpoint SET note = %s WHERE id = %s", [note, made.id])
    assert any("bad signature" in p for p in audit_verify().problems)


def test_head_tracks_the_log(log):
    head = AuditLogHead.objects.get(pk=1)
    assert head.size == AuditEvent.objects.count() == log
    assert list(AuditEvent.objects.order_by("seq").values_list("seq", flat=True)) == \
        list(range(log))


def test_inclusion_proof_checks_with_only_key_checkpoint_and_proof(log, tmp_path):
    result = CliRunner().invoke(cli, ["audit", "prove", "--entry", "17", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    proof = json.loads((tmp_path / "proof.json").read_text())
    assert proof["index"] == 17 and proof["size"] >= 48
    verify = [sys.executable, "-m", "spmis.audit.verify_cli", "--key", str(tmp_path / "key.txt"),
              "--checkpoint", str(tmp_path / "checkpoint.txt"),
              "--proof", str(tmp_path / "proof.json")]
    assert subprocess.run(verify, capture_output=True).returncode == 0
    proof["entry"] = proof["entry"].replace("person.view", "person.viex")
    (tmp_path / "proof.json").write_text(json.dumps(proof))
    assert subprocess.run(verify, capture_output=True).returncode == 1


def test_person_ids_are_stored_as_keyed_hashes(country, make_user, api_for):
    user = make_user("AUDITOR")
    person_get_for_user(user=user, person_id=7)
    event = AuditEvent.objects.filter(action="person.view").latest("seq")
    assert event.object_id == object_ref("person", 7) != "7"
    found = api_for(user).get("/api/v1/audit/", {"object_type": "person", "object_id": "7",
                                                 "action": "person.view"}).json()
    assert [e["seq"] for e in found["results"]] == [event.seq]


def test_refused_reads_and_forged_tokens_are_logged(country, make_user, api_for):
    from rest_framework.test import APIClient

    user = make_user("REGISTRAR", area="XY0101")
    api = api_for(user)  # issuing the token is audited too: before counting
    before = AuditEvent.objects.count()
    assert api.get("/api/v1/persons/99999999/").status_code == 404
    refused = AuditEvent.objects.filter(action="person.view_refused").latest("seq")
    assert refused.detail == {"exists": False} and refused.actor == user
    forged = APIClient()
    forged.credentials(HTTP_AUTHORIZATION="Token " + "f" * 40)
    assert forged.get("/api/v1/persons/").status_code == 401
    assert AuditEvent.objects.filter(action="auth.token_refused").exists()
    assert AuditEvent.objects.count() == before + 2  # nothing else was written


def test_audit_search_is_for_auditors_only(country, make_user, api_for):
    assert api_for(make_user("REGISTRAR")).get("/api/v1/audit/").status_code == 403
    auditor = make_user("AUDITOR", username="aud")
    body = api_for(auditor).get("/api/v1/audit/", {"action": "role.assign"}).json()
    assert body["count"] == AuditEvent.objects.filter(action="role.assign").count()


def test_auditor_searches_the_log_in_the_web_app(country, make_user):
    from tests.helpers import logged_in

    auditor = logged_in(make_user("AUDITOR", username="aud"))
    page = auditor.get("/audit/", {"action": "role.assign"}).content.decode()
    count = AuditEvent.objects.filter(action="role.assign").count()
    assert f"{count} entr" in page and "role.assign" in page
    registrar = logged_in(make_user("REGISTRAR", username="reg"))
    assert registrar.get("/audit/").status_code == 403
    assert AuditEvent.objects.filter(action="access.denied", actor__username="reg").exists()


def test_periodic_checkpoints_can_be_turned_off():
    from spmis.audit.services import audit_checkpoint_every

    assert audit_checkpoint_every(minutes=0) is None


def test_one_deleted_entry_is_one_problem_not_a_cascade(log):
    raw("DELETE FROM audit_auditevent WHERE seq = 10")
    entry_problems = [p for p in audit_verify().problems if p.startswith("entr")]
    assert entry_problems == [entry_problems[0]] and "10..10" in entry_problems[0]


def test_a_lost_signing_key_is_not_silently_replaced(log, settings, tmp_path):
    from spmis.core.errors import Conflict

    settings.SPMIS_AUDIT_KEY_FILE = str(tmp_path / "gone.pem")
    with pytest.raises(Conflict):
        audit_checkpoint(actor=None)


def test_the_pager_keeps_a_filter_with_an_ampersand_whole(country, make_user):
    from tests.helpers import logged_in

    for i in range(60):  # more than a page of entries of an odd object type
        audit_record(actor=None, action=AuditAction.AUDIT_SEARCH, object_type="x&page=9",
                     detail={"n": i})
    auditor = logged_in(make_user("AUDITOR", username="aud"))
    page = auditor.get("/audit/", {"object_type": "x&page=9"}).content.decode()
    assert 'rel="next"' in page
    assert "?object_type=x%26page%3D9&page=2" in page  # one filter value, then the page
