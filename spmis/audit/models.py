"""The append-only audit log: every state change and every read of person data."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class AuditEvent(models.Model):
    """One entry of the log and one leaf of its Merkle tree (leaf index ``seq``).

    ``object_id`` of a person or household holds a keyed hash, never the id itself.
    """

    seq = models.BigIntegerField(_("entry"), unique=True)
    leaf_hash = models.CharField(_("leaf hash"), max_length=64)
    occurred_at = models.DateTimeField(_("when"), db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    actor_username = models.CharField(_("who"), max_length=150)
    action = models.CharField(_("what"), max_length=60, db_index=True)
    object_type = models.CharField(_("object type"), max_length=60, blank=True)
    object_id = models.CharField(_("object id"), max_length=64, blank=True)
    area_code = models.CharField(_("where"), max_length=32, blank=True)
    purpose = models.CharField(_("why"), max_length=200, blank=True)
    detail = models.JSONField(_("detail"), default=dict, blank=True)
    client_address = models.CharField(
        _("client address"), max_length=64, blank=True, default="", db_default="",
        help_text=_("The IP address the request came from (behind the trusted proxy, the one "
                    "it forwarded); empty outside a request and in entries written before it "
                    "was recorded."),
    )

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"#{self.pk} {self.action} by {self.actor_username}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise PermissionError("Audit events are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise PermissionError("Audit events are append-only")


class AuditLogHead(models.Model):
    """The single row that serialises appends: size of the tree and its compact frontier (the
    roots of its perfect subtrees, largest first), so each append is O(log n)."""

    size = models.BigIntegerField(default=0)
    frontier = models.JSONField(default=list)

    def __str__(self) -> str:
        return f"audit log of {self.size} entries"


class AuditCheckpoint(models.Model):
    """A signed tree head: the log had ``size`` entries with root ``root`` (C2SP note)."""

    size = models.BigIntegerField(_("tree size"))
    root = models.CharField(_("root hash"), max_length=64)
    note = models.TextField(_("signed checkpoint"))
    created_at = models.DateTimeField(_("created at"))

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"checkpoint {self.pk} (size {self.size})"
