"""Users, the roles they hold and the scope (area subtree, schemes) each role applies to."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _


class Clearance(models.IntegerChoices):
    """Security classification levels; a user sees a field only up to their clearance."""

    PUBLIC = 0, _("public")
    INTERNAL = 1, _("internal")
    CONFIDENTIAL = 2, _("confidential")
    SECRET = 3, _("secret")


class User(AbstractUser):
    """An spmis user: who they are, their clearance; roles come from RoleAssignment."""

    clearance = models.PositiveSmallIntegerField(
        _("clearance"), choices=Clearance.choices, default=Clearance.INTERNAL,
        help_text=_("Highest security classification this user may see."),
    )
    failed_logins = models.PositiveSmallIntegerField(
        _("failed logins"), default=0,
        help_text=_("Consecutive failed password or second-factor attempts."),
    )
    locked_until = models.DateTimeField(
        _("locked until"), null=True, blank=True,
        help_text=_("Logins are refused until this time after too many failures."),
    )
    language = models.CharField(
        _("language"), max_length=10, blank=True, default="",
        help_text=_("Interface language the user chose (empty: the browser's or the default)."),
    )


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


class IncompatibleRoles(models.Model):
    """A separation-of-duties rule: no user may hold both roles (in any areas)."""

    role_a = models.CharField(_("role"), max_length=30, choices=Role.choices)
    role_b = models.CharField(_("conflicting role"), max_length=30, choices=Role.choices)
    reason = models.CharField(_("reason"), max_length=200)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["role_a", "role_b"], name="sod_rule_once"),
        ]

    def __str__(self) -> str:
        return f"{self.role_a} x {self.role_b}"


class ApprovalPolicy(models.TextChoices):
    ALL = "ALL", _("all eligible approvers")
    ANY = "ANY", _("any one approver")
    N = "N", _("N distinct approvers")


class ApprovalStatus(models.TextChoices):
    PENDING = "PENDING", _("pending")
    APPROVED = "APPROVED", _("approved")
    REJECTED = "REJECTED", _("rejected")


class ApprovalRequest(models.Model):
    """Maker-checker: a change made by ``maker`` waits for approval by others."""

    object_type = models.CharField(_("object type"), max_length=60)
    object_id = models.CharField(_("object id"), max_length=64)
    action = models.CharField(_("action"), max_length=60)
    maker = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    approver_role = models.CharField(_("approver role"), max_length=30, choices=Role.choices)
    area = models.ForeignKey("geography.Area", on_delete=models.PROTECT, related_name="+")
    policy = models.CharField(_("policy"), max_length=3, choices=ApprovalPolicy.choices)
    required = models.PositiveSmallIntegerField(_("approvals required"), default=1)
    status = models.CharField(
        _("status"), max_length=10, choices=ApprovalStatus.choices,
        default=ApprovalStatus.PENDING,
    )
    created_at = models.DateTimeField(_("created at"))
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["object_type", "object_id"])]

    def __str__(self) -> str:
        return f"{self.action} {self.object_type}:{self.object_id} ({self.status})"


class ApprovalDecision(models.Model):
    request = models.ForeignKey(ApprovalRequest, on_delete=models.CASCADE,
                                related_name="decisions")
    checker = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    approve = models.BooleanField(_("approve"))
    reason = models.CharField(_("reason"), max_length=300, blank=True)
    decided_at = models.DateTimeField(_("decided at"))

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["request", "checker"], name="one_decision_each"),
        ]

    def __str__(self) -> str:
        return f"{self.checker_id} {'approves' if self.approve else 'rejects'} {self.request_id}"


class TOTPDevice(models.Model):
    """A user's authenticator app (RFC 6238 TOTP): the shared secret and the last step used."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="totp_device"
    )
    secret = models.CharField(_("secret"), max_length=64)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    confirmed_at = models.DateTimeField(_("confirmed at"), null=True, blank=True)
    last_used_step = models.BigIntegerField(
        _("last used time-step"), default=0,
        help_text=_("A code whose time-step is at or before this one is a replay."),
    )

    def __str__(self) -> str:
        return f"TOTP device of {self.user_id}"


class UserSession(models.Model):
    """A web session opened by a login, so that disabling a user can end all of them."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="web_sessions"
    )
    session_key = models.CharField(_("session key"), max_length=64, unique=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    def __str__(self) -> str:
        return f"session of {self.user_id}"


class ApiToken(models.Model):
    """A REST API key. Only its SHA-256 hash is stored (and its first characters, to find it):
    the key itself is shown once, when issued. It works until it expires or is revoked, and
    only while its user is active and not locked."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    prefix = models.CharField(_("key prefix"), max_length=8, db_index=True,
                              help_text=_("The key's first characters, to find its row."))
    key_hash = models.CharField(_("key hash"), max_length=64,
                                help_text=_("SHA-256 of the whole key, hex."))
    created_at = models.DateTimeField(_("created at"))
    expires_at = models.DateTimeField(_("expires at"))
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True)

    def __str__(self) -> str:
        return f"API token {self.prefix}… of {self.user_id}"
