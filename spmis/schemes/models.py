"""The scheme catalogue (ILO SSI vocabulary) and who is enrolled in which scheme."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from spmis.registry.models import SourcedModel


class Function(models.TextChoices):
    """ILO social protection functions (C102 branches plus the SSI/ESSPROS additions)."""

    HEALTH = "HEALTH", _("medical care")
    SICKNESS = "SICKNESS", _("sickness")
    UNEMPLOYMENT = "UNEMPLOYMENT", _("unemployment")
    OLD_AGE = "OLD_AGE", _("old age")
    EMPLOYMENT_INJURY = "EMPLOYMENT_INJURY", _("employment injury")
    FAMILY_CHILD = "FAMILY_CHILD", _("family and children")
    MATERNITY = "MATERNITY", _("maternity")
    DISABILITY = "DISABILITY", _("disability (invalidity)")
    SURVIVORS = "SURVIVORS", _("survivors")
    HOUSING = "HOUSING", _("housing")
    SOCIAL_EXCLUSION = "SOCIAL_EXCLUSION", _("social exclusion n.e.c.")


class Guarantee(models.TextChoices):
    """The four basic guarantees of ILO Recommendation 202, paragraph 5."""

    HEALTH = "HEALTH", _("essential health care")
    CHILDREN = "CHILDREN", _("income security for children")
    WORKING_AGE = "WORKING_AGE", _("income security in active age")
    OLD_AGE = "OLD_AGE", _("income security for older persons")


class BenefitNature(models.TextChoices):
    CASH = "CASH", _("cash")
    IN_KIND = "IN_KIND", _("in kind")
    SERVICE = "SERVICE", _("service")


class Periodicity(models.TextChoices):
    MONTHLY = "MONTHLY", _("monthly")
    QUARTERLY = "QUARTERLY", _("quarterly")
    ANNUAL = "ANNUAL", _("annual")
    ONE_OFF = "ONE_OFF", _("one-off")
    SEASONAL = "SEASONAL", _("seasonal")
    CONTINUOUS = "CONTINUOUS", _("continuous entitlement")


class Scheme(models.Model):
    code = models.CharField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=200)
    managing_institution = models.CharField(_("managing institution"), max_length=200)
    function = models.CharField(_("ILO function"), max_length=30, choices=Function.choices)
    guarantee = models.CharField(_("R202 guarantee"), max_length=20, choices=Guarantee.choices)
    contributory = models.BooleanField(_("contributory"))
    means_tested = models.BooleanField(_("means-tested"))
    benefit_nature = models.CharField(
        _("benefit nature"), max_length=10, choices=BenefitNature.choices
    )
    periodicity = models.CharField(_("periodicity"), max_length=12, choices=Periodicity.choices)
    legal_basis = models.CharField(_("legal basis"), max_length=300, blank=True)
    currency = models.CharField(_("currency"), max_length=3, blank=True)
    description = models.TextField(_("description"), blank=True)
    # Means test: yearly income (minor units) above which a person is not eligible.
    income_threshold_minor = models.BigIntegerField(_("income threshold (yearly)"), null=True,
                                                    blank=True)
    # Declared eligibility criteria the registry can check (empty = not a criterion): what
    # administrative inclusion and exclusion errors are measured against.
    eligible_age_from = models.PositiveSmallIntegerField(_("eligible from age"), null=True,
                                                         blank=True)
    eligible_age_to = models.PositiveSmallIntegerField(_("eligible up to age"), null=True,
                                                       blank=True)
    eligible_sex = models.CharField(_("eligible sex"), max_length=1, blank=True)
    eligible_disability_from = models.PositiveSmallIntegerField(
        _("eligible from disability level"), null=True, blank=True)
    # SDG 1.3.1 reads these: social assistance (non-contributory transfers to the poor or
    # vulnerable: SOC_CONTIG_VULN) and employment-injury cover (SOC_CONTIG_INJ). The catalogue
    # says so; the function alone does not (a fund's one scheme may cover several risks).
    social_assistance = models.BooleanField(_("social assistance"), default=False)
    covers_employment_injury = models.BooleanField(_("covers employment injury"), default=False)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class EnrolmentStatus(models.TextChoices):
    ACTIVE = "ACTIVE", _("active")
    SUSPENDED = "SUSPENDED", _("suspended")
    EXITED = "EXITED", _("exited")


class Enrolment(SourcedModel):
    """A person's membership of a scheme over a span of dates (``end_date`` inclusive)."""

    person = models.ForeignKey(
        "registry.Person", on_delete=models.PROTECT, related_name="enrolments"
    )
    scheme = models.ForeignKey(Scheme, on_delete=models.PROTECT, related_name="enrolments")
    status = models.CharField(_("status"), max_length=10, choices=EnrolmentStatus.choices)
    start_date = models.DateField(_("start date"))
    end_date = models.DateField(_("end date"), null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["scheme", "status"]),
        ]
        constraints = [
            models.UniqueConstraint(fields=["source", "source_ref"],
                                    name="enrolment_ref_once_per_source"),
            models.CheckConstraint(
                condition=models.Q(end_date__isnull=True)
                | models.Q(end_date__gte=models.F("start_date")),
                name="enrolment_ends_after_start",
            ),
        ]


class IncompatibleSchemes(models.Model):
    """Two schemes one person may not receive at the same time (e.g. the social pension is for
    those without a contributory pension): enrolment in both is *double dipping*."""

    scheme_a = models.ForeignKey(Scheme, on_delete=models.CASCADE, related_name="+")
    scheme_b = models.ForeignKey(Scheme, on_delete=models.CASCADE, related_name="+")
    reason = models.CharField(_("reason"), max_length=300)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["scheme_a", "scheme_b"],
                                               name="incompatible_schemes_once")]

    def __str__(self) -> str:
        return f"{self.scheme_a_id} x {self.scheme_b_id}"
