"""Administrative areas (any depth, stable P-codes) and the population that coverage divides by."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Sex(models.TextChoices):
    """DCI cd.com.03; denominators are published for M and F, persons may be U (unknown)."""

    MALE = "M", _("male")
    FEMALE = "F", _("female")
    UNKNOWN = "U", _("unknown")


class AreaLevel(models.Model):
    """The name of one level of the hierarchy, e.g. 0 Country, 1 Region, 2 District."""

    level = models.PositiveSmallIntegerField(_("level"), primary_key=True)
    name = models.CharField(_("name"), max_length=60)

    class Meta:
        ordering = ["level"]

    def __str__(self) -> str:
        return self.name


class Area(models.Model):
    """One administrative area. ``path`` holds the P-codes from the root, so a subtree is one
    indexed prefix query on every database."""

    code = models.CharField(_("P-code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=120)
    level = models.PositiveSmallIntegerField(_("level"))
    parent = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="children"
    )
    path = models.CharField(_("path"), max_length=400, unique=True)
    is_urban = models.BooleanField(_("urban"), default=False)

    class Meta:
        ordering = ["path"]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class PopulationDenominator(models.Model):
    """Official population of an area by sex and age band for a year (what rates divide by).

    ``age_to`` is inclusive; null means open-ended (e.g. 100+).
    """

    area = models.ForeignKey(Area, on_delete=models.CASCADE, related_name="population")
    year = models.PositiveSmallIntegerField(_("year"))
    sex = models.CharField(_("sex"), max_length=1, choices=Sex.choices)
    age_from = models.PositiveSmallIntegerField(_("age from"))
    age_to = models.PositiveSmallIntegerField(_("age to"), null=True, blank=True)
    population = models.BigIntegerField(_("population"))
    source = models.CharField(_("source"), max_length=200, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["area", "year", "sex", "age_from"], name="population_cell_unique"
            ),
            models.CheckConstraint(
                condition=models.Q(population__gte=0), name="population_non_negative"
            ),
        ]
        indexes = [models.Index(fields=["year", "area"])]

    def __str__(self) -> str:
        return f"{self.area_id} {self.year} {self.sex} {self.age_from}-{self.age_to or ''}"


class AreaBoundary(models.Model):
    """An area's outline for maps: a GeoJSON Polygon or MultiPolygon in WGS84 (longitude,
    latitude), simplified for display, with its bounding box (``geography.boundaries``)."""

    area = models.OneToOneField(Area, on_delete=models.CASCADE, primary_key=True,
                                related_name="boundary", verbose_name=_("area"))
    geometry = models.JSONField(_("geometry"))
    west = models.FloatField(_("west"))
    south = models.FloatField(_("south"))
    east = models.FloatField(_("east"))
    north = models.FloatField(_("north"))
    source = models.CharField(_("source"), max_length=255, blank=True)

    def __str__(self) -> str:
        return f"boundary of {self.area_id}"
