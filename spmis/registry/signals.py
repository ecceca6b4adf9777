"""Signals the registry sends, so apps later in the data flow can keep their own rows right
without the registry knowing them."""

from __future__ import annotations

from django.dispatch import Signal

# Sent inside the transaction that deletes person records a withdrawn submission created,
# before the delete, with ``persons`` (a query of those records). A receiver removes its own
# rows that refer to them and returns {what: how many}, for the withdrawal's audit entry.
persons_withdrawing = Signal()
