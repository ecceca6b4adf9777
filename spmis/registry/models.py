"""The common minimum dataset: households and persons (DCI social-registry vocabulary)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from spmis.geography.models import Sex


class Relationship(models.TextChoices):
    """Relationship to the household head (after DCI cd.com.07)."""

    HEAD = "HEAD", _("head")
    SPOUSE = "SPOUSE", _("spouse or partner")
    CHILD = "CHILD", _("child")
    PARENT = "PARENT", _("parent")
    SIBLING = "SIBLING", _("sibling")
    GRANDCHILD = "GRANDCHILD", _("grandchild")
    OTHER_RELATIVE = "OTHER_RELATIVE", _("other relative")
    NON_RELATIVE = "NON_RELATIVE", _("non-relative")


class DisabilityLevel(models.IntegerChoices):
    """Washington Group short set: the highest difficulty reported in any domain.

    WG's disability identifier is A_LOT or worse.
    """

    NO_DIFFICULTY = 0, _("no difficulty")
    SOME_DIFFICULTY = 1, _("some difficulty")
    A_LOT_OF_DIFFICULTY = 2, _("a lot of difficulty")
    CANNOT_DO_AT_ALL = 3, _("cannot do at all")


class SourcedModel(models.Model):
    """A row that knows which source record it came from."""

    # Not indexed here: lineage queries will go through submissions, which carry their own index.
    source = models.ForeignKey(
        "intake.Source", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    source_ref = models.CharField(_("record id in source"), max_length=64)
    # Lineage: the submission that created the row and the one that last changed it (null for
    # rows that came another way, e.g. the synthetic country).
    created_by_submission = models.ForeignKey(
        "intake.Submission", on_delete=models.PROTECT, null=True, blank=True, related_name="+",
        db_index=False,
    )
    changed_by_submission = models.ForeignKey(
        "intake.Submission", on_delete=models.PROTECT, null=True, blank=True, related_name="+",
        db_index=False,
    )

    class Meta:
        abstract = True


class Household(SourcedModel):
    area = models.ForeignKey("geography.Area", on_delete=models.PROTECT, related_name="+")
    address = models.CharField(_("address"), max_length=200, blank=True)
    registered_on = models.DateField(_("registered on"))

    class Meta:
        constraints = [models.UniqueConstraint(fields=["source", "source_ref"],
                                               name="household_ref_once_per_source")]

    def __str__(self) -> str:
        return f"Household {self.pk}"


class Person(SourcedModel):
    # Not unique: each row is one source's record; linkage joins records of one person.
    # Null, not "", when missing: "no ID" must never look like a shared empty ID.
    national_id = models.CharField(  # noqa: DJ001
        _("national ID"), max_length=32, null=True, blank=True, db_index=True
    )
    given_name = models.CharField(_("given name"), max_length=100)
    family_name = models.CharField(_("family name"), max_length=100)
    sex = models.CharField(_("sex"), max_length=1, choices=Sex.choices)
    date_of_birth = models.DateField(_("date of birth"))
    date_of_death = models.DateField(_("date of death"), null=True, blank=True)
    area = models.ForeignKey("geography.Area", on_delete=models.PROTECT, related_name="+")
    household = models.ForeignKey(
        Household, on_delete=models.PROTECT, null=True, blank=True, related_name="members"
    )
    relationship_to_head = models.CharField(
        _("relationship to head"), max_length=20, choices=Relationship.choices, blank=True
    )
    # None: not asked, or not answered; never read as "no difficulty".
    disability_level = models.PositiveSmallIntegerField(
        _("disability (Washington Group)"),
        choices=DisabilityLevel.choices,
        null=True, blank=True, default=None,
    )
    registered_on = models.DateField(_("registered on"))
    # A registry's figure (e.g. tax records), in minor units of the country's currency.
    annual_income_minor = models.BigIntegerField(_("annual income"), null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["source", "source_ref"],
                                    name="person_ref_once_per_source"),
            models.CheckConstraint(
                condition=models.Q(date_of_death__isnull=True)
                | models.Q(date_of_death__gte=models.F("date_of_birth")),
                name="person_dies_after_birth",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.given_name} {self.family_name}"
