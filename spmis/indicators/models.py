"""Indicator runs and their values: every figure knows the run (period, inputs, time) it
came from, so a published number can be traced back to submissions and the linkage model."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class IndicatorRun(models.Model):
    period = models.DateField(_("period (first day of the month)"))
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True,
                              blank=True, related_name="+")
    lineage = models.JSONField(default=dict, help_text=_(
        "inputs: submissions, linkage model and run, population year"))
    counts = models.JSONField(default=dict)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"indicator run {self.pk} ({self.period:%Y-%m})"


class IndicatorValue(models.Model):
    """One cell: an indicator for an area (any level) x sex x age band x disability x scheme."""

    run = models.ForeignKey(IndicatorRun, on_delete=models.CASCADE, related_name="values")
    indicator = models.CharField(max_length=40)
    area_code = models.CharField(max_length=40)  # the country's code for the national total
    area_level = models.PositiveSmallIntegerField()
    sex = models.CharField(max_length=2)  # M, F or _T (total)
    age_band = models.CharField(max_length=10)  # e.g. 0-17, 65+, or _T
    disability = models.CharField(max_length=10)  # SEVERE, NOT_SEVERE or _T
    scheme = models.CharField(max_length=40, default="_T")  # a scheme's code, or _T (any)
    # Null when it cannot be counted (a share above a benchmark that is not loaded).
    numerator = models.BigIntegerField(null=True, blank=True)
    denominator = models.BigIntegerField(null=True, blank=True)
    value = models.FloatField(null=True, blank=True)
    obs_status = models.CharField(max_length=1, help_text=_(
        "A normal; M missing (no denominator)"))
    # Why a value is missing (obs_status M), published as the COMMENT_OBS attribute. The
    # engine may fill it; the run fills any it leaves empty from the catalogue.
    note = models.CharField(max_length=500, blank=True, default="", db_default="")

    class Meta:
        indexes = [models.Index(fields=["run", "indicator", "area_code"])]

    def __str__(self) -> str:
        return f"{self.indicator} {self.area_code} {self.sex} {self.age_band}: {self.value}"


class Benchmark(models.Model):
    """An effective-dated yardstick for benefit levels (R202 para. 8(b)): a poverty line, a
    minimum wage, ... as a monthly amount per person in minor units."""

    code = models.CharField(max_length=40)  # e.g. POVERTY_LINE, MINIMUM_WAGE
    name = models.CharField(max_length=200)
    amount_minor = models.BigIntegerField(help_text=_("per person per month, minor units"))
    currency = models.CharField(max_length=3)
    valid_from = models.DateField()
    valid_to = models.DateField(null=True, blank=True)
    source = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["code", "-valid_from"]

    def __str__(self) -> str:
        return f"{self.code} from {self.valid_from}"


class Target(models.Model):
    """A national (or area) target for an indicator in a year, e.g. COV_ANY 60% in 2030."""

    indicator = models.CharField(max_length=40)
    area_code = models.CharField(max_length=40)
    year = models.PositiveSmallIntegerField()
    value = models.FloatField()
    source = models.CharField(max_length=300, blank=True, help_text=_(
        "the strategy or plan that sets it"))

    class Meta:
        constraints = [models.UniqueConstraint(fields=["indicator", "area_code", "year"],
                                               name="one_target_per_indicator_area_year")]

    def __str__(self) -> str:
        return f"{self.indicator} {self.area_code} {self.year}: {self.value}"


class Survey(models.Model):
    """One household survey's inclusion and exclusion errors as saved: which file (name and
    SHA-256), which columns played which role, the benchmark, and how the variance was taken."""

    name = models.CharField(max_length=200)
    year = models.PositiveSmallIntegerField()
    file_name = models.CharField(max_length=255)
    file_sha256 = models.CharField(max_length=64)
    columns = models.JSONField(default=dict, help_text=_(
        "role -> column: weight, welfare, benefit, household_size, household, strata, psu"))
    benefit_amounts = models.BooleanField(help_text=_(
        "the benefit column holds amounts (else a 0/1 receipt indicator)"))
    benchmark = models.CharField(max_length=40, help_text=_("e.g. q1, bottom-40, line=150"))
    benchmark_text = models.CharField(max_length=300)
    variance = models.CharField(max_length=300)
    respondents = models.PositiveIntegerField()
    persons = models.FloatField(help_text=_("weighted"))
    saved_at = models.DateTimeField()
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True,
                              blank=True, related_name="+")

    class Meta:
        ordering = ["-saved_at", "-id"]

    def __str__(self) -> str:
        return f"survey {self.name} {self.year} ({self.benchmark})"


class SurveyEstimate(models.Model):
    """One figure of a saved survey: a ratio of weighted totals with its 95% interval."""

    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="estimates")
    measure = models.CharField(max_length=20)  # EE, IE, COVERAGE_Q1, INCIDENCE_Q1, ...
    value = models.FloatField(null=True, blank=True)
    ci_low = models.FloatField(null=True, blank=True)
    ci_high = models.FloatField(null=True, blank=True)
    n = models.PositiveIntegerField(help_text=_("respondents in the denominator (unweighted)"))
    numerator = models.FloatField(help_text=_("weighted"))
    denominator = models.FloatField(help_text=_("weighted"))

    class Meta:
        constraints = [models.UniqueConstraint(fields=["survey", "measure"],
                                               name="one_estimate_per_survey_measure")]

    def __str__(self) -> str:
        return f"{self.measure}: {self.value}"
