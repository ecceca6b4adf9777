"""Benefits received. The payment workflow (cycles, payroll, reconciliation) builds on this."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from spmis.registry.models import SourcedModel


class BenefitPayment(SourcedModel):
    """One benefit paid to a person by a scheme for a period (the first day of its month).

    Amounts are integer minor units of ``currency`` (cents), never floats.
    """

    # Indexed by (person, period) below, which also serves lookups by person alone.
    person = models.ForeignKey(
        "registry.Person", on_delete=models.PROTECT, related_name="payments", db_index=False
    )
    scheme = models.ForeignKey("schemes.Scheme", on_delete=models.PROTECT, related_name="+")
    period = models.DateField(_("period"))
    amount_minor = models.BigIntegerField(_("amount (minor units)"))
    currency = models.CharField(_("currency"), max_length=3)
    paid_on = models.DateField(_("paid on"))

    class Meta:
        indexes = [
            models.Index(fields=["period", "scheme"]),
            models.Index(fields=["person", "period"]),
        ]
        constraints = [
            models.UniqueConstraint(fields=["source", "source_ref"],
                                    name="payment_ref_once_per_source"),
            models.CheckConstraint(
                condition=models.Q(amount_minor__gte=0), name="payment_amount_non_negative"
            ),
        ]
