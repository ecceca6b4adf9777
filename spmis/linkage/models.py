"""Linkage: versioned models, runs, scored pairs of person records and the identities they make.

Person records are never changed or deleted by linkage. An identity is derived, not stored as
truth: the connected components of the links that hold (same national ID, automatic links,
and pairs a reviewer confirmed), minus the pairs refused: those a reviewer decided "not a
match", and those cut to carry out such a decision (a ``Cut``). So any two records of one
identity are separated by deciding "not a match" on them, and reopening that decision
restores the identity exactly.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class LinkageModel(models.Model):
    """A trained Fellegi-Sunter model (splink settings with m, u and prior) and its
    thresholds: at or above ``upper`` a pair links by itself, between ``lower`` and ``upper``
    it goes to clerical review, below ``lower`` it is a non-match."""

    version = models.PositiveIntegerField(unique=True)
    spec = models.JSONField(help_text=_("the splink settings, with m, u and the prior"))
    upper = models.FloatField(default=0.95)
    lower = models.FloatField(default=0.5)
    records = models.PositiveIntegerField(help_text=_("records it was trained on"))
    trained_at = models.DateTimeField()
    trained_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                   null=True, blank=True, related_name="+")

    class Meta:
        ordering = ["-version"]

    def __str__(self) -> str:
        return f"linkage model v{self.version}"


class LinkageRun(models.Model):
    model = models.ForeignKey(LinkageModel, on_delete=models.PROTECT, related_name="runs")
    source = models.ForeignKey("intake.Source", on_delete=models.PROTECT, null=True,
                               blank=True, related_name="+")
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True,
                              blank=True, related_name="+")
    counts = models.JSONField(default=dict)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"linkage run {self.pk}"


class LinkState(models.TextChoices):
    AUTO = "AUTO", _("linked automatically")
    REVIEW = "REVIEW", _("waiting for clerical review")
    MATCH = "MATCH", _("a reviewer confirmed the match")
    NON_MATCH = "NON_MATCH", _("a reviewer said: not a match")
    UNSURE = "UNSURE", _("a reviewer was unsure")


# States whose pairs join identities.
JOINING = (LinkState.AUTO, LinkState.MATCH)


class Link(models.Model):
    """A scored pair of person records (``person_l`` has the lower id). A pair a reviewer
    decided without it ever being scored (two records joined only through others, or by a
    shared national ID) has no probability or weights."""

    person_l = models.ForeignKey("registry.Person", on_delete=models.PROTECT, related_name="+")
    person_r = models.ForeignKey("registry.Person", on_delete=models.PROTECT, related_name="+",
                                 db_index=False)
    run = models.ForeignKey(LinkageRun, on_delete=models.PROTECT, related_name="links")
    match_probability = models.FloatField(null=True, blank=True)
    match_weight = models.FloatField(null=True, blank=True)
    weights = models.JSONField(help_text=_("match weight of each comparison"))
    state = models.CharField(max_length=10, choices=LinkState.choices)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                   null=True, blank=True, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    reason = models.CharField(max_length=400, blank=True)
    # UNSURE changes no identity: the state the pair had before, whose joining (or refusing)
    # identities go on following.
    prior_state = models.CharField(max_length=10, choices=LinkState.choices, blank=True,
                                   db_default="")
    # Maker-checker: a decision waiting for an approver (SPMIS_LINKAGE_CHECKER).
    pending_state = models.CharField(max_length=10, choices=LinkState.choices, blank=True)
    pending_reason = models.CharField(max_length=400, blank=True)
    pending_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                   null=True, blank=True, related_name="+")
    request = models.ForeignKey("access.ApprovalRequest", on_delete=models.PROTECT, null=True,
                                blank=True, related_name="+")
    # The effect the maker was shown (a fingerprint): approved only while it still holds.
    pending_effect = models.CharField(max_length=32, blank=True, db_default="")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["person_l", "person_r"], name="link_pair_once"),
            models.CheckConstraint(condition=models.Q(person_l__lt=models.F("person_r")),
                                   name="link_lower_id_left"),
        ]
        indexes = [models.Index(fields=["state", "match_probability"])]

    def __str__(self) -> str:
        return f"link {self.person_l_id}-{self.person_r_id} {self.state}"


class CutKind(models.TextChoices):
    LINK = "LINK", _("a link")
    NATIONAL_ID = "NATIONAL_ID", _("a shared national ID")
    BOTH = "BOTH", _("a link and a shared national ID")


class Cut(models.Model):
    """Two records no longer joined because a reviewer's "not a match" on another pair of
    their identity needed it (the smallest set of joins between the two decided records): the
    link between them, or their shared national ID, no longer joins them. Reopening (or
    changing) that decision removes its cuts."""

    decision = models.ForeignKey(Link, on_delete=models.CASCADE, related_name="cuts")
    person_l = models.ForeignKey("registry.Person", on_delete=models.PROTECT, related_name="+")
    person_r = models.ForeignKey("registry.Person", on_delete=models.PROTECT, related_name="+",
                                 db_index=False)
    kind = models.CharField(max_length=12, choices=CutKind.choices)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["decision", "person_l", "person_r"],
                                    name="cut_pair_once_per_decision"),
            models.CheckConstraint(condition=models.Q(person_l__lt=models.F("person_r")),
                                   name="cut_lower_id_left"),
        ]

    def __str__(self) -> str:
        return f"cut {self.person_l_id}-{self.person_r_id} for link {self.decision_id}"


class PersonIdentity(models.Model):
    """Which identity a person record currently belongs to (the lowest record id in it)."""

    person = models.OneToOneField("registry.Person", on_delete=models.PROTECT, primary_key=True,
                                  related_name="identity")
    identity = models.BigIntegerField(db_index=True)
    run = models.ForeignKey(LinkageRun, on_delete=models.PROTECT, null=True, blank=True,
                            related_name="+")

    def __str__(self) -> str:
        return f"person {self.pk} in identity {self.identity}"


class FlagReason(models.TextChoices):
    DECEASED_PAID = "DECEASED_PAID", _("paid for a period after the date of death")
    DECEASED_ENROLLED = "DECEASED_ENROLLED", _("still enrolled after the date of death")
    DUPLICATE_ENROLMENT = "DUPLICATE_ENROLMENT", _("enrolled twice in one scheme")
    DOUBLE_DIPPING = "DOUBLE_DIPPING", _("enrolled in two incompatible schemes")
    INCOME_ABOVE_THRESHOLD = "INCOME_ABOVE_THRESHOLD", _("income above the scheme's threshold")


class FlagState(models.TextChoices):
    OPEN = "OPEN", _("open")
    CONFIRMED = "CONFIRMED", _("confirmed")
    DISMISSED = "DISMISSED", _("dismissed")


class VerificationFlag(models.Model):
    """A case an authoritative registry raised against a person record, to be verified by
    the office responsible for its area before the deadline."""

    person = models.ForeignKey("registry.Person", on_delete=models.PROTECT, related_name="+")
    scheme = models.ForeignKey("schemes.Scheme", on_delete=models.PROTECT, null=True,
                               blank=True, related_name="+")
    reason_code = models.CharField(max_length=24, choices=FlagReason.choices)
    registry = models.ForeignKey("intake.Source", on_delete=models.PROTECT, related_name="+",
                                 null=True, blank=True,
                                 help_text=_("none for the registry's own checks"))
    evidence = models.ForeignKey("registry.Person", on_delete=models.PROTECT, related_name="+",
                                 help_text=_("the other record: the registry's, or the "
                                             "person's other enrolment"))
    detail = models.JSONField(default=dict)
    raised_at = models.DateTimeField()
    due_on = models.DateField()
    state = models.CharField(max_length=10, choices=FlagState.choices, default=FlagState.OPEN)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                   null=True, blank=True, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=400, blank=True)
    # What the flag is about, with its person, reason and scheme its key: a date of death,
    # an income year, the other record. A decided flag is not raised again for the same fact.
    fact = models.CharField(max_length=64, blank=True, db_default="")

    class Meta:
        indexes = [models.Index(fields=["state", "reason_code"]),
                   models.Index(fields=["person", "reason_code"])]

    def __str__(self) -> str:
        return f"{self.reason_code} on person {self.person_id}"
