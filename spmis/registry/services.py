"""Writes to the registry: persons and households, set-wise for the rows sources send."""

from __future__ import annotations

from collections.abc import Iterable

import polars as pl

from spmis.core.bulk import upsert_sourced
from spmis.registry.models import Household, Person


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
