"""Writes to the registry: persons and households, set-wise for the rows sources send."""

from __future__ import annotations

from collections.abc import Iterable

import polars as pl

from spmis.core.bulk import upsert_sourced, withdraw_sourced
from spmis.registry.models import Household, Person
from spmis.registry.signals import persons_withdrawing


def households_upsert_bulk(*, rows: pl.DataFrame, source_id: int, submission_id: int,
                           keep: Iterable[str] = ()) -> pl.DataFrame:
    """Insert or update a source's households by their ``source_ref`` (columns: source_ref,
    area_id, address, registered_on). Returns the rows with ``id`` and ``action``."""
    return upsert_sourced(Household, rows, source_id=source_id, submission_id=submission_id,
                          keep=keep)


def persons_upsert_bulk(*, rows: pl.DataFrame, source_id: int, submission_id: int,
                        keep: Iterable[str] = ()) -> pl.DataFrame:
    """Insert or update a source's person records by their ``source_ref``. Returns the rows
    with ``id`` and ``action`` ("inserted", "updated", "unchanged")."""
    return upsert_sourced(Person, rows, source_id=source_id, submission_id=submission_id,
                          keep=keep)


def households_withdraw_bulk(*, submission_id: int, before: pl.DataFrame) -> dict[str, int]:
    """Undo a submission's writes to households (see ``core.bulk.withdraw_sourced``)."""
    return withdraw_sourced(Household, submission_id=submission_id, before=before)


def persons_withdraw_bulk(*, submission_id: int, before: pl.DataFrame) -> dict[str, int]:
    """Undo a submission's writes to person records. Apps holding rows about the records it
    created (linkage) remove theirs first; their counts are returned with ours."""
    created = Person.objects.filter(created_by_submission_id=submission_id)
    counts: dict[str, int] = {}
    if created.exists():
        for _receiver, removed in persons_withdrawing.send(sender=Person, persons=created):
            if isinstance(removed, dict):
                counts.update(removed)
    return {**withdraw_sourced(Person, submission_id=submission_id, before=before), **counts}
