"""Where data comes from. Submissions, mappings and reporting rates build on ``Source``."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class SourceKind(models.TextChoices):
    MINISTRY = "MINISTRY", _("ministry")
    LOCAL_GOVERNMENT = "LOCAL_GOVERNMENT", _("local government")
    NGO = "NGO", _("NGO")
    SCHEME_MIS = "SCHEME_MIS", _("scheme MIS")
    AUTHORITATIVE_REGISTRY = "AUTHORITATIVE_REGISTRY", _("authoritative registry")


class Schedule(models.TextChoices):
    MONTHLY = "MONTHLY", _("monthly")
    QUARTERLY = "QUARTERLY", _("quarterly")
    ANNUAL = "ANNUAL", _("annual")


class LoadPolicy(models.TextChoices):
    REJECT = "REJECT", _("refuse the whole submission above the error threshold")
    QUARANTINE = "QUARANTINE", _("load valid rows, quarantine the rest")


class Source(models.Model):
    """A data provider: an institution and the system it sends records from."""

    code = models.CharField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=200)
    institution = models.CharField(_("institution"), max_length=200)
    kind = models.CharField(_("kind"), max_length=30, choices=SourceKind.choices)
    area = models.ForeignKey(
        "geography.Area", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    schemes = models.ManyToManyField("schemes.Scheme", blank=True, related_name="+")
    schedule = models.CharField(_("reporting schedule"), max_length=10,
                                choices=Schedule.choices, default=Schedule.MONTHLY)
    deadline_days = models.PositiveSmallIntegerField(
        _("deadline (days after the period ends)"), default=15)
    contact = models.CharField(_("contact"), max_length=200, blank=True)
    policy = models.CharField(_("policy for invalid rows"), max_length=12,
                              choices=LoadPolicy.choices, default=LoadPolicy.QUARANTINE)
    error_threshold = models.PositiveSmallIntegerField(
        _("refuse above this % of invalid rows"), default=10)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.code


class Mapping(models.Model):
    """A version of a source's mapping (YAML or JSON text), validated when saved."""

    source = models.ForeignKey(Source, on_delete=models.PROTECT, related_name="mappings")
    version = models.PositiveIntegerField(_("version"))
    text = models.TextField(_("mapping"))
    created_at = models.DateTimeField(_("created at"))
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                   null=True, blank=True, related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["source", "version"],
                                               name="mapping_version_once")]

    def __str__(self) -> str:
        return f"{self.source_id} mapping v{self.version}"


class SubmissionStatus(models.TextChoices):
    LOADED = "LOADED", _("loaded")
    PARTIAL = "PARTIAL", _("loaded, invalid rows quarantined")
    REFUSED = "REFUSED", _("refused")
    SUPERSEDED = "SUPERSEDED", _("superseded by a correction")
    WITHDRAWN = "WITHDRAWN", _("withdrawn: what it wrote was undone")
    # A file taken in through the upload page is checked and loaded in the background (ADR 0012):
    QUEUED = "QUEUED", _("received, waiting to be loaded")
    RUNNING = "RUNNING", _("being checked and loaded")
    FAILED = "FAILED", _("stopped by an error: nothing was loaded, it can be tried again")


# Statuses of a submission whose file is not (yet) accepted: no rows of it are in the registry.
PENDING_STATUSES = (SubmissionStatus.QUEUED, SubmissionStatus.RUNNING, SubmissionStatus.FAILED)


class Submission(models.Model):
    """One file (or push) from a source for a period: what arrived, and what became of it."""

    source = models.ForeignKey(Source, on_delete=models.PROTECT, related_name="submissions")
    period = models.DateField(_("period"))
    status = models.CharField(_("status"), max_length=12, choices=SubmissionStatus.choices)
    content_hash = models.CharField(_("SHA-256 of the content"), max_length=64)
    filename = models.CharField(_("file name"), max_length=255)
    file_format = models.CharField(_("format"), max_length=10)
    mapping = models.ForeignKey(Mapping, on_delete=models.PROTECT, null=True, blank=True,
                                related_name="+")
    rows_total = models.PositiveIntegerField(_("rows"), default=0)
    rows_loaded = models.PositiveIntegerField(_("rows loaded"), default=0)
    rows_rejected = models.PositiveIntegerField(_("rows rejected"), default=0)
    message = models.TextField(_("message"), blank=True)
    supersedes = models.ForeignKey("self", on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="superseded_by")
    received_at = models.DateTimeField(_("received at"))
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                   null=True, blank=True, related_name="+")
    # Withdrawal (maker-checker): asked with a reason, done when a checker approves.
    withdraw_request = models.ForeignKey("access.ApprovalRequest", on_delete=models.PROTECT,
                                         null=True, blank=True, related_name="+")
    withdraw_reason = models.CharField(_("reason for withdrawal"), max_length=400, blank=True)
    withdrawn_at = models.DateTimeField(_("withdrawn at"), null=True, blank=True)
    # Progress of a background load (ADR 0012): the stage it is at, the steps so far (each a
    # dict with "stage", "at" and, while loading a table, "table", "done", "total"), who runs
    # it (host:pid:token) and when it last said so; a RUNNING load whose runner is gone is
    # stalled and can be tried again.
    stage = models.CharField(_("stage"), max_length=20, blank=True)
    steps = models.JSONField(_("steps"), default=list, blank=True)
    worker = models.CharField(_("loaded by"), max_length=100, blank=True)
    heartbeat_at = models.DateTimeField(_("last sign of progress"), null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)

    class Meta:
        indexes = [models.Index(fields=["source", "period"]),
                   models.Index(fields=["content_hash"])]

    def __str__(self) -> str:
        return f"submission {self.pk} {self.source_id} {self.period:%Y-%m}"


class SubmissionFile(models.Model):
    """The bytes of a file waiting for its background load, kept until it is loaded or
    refused (so a load stopped by a dead process can run again), then deleted."""

    submission = models.OneToOneField(Submission, on_delete=models.CASCADE,
                                      related_name="file", primary_key=True)
    data = models.BinaryField(_("content"))

    def __str__(self) -> str:
        return f"file of submission {self.submission_id}"


class ChangedRow(models.Model):
    """A row a submission changed, as it was before (what withdrawing the submission restores;
    rows it created are known by their lineage)."""

    submission = models.ForeignKey(Submission, on_delete=models.CASCADE, related_name="+",
                                   db_index=False)
    table = models.CharField(_("table"), max_length=63)
    row_id = models.BigIntegerField(_("row id"))
    before = models.TextField(_("values before, as JSON"))

    class Meta:
        indexes = [models.Index(fields=["submission", "table"])]

    def __str__(self) -> str:
        return f"{self.table} {self.row_id} before submission {self.submission_id}"


class SubmissionIssue(models.Model):
    """One problem with one cell or row of a submission (the downloadable error report)."""

    submission = models.ForeignKey(Submission, on_delete=models.CASCADE, related_name="issues")
    row = models.PositiveIntegerField(_("row"))
    column = models.CharField(_("column"), max_length=200)
    value = models.TextField(_("value"), blank=True)
    rule = models.CharField(_("rule"), max_length=40)
    message = models.CharField(_("message"), max_length=400)

    class Meta:
        indexes = [models.Index(fields=["submission", "row"])]

    def __str__(self) -> str:
        return f"row {self.row} {self.column}: {self.rule}"


class ApprovalState(models.TextChoices):
    PENDING = "PENDING", _("waiting for approval")
    APPROVED = "APPROVED", _("approved by the district")
    ACCEPTED = "ACCEPTED", _("accepted by the region")
    UNAPPROVED = "UNAPPROVED", _("un-approved")


class PeriodApproval(models.Model):
    """An area's data for a period, approved up the hierarchy. While APPROVED or ACCEPTED, no
    source in the area may submit for the period (DHIS2-style data approval)."""

    area = models.ForeignKey("geography.Area", on_delete=models.PROTECT, related_name="+")
    period = models.DateField(_("period"))
    state = models.CharField(_("state"), max_length=10, choices=ApprovalState.choices)
    request = models.ForeignKey("access.ApprovalRequest", on_delete=models.PROTECT,
                                null=True, blank=True, related_name="+")
    reason = models.CharField(_("reason for un-approving"), max_length=300, blank=True)
    updated_at = models.DateTimeField(_("updated at"))

    class Meta:
        constraints = [models.UniqueConstraint(fields=["area", "period"],
                                               name="one_approval_per_area_period")]

    def __str__(self) -> str:
        return f"{self.area_id} {self.period:%Y-%m} {self.state}"


class ValueType(models.TextChoices):
    INTEGER = "INTEGER", _("whole number")
    MONEY = "MONEY", _("money (minor units)")


class DataElement(models.Model):
    """One figure an institution without individual data reports (DHIS2-style aggregate
    return), broken down by the categories in ``disaggregation`` (e.g. ``["SEX"]``)."""

    code = models.CharField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    value_type = models.CharField(_("value type"), max_length=10, choices=ValueType.choices,
                                  default=ValueType.INTEGER)
    disaggregation = models.JSONField(_("disaggregation (category codes)"), default=list,
                                      blank=True)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.code


class AggregateValue(models.Model):
    """One reported figure: a source's value of an element for an area, month and category
    option combination (``"SEX=F"``; ``""`` for the total)."""

    source = models.ForeignKey(Source, on_delete=models.PROTECT, related_name="aggregates")
    area = models.ForeignKey("geography.Area", on_delete=models.PROTECT, related_name="+")
    period = models.DateField(_("period"))
    element = models.ForeignKey(DataElement, on_delete=models.PROTECT, related_name="values")
    category_option_combo = models.CharField(_("category option combination"), max_length=200,
                                             blank=True, default="")
    value = models.BigIntegerField(_("value"))
    submission = models.ForeignKey(Submission, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="aggregate_values")
    entered_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                   null=True, blank=True, related_name="+")
    entered_at = models.DateTimeField(_("entered at"))

    class Meta:
        constraints = [models.UniqueConstraint(
            fields=["source", "area", "period", "element", "category_option_combo"],
            name="one_aggregate_value")]
        indexes = [models.Index(fields=["element", "area", "category_option_combo", "period"])]

    def __str__(self) -> str:
        combo = self.category_option_combo or "total"
        return f"{self.element_id} {self.area_id} {self.period:%Y-%m} {combo}={self.value}"
