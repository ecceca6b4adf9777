"""`spmis linkage dedupe`: link any file of person records, without a database."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from spmis.linkage import engine, reading


def check_target(target: Path, source: Path, *, force: bool) -> None:
    """Refuse, before any work, a target that cannot be written or would be overwritten
    unasked (or would overwrite the input)."""
    folder = target.parent
    if not folder.is_dir():
        raise engine.LinkageError(f"The folder {folder} does not exist: create it first, or "
                                  "write the pairs elsewhere.")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise engine.LinkageError(f"Cannot write in the folder {folder}.")
    if target.is_dir():
        raise engine.LinkageError(f"{target} is a folder: name a file to write the pairs to.")
    if target.exists() and source.exists() and target.samefile(source):
        raise engine.LinkageError("The output is the input file: name another file.")
    if target.exists() and not force:
        raise engine.LinkageError(f"{target} exists: pass --force to overwrite it.")


def dedupe_csv(source: Path, target: Path, *, threshold: float = 0.5,
               date_order: str | None = None, force: bool = True,
               progress: engine.Progress | None = None,
               tell: Callable[[str], None] | None = None) -> int:
    """Read the file (:mod:`spmis.linkage.reading`), train on it, score its pairs and write
    ``id_l, id_r, match_probability`` of the pairs at or above ``threshold``; what reading
    decided and found goes to ``tell``. Returns how many pairs were written."""
    check_target(target, source, force=force)
    records = reading.read_records(source, date_order=date_order)
    for line in (*records.notes, *records.warnings):
        (tell or (lambda _: None))(line)
    prepared = engine.prepare(records.frame)
    model = engine.train(prepared, progress=progress)
    pairs = engine.score(prepared, model, threshold=threshold)
    try:
        pairs.select("id_l", "id_r", "match_probability").sort(
            "match_probability", descending=True).write_csv(target)
    except OSError as exc:
        raise engine.LinkageError(f"Cannot write {target}: {exc.strerror or exc}.") from None
    return pairs.height
