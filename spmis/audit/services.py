"""Writing the audit log. Callers are services, inside their own transaction."""

from __future__ import annotations

from typing import Any

from spmis.access.models import User
from spmis.audit.models import AuditEvent
from spmis.core import clock

SYSTEM_ACTOR = "system"


def audit_record(
    *,
    actor: User | None,
    action: str,
    object_type: str = "",
    object_id: str | int = "",
    area_code: str = "",
    purpose: str = "",
    detail: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one event. ``actor`` None means the system itself (e.g. a command-line load)."""
    return AuditEvent.objects.create(
        occurred_at=clock.now(),
        actor=actor,
        actor_username=actor.get_username() if actor else SYSTEM_ACTOR,
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        area_code=area_code,
        purpose=purpose,
        detail=detail or {},
    )
