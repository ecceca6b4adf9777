"""Where data comes from. Submissions, mappings and reporting rates build on ``Source``."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class SourceKind(models.TextChoices):
    MINISTRY = "MINISTRY", _("ministry")
    LOCAL_GOVERNMENT = "LOCAL_GOVERNMENT", _("local government")
    NGO = "NGO", _("NGO")
    SCHEME_MIS = "SCHEME_MIS", _("scheme MIS")
    AUTHORITATIVE_REGISTRY = "AUTHORITATIVE_REGISTRY", _("authoritative registry")


class Source(models.Model):
    """A data provider: an institution and the system it sends records from."""

    code = models.CharField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=200)
    institution = models.CharField(_("institution"), max_length=200)
    kind = models.CharField(_("kind"), max_length=30, choices=SourceKind.choices)
    area = models.ForeignKey(
        "geography.Area", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.code
