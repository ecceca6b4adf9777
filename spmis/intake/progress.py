"""Where a submission's background load stands (ADR 0012): the steps it has passed, kept on
the submission, and the one it is at, which this process also keeps in memory while the load's
transaction is open (nothing written inside it is visible before it commits, and on SQLite no
other connection may write until then).

A load is *stalled* when it says it is running but its runner is gone: not running in this
process, and either its process is dead (same host) or it has shown no sign of progress for
``STALL_AFTER``. A stalled or failed submission can be tried again (its file is kept until it
is loaded or refused).
"""

from __future__ import annotations

import copy
import datetime as dt
import os
import socket
import threading
import uuid
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext_lazy as _

from spmis.core import clock
from spmis.intake.models import Submission, SubmissionStatus

STALL_AFTER = dt.timedelta(minutes=10)
HOST = socket.gethostname()[:50]
# This process's runner: host, pid and a token (a pid can be reused by a later process).
WORKER = f"{HOST}:{os.getpid()}:{uuid.uuid4().hex[:8]}"

# The stages a load passes, in order, with what people read. "linking" is listed for the day a
# load triggers linkage; today linkage runs on its own (`spmis link`), so no load reaches it.
STAGES = {
    "received": _("Received"),
    "parsing": _("Reading the file"),
    "validating": _("Checking the rows"),
    "loading": _("Loading"),
    "linking": _("Linking records"),
    "loaded": _("Loaded"),
    "refused": _("Refused"),
    "failed": _("Failed"),
}
TABLES = {"households": _("households"), "persons": _("persons"),
          "enrolments": _("enrolments"), "payments": _("payments")}
FINAL_STAGES = frozenset({"loaded", "refused", "failed"})

_lock = threading.Lock()
_live: dict[int, list[dict[str, Any]]] = {}  # submission id -> its steps, while it runs here


def live_set(submission_id: int, steps: list[dict[str, Any]]) -> None:
    with _lock:
        _live[submission_id] = copy.deepcopy(steps)


def live_forget(submission_id: int) -> None:
    with _lock:
        _live.pop(submission_id, None)


def live_steps(submission_id: int) -> list[dict[str, Any]] | None:
    with _lock:
        steps = _live.get(submission_id)
        return copy.deepcopy(steps) if steps is not None else None


def is_stalled(submission: Submission, *, now: dt.datetime | None = None) -> bool:
    """Whether a QUEUED or RUNNING submission's runner is gone (see the module's docstring).
    A queued one is stalled when nothing took it for ``STALL_AFTER``."""
    if submission.status not in (SubmissionStatus.QUEUED, SubmissionStatus.RUNNING):
        return False
    if live_steps(submission.pk) is not None:
        return False
    if submission.status == SubmissionStatus.QUEUED:
        from spmis.intake.runner import runner_busy  # (the runner imports this module)

        if runner_busy():  # waiting its turn behind a long load
            return False
    if submission.status == SubmissionStatus.RUNNING and _process_gone(submission.worker):
        return True
    last = submission.heartbeat_at or submission.received_at
    return last < (now or clock.now()) - STALL_AFTER


def _process_gone(worker: str) -> bool:
    """A runner of this host whose process has ended (or is another process now)."""
    host, _sep, rest = worker.partition(":")
    pid = rest.partition(":")[0]
    if host != HOST or not pid.isdigit():
        return False
    if worker.rsplit(":", 1)[0] == WORKER.rsplit(":", 1)[0]:
        return worker != WORKER  # this process's pid with another token: an earlier process
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, someone else's
        return False
    return False


@dataclass(frozen=True)
class Step:
    """One step as the page shows it."""

    stage: str
    label: str
    table: str = ""
    done: int | None = None
    total: int | None = None
    current: bool = False


@dataclass(frozen=True)
class State:
    """A submission's progress: its status, the stage it is at, its steps in order, whether
    it is over (``final``), stalled, and the reason when it was refused or failed."""

    submission: Submission
    stage: str
    steps: list[Step]
    final: bool
    stalled: bool
    percent: int

    @property
    def now(self) -> Step | None:
        """The step it is at (the last)."""
        return self.steps[-1] if self.steps else None

    @property
    def reason(self) -> str:
        return self.submission.message if self.stage in ("refused", "failed") else ""

    def as_json(self) -> dict[str, Any]:
        s = self.submission
        return {
            "id": s.pk, "status": s.status, "stage": self.stage,
            "stage_label": str(STAGES.get(self.stage, self.stage)),
            "final": self.final, "stalled": self.stalled, "percent": self.percent,
            "reason": self.reason if self.final or self.stalled else "",
            "counts": {"rows_total": s.rows_total, "rows_loaded": s.rows_loaded,
                       "rows_rejected": s.rows_rejected},
            "steps": [{"stage": st.stage, "label": st.label, "table": st.table,
                       "done": st.done, "total": st.total} for st in self.steps],
        }


def submission_state(submission: Submission) -> State:
    """The progress of ``submission`` (already fetched within the reader's scope). A
    submission loaded by the command (synchronously) has no steps: it is shown as received
    then in its final stage."""
    raw = live_steps(submission.pk)
    if raw is None:
        raw = list(submission.steps or [])
    stage = _stage_of(submission, raw)
    if not raw:
        raw = [{"stage": "received"}]
    if stage in FINAL_STAGES and raw[-1].get("stage") != stage:
        raw = [*raw, {"stage": stage}]
    final = stage in FINAL_STAGES
    steps = [Step(stage=r["stage"], label=str(STAGES.get(r["stage"], r["stage"])),
                  table=str(TABLES.get(r.get("table", ""), r.get("table", ""))),
                  done=r.get("done"), total=r.get("total"),
                  current=not final and i == len(raw) - 1)
             for i, r in enumerate(raw)]
    return State(submission=submission, stage=stage, steps=steps, final=final,
                 stalled=not final and is_stalled(submission), percent=_percent(stage, raw))


def _stage_of(submission: Submission, raw: list[dict[str, Any]]) -> str:
    status = submission.status
    if status == SubmissionStatus.REFUSED:
        return "refused"
    if status == SubmissionStatus.FAILED:
        return "failed"
    if status in (SubmissionStatus.QUEUED, SubmissionStatus.RUNNING):
        return str(raw[-1].get("stage", "received")) if raw else "received"
    return "loaded"  # LOADED, PARTIAL, and later SUPERSEDED or WITHDRAWN


# How far along each stage is, for the bar (loading moves with the tables done).
_BAR = {"received": 5, "parsing": 10, "validating": 25, "loading": 35, "linking": 95}


def _percent(stage: str, raw: list[dict[str, Any]]) -> int:
    if stage in FINAL_STAGES:
        return 100
    if stage != "loading":
        return _BAR.get(stage, 0)
    tables = [r for r in raw if r.get("stage") == "loading"]
    done = sum(1 for r in tables if r.get("total") is not None and r.get("done") == r["total"])
    return _BAR["loading"] + round(55 * done / max(len(TABLES), 1))
