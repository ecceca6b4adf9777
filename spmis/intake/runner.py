"""The background runner of the web server (ADR 0012): one thread that takes QUEUED
submissions in the order they came, loads each, and ends when none is left; an upload wakes it
(``runner_kick``). ``runner_start`` (the server starting) first queues again the loads a dead
process left stalled.

The state it works on is all in the database (the submission, its kept file, its steps), so
a load outlives nothing but its own attempt: whoever runs next (this thread after a restart,
``spmis intake retry``) takes it up again.
"""

from __future__ import annotations

import logging
import threading
import time

from django.db import connections

from spmis.intake import progress as live
from spmis.intake import services

log = logging.getLogger(__name__)
_lock = threading.Lock()
_wake = threading.Event()
_thread: threading.Thread | None = None


def runner_kick() -> None:
    """Make sure a runner thread is taking the queue (starts one if none runs)."""
    global _thread
    with _lock:
        _wake.set()
        if _thread is not None and _thread.is_alive():
            return
        _thread = threading.Thread(target=_drain, name="intake-loads", daemon=True)
        _thread.start()


def runner_start() -> list[int]:
    """At server start: queue again the stalled loads, then take the queue. Returns the ids
    queued again."""
    try:
        requeued = services.submissions_recover()
    except Exception:  # a recovery that fails must not stop the server; it is logged
        log.exception("Could not queue the stalled submissions again")
        requeued = []
    finally:
        # The serving threads open their own connections; this one is not kept open idle.
        # Not inside a transaction (a test's, a caller's): closing would break it.
        if not any(c.in_atomic_block for c in connections.all()):
            connections.close_all()
    runner_kick()
    return requeued


def runner_busy() -> bool:
    """Whether a runner thread is alive in this process (tests wait on it)."""
    with _lock:
        return _thread is not None and _thread.is_alive()


def _drain() -> None:
    global _thread
    try:
        while True:
            _wake.clear()
            while True:
                try:
                    claimed = services.submission_claim(worker=live.WORKER)
                    if claimed is None:
                        break
                    try:
                        services.submission_run(submission=claimed, worker=live.WORKER)
                    finally:
                        live.live_forget(claimed.pk)
                except Exception as exc:
                    if services.transient(exc):  # the database busy: take the queue again
                        time.sleep(0.2)
                        continue
                    # The database went away: the load stays RUNNING, found stalled later.
                    log.exception("The intake runner stopped a load")
                    break
            with _lock:
                if not _wake.is_set():
                    _thread = None
                    return
    finally:
        connections.close_all()
