"""Users, the roles they hold and the scope (area subtree, schemes) each role applies to."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _


class User(AbstractUser):
    """spmis user. Kept as our own model so clearance and MFA can be added without a rewrite."""


class Role(models.TextChoices):
    DATA_COLLECTOR = "DATA_COLLECTOR", _("data collector")
    REGISTRAR = "REGISTRAR", _("data recorder (registrar)")
    TARGETING_OFFICER = "TARGETING_OFFICER", _("targeting officer")
    APPROVER = "APPROVER", _("approver")
    SCHEME_MANAGER = "SCHEME_MANAGER", _("scheme manager")
    PAYMENT_OFFICER = "PAYMENT_OFFICER", _("payment officer")
    GRIEVANCE_OFFICER = "GRIEVANCE_OFFICER", _("grievance officer")
    APPEAL_REVIEWER = "APPEAL_REVIEWER", _("appeal reviewer")
    STATISTICIAN = "STATISTICIAN", _("statistician")
    AUDITOR = "AUDITOR", _("auditor")
    SECURITY_ADMIN = "SECURITY_ADMIN", _("security administrator")
    SYSTEM_ADMIN = "SYSTEM_ADMIN", _("system administrator")


class RoleAssignment(models.Model):
    """A role held over an area subtree and either all schemes or a listed few."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="role_assignments"
    )
    role = models.CharField(_("role"), max_length=30, choices=Role.choices)
    area = models.ForeignKey("geography.Area", on_delete=models.PROTECT, related_name="+")
    all_schemes = models.BooleanField(_("all schemes"), default=True)
    schemes = models.ManyToManyField("schemes.Scheme", blank=True, related_name="+")
    granted_at = models.DateTimeField(_("granted at"), auto_now_add=True)
    valid_until = models.DateField(_("valid until"), null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "role", "area"], name="role_once_per_area"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id}:{self.role}@{self.area_id}"
