"""Writes to payments: benefit payments, set-wise for the rows sources send."""

from __future__ import annotations

from collections.abc import Iterable

import polars as pl

from spmis.core.bulk import upsert_sourced, withdraw_sourced
from spmis.payments.models import BenefitPayment


def payments_upsert_bulk(*, rows: pl.DataFrame, source_id: int, submission_id: int,
                         keep: Iterable[str] = ()) -> pl.DataFrame:
    """Insert or update a source's payments by their ``source_ref`` (person, scheme, period).
    Returns the rows with ``id`` and ``action``."""
    return upsert_sourced(BenefitPayment, rows, source_id=source_id,
                          submission_id=submission_id, keep=keep)


def payments_withdraw_bulk(*, submission_id: int, before: pl.DataFrame) -> dict[str, int]:
    """Undo a submission's writes to payments (see ``core.bulk.withdraw_sourced``)."""
    return withdraw_sourced(BenefitPayment, submission_id=submission_id, before=before)
