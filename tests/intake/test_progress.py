"""An upload is checked and loaded in the background; its page polls the load's state: every
stage in order, a refusal or failure with its reason, stalled loads found and tried again,
another district's submission not found, all audited. Real loads through the upload page and
the runner thread, on a committed database (the runner's connection sees only what commits)."""

from __future__ import annotations

import os
import socket
import subprocess
import time

import pytest
from click.testing import CliRunner
from django.core.files.uploadedfile import SimpleUploadedFile

from spmis.audit.models import AuditEvent
from spmis.intake import runner
from spmis.intake.models import Submission, SubmissionFile, SubmissionStatus
from spmis.intake.services import (
    submission_claim,
    submission_queue,
    submissions_recover,
)
from tests.helpers import logged_in
from tests.intake import helpers as ts
from tests.intake.helpers import MAY, good_file

pytestmark = pytest.mark.django_db(transaction=True)

ORDER = ["received", "parsing", "validating", "loading", "linking", "loaded", "refused",
         "failed"]


def upload(client, data: bytes, source="NGO_HOME", period="2026-05", name="list.csv"):
    return client.post("/intake/upload/", {
        "source": source, "period": period, "file": SimpleUploadedFile(name, data, "text/csv")})


def poll(client, url: str, seconds: float = 60) -> tuple[dict, list[str]]:
    """The state polled until the load is over or stalled; and each stage seen, in order."""
    seen: list[str] = []
    deadline = time.monotonic() + seconds
    client.raise_request_exception = False
    busy = 0
    while True:
        response = client.get(url)
        if response.status_code == 500:  # SQLite's shared in-memory test database has no
            busy += 1                    # busy timeout: a poll meeting the load's lock fails
            assert time.monotonic() < deadline, f"{busy} polls failed"
            time.sleep(0.05)
            continue
        assert response.status_code == 200, response.content[:300]
        state = response.json()
        if not seen or seen[-1] != state["stage"]:
            seen.append(state["stage"])
        if state["final"] or state["stalled"]:
            return state, seen
        assert time.monotonic() < deadline, f"still {state['stage']} after {seconds} s"
        time.sleep(0.02)


def idle(seconds: float = 30) -> None:
    """Wait until no runner thread of this process is loading (left from an upload)."""
    deadline = time.monotonic() + seconds
    while runner.runner_busy():
        assert time.monotonic() < deadline
        time.sleep(0.02)


def dead_worker() -> str:
    """The runner name a process of this host that has ended would have left."""
    done = subprocess.Popen(["true"])
    done.wait()
    return f"{socket.gethostname()[:50]}:{done.pid}:deadbeef"


@pytest.fixture
def collector(places, make_user):
    return make_user("DATA_COLLECTOR", area=places["home"].code)


def test_the_page_polls_each_stage_in_order_to_loaded(collector):
    client = logged_in(collector)
    response = upload(client, good_file())
    assert response.status_code == 303
    submission = Submission.objects.get()
    page = client.get(response["Location"]).content.decode()
    assert 'id="progress"' in page and "File received: it is being checked and loaded." in page
    state, seen = poll(client, f"/intake/submissions/{submission.pk}/state/")
    assert state["stage"] == "loaded" and state["status"] == "LOADED" and state["final"]
    assert state["percent"] == 100 and state["reason"] == ""
    assert state["counts"] == {"rows_total": 2, "rows_loaded": 2, "rows_rejected": 0}
    steps = [s["stage"] for s in state["steps"]]
    assert steps == ["received", "parsing", "validating"] + ["loading"] * 4 + ["loaded"]
    assert [(s["table"], s["done"], s["total"]) for s in state["steps"]
            if s["stage"] == "loading"] == [("households", 1, 1), ("persons", 2, 2),
                                            ("enrolments", 2, 2), ("payments", 2, 2)]
    assert state["steps"][2]["total"] == 2  # the file's rows, once read
    assert [ORDER.index(s) for s in seen] == sorted(ORDER.index(s) for s in seen)
    # The htmx panel: the outcome as a success message, and no more polling.
    panel = client.get(f"/intake/submissions/{submission.pk}/state/",
                       HTTP_HX_REQUEST="true").content.decode()
    assert 'data-stage="loaded"' in panel and "hx-trigger" not in panel
    assert 'class="message success"' in panel and "Submission received: loaded." in panel
    actions = list(AuditEvent.objects.filter(object_type="submission",
                                             object_id=str(submission.pk))
                   .exclude(action="submission.view").order_by("seq")
                   .values_list("action", "actor"))
    assert actions == [("submission.queue", collector.pk), ("submission.load", collector.pk)]
    assert not SubmissionFile.objects.exists()  # the kept file goes once loaded


def test_a_refused_file_ends_refused_with_its_reason_as_an_error(collector):
    client = logged_in(collector)
    response = upload(client, b"\x00\x01binary", name="list.csv")
    state, _ = poll(client, response["Location"] + "state/")
    assert state["stage"] == "refused" and state["status"] == "REFUSED" and state["final"]
    assert state["reason"] and state["reason"] == Submission.objects.get().message
    panel = client.get(response["Location"] + "state/", HTTP_HX_REQUEST="true").content.decode()
    assert 'class="message error" role="alert"' in panel
    assert "The submission was refused:" in panel and "hx-trigger" not in panel
    assert AuditEvent.objects.filter(action="submission.refuse", actor=collector).exists()


def test_another_districts_progress_is_not_found(places, collector, make_user, api_for):
    client = logged_in(collector)
    mine = upload(client, good_file())["Location"]
    poll(client, mine + "state/")
    theirs = submission_queue(actor=None, source_code="NGO_AWAY", period=MAY,
                              filename="list.csv", data=good_file()).submission
    for url in (f"/intake/submissions/{theirs.pk}/state/", "/intake/submissions/999999/state/"):
        assert client.get(url).status_code == 404
        assert client.get(url, HTTP_HX_REQUEST="true").status_code == 404
        assert api_for(collector).get("/api/v1" + url.removeprefix("/intake")).status_code == 404
    other = logged_in(make_user("DATA_COLLECTOR", area=places["away"].code, username="away"))
    assert other.get(mine + "state/").status_code == 404
    assert other.get(f"/intake/submissions/{theirs.pk}/state/").status_code == 200
    # Nor may anyone outside its source's scope try a load again.
    assert client.post(f"/intake/submissions/{theirs.pk}/", {"action": "retry"}
                       ).status_code == 404


def test_a_stalled_load_is_detected_and_tried_again(collector):
    """A load whose process died (RUNNING under a runner that is gone) says so on its page,
    with a button that loads it again from its kept file."""
    idle()
    queued = submission_queue(actor=collector, source_code="NGO_HOME", period=MAY,
                              filename="list.csv", data=good_file()).submission
    assert submission_claim(worker=dead_worker(), submission_id=queued.pk) is not None
    client = logged_in(collector)
    url = f"/intake/submissions/{queued.pk}/state/"
    state, _ = poll(client, url)
    assert state["stalled"] and not state["final"] and state["status"] == "RUNNING"
    panel = client.get(url, HTTP_HX_REQUEST="true").content.decode()
    assert 'class="message error" role="alert"' in panel and "hx-trigger" not in panel
    assert "Try the load again" in panel
    again = client.post(f"/intake/submissions/{queued.pk}/", {"action": "retry"})
    assert again.status_code == 303
    state, _ = poll(client, url)
    assert state["stage"] == "loaded" and state["status"] == "LOADED"
    assert Submission.objects.get(pk=queued.pk).attempts == 2
    retry = AuditEvent.objects.get(action="submission.retry")
    assert retry.actor == collector and retry.detail["was"] == "RUNNING"
    # A loaded submission is not tried again.
    assert client.post(f"/intake/submissions/{queued.pk}/", {"action": "retry"}
                       ).status_code == 400


def test_a_server_starting_takes_up_stalled_loads_and_fails_one_that_keeps_dying(collector):
    idle()
    first = submission_queue(actor=collector, source_code="NGO_HOME", period=MAY,
                             filename="a.csv", data=good_file()).submission
    killer = submission_queue(actor=collector, source_code="NGO_HOME", period=MAY,
                              filename="b.csv", data=ts.csv_bytes([ts.row(ref="B7")])
                              ).submission
    for s in (first, killer):
        assert submission_claim(worker=dead_worker(), submission_id=s.pk) is not None
    Submission.objects.filter(pk=killer.pk).update(attempts=3)  # its third process died too
    assert submissions_recover() == [first.pk]
    client = logged_in(collector)
    state, _ = poll(client, f"/intake/submissions/{killer.pk}/state/")
    assert state["stage"] == "failed" and state["status"] == "FAILED"
    assert "stopped 3 times" in state["reason"]
    assert AuditEvent.objects.filter(action="submission.fail").count() == 1
    runner.runner_kick()
    state, _ = poll(client, f"/intake/submissions/{first.pk}/state/")
    assert state["stage"] == "loaded"
    # The failed one can still be tried again by hand: its file is kept.
    assert SubmissionFile.objects.filter(submission=killer).exists()
    assert client.post(f"/intake/submissions/{killer.pk}/", {"action": "retry"}
                       ).status_code == 303
    state, _ = poll(client, f"/intake/submissions/{killer.pk}/state/")
    assert state["stage"] == "loaded" and state["status"] == "LOADED"


def test_the_command_loads_in_the_foreground_with_its_stages_and_retries(collector, tmp_path):
    from spmis.cli.main import cli

    path = tmp_path / "list.csv"
    path.write_bytes(good_file())
    done = CliRunner().invoke(cli, ["intake", "submit", "--source", "NGO_HOME", "--period",
                                    "2026-05", str(path)])
    assert done.exit_code == 0, done.output
    assert "parsing" in done.output and "loaded persons: 2 rows" in done.output
    assert Submission.objects.get().status == SubmissionStatus.LOADED
    idle()
    stuck = submission_queue(actor=collector, source_code="NGO_HOME", period=MAY,
                             filename="b.csv", data=ts.csv_bytes([ts.row(ref="B7")])
                             ).submission
    submission_claim(worker=dead_worker(), submission_id=stuck.pk)
    again = CliRunner().invoke(cli, ["intake", "retry", str(stuck.pk)])
    assert again.exit_code == 0, again.output
    assert "loaded persons: 1 rows" in again.output and "LOADED" in again.output
    assert Submission.objects.get(pk=stuck.pk).status == SubmissionStatus.LOADED


def test_a_push_answers_its_submission_and_its_state_url(collector, api_for):
    api = api_for(collector)
    pushed = api.post("/api/v1/submissions/", {
        "source": "NGO_HOME", "period": "2026-05",
        "file": SimpleUploadedFile("list.csv", good_file(), "text/csv")},
        format="multipart", HTTP_IDEMPOTENCY_KEY="k-progress")
    assert pushed.status_code == 201
    body = pushed.json()
    assert body["status"] == "LOADED"  # loaded before the answer, as before
    state = api.get(body["links"]["state"]).json()
    assert state["id"] == body["id"] and state["stage"] == "loaded" and state["final"]


def test_the_worker_name_is_this_process():
    from spmis.intake.progress import WORKER

    assert WORKER.split(":")[1] == str(os.getpid())
