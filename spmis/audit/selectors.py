"""Searching the audit log: the auditor's door (scoped like every other read)."""

from __future__ import annotations

import datetime as dt

from django.db.models import Q, QuerySet

from spmis.access.models import User
from spmis.access.policy import Permission
from spmis.access.selectors import scope_for_user
from spmis.audit.actions import AuditAction
from spmis.audit.models import AuditEvent
from spmis.audit.services import PERSONAL_OBJECTS, audit_record, object_ref
from spmis.geography.models import Area
from spmis.geography.selectors import area_ids_within


def audit_search_for_user(
    *,
    user: User,
    action: str = "",
    actor: str = "",
    object_type: str = "",
    object_id: str = "",
    area_code: str = "",
    since: dt.date | None = None,
    until: dt.date | None = None,
) -> QuerySet[AuditEvent]:
    """Entries the user may audit, newest first. A person's or household's id is matched
    through its keyed hash, so the log can be searched by id without storing it."""
    scope = scope_for_user(user=user, permission=Permission.VIEW_AUDIT)
    if scope.empty:
        return AuditEvent.objects.none()
    events = AuditEvent.objects.all()
    if not _national(scope.area_paths):
        codes = Area.objects.filter(id__in=area_ids_within(paths=scope.area_paths))
        events = events.filter(area_code__in=codes.values("code"))
    if action.strip():
        events = events.filter(action__startswith=action.strip())
    if actor.strip():
        events = events.filter(actor_username=actor.strip())
    if object_type.strip():
        events = events.filter(object_type=object_type.strip())
    if object_id.strip():
        ref = object_id.strip()
        if object_type.strip() in PERSONAL_OBJECTS:
            ref = object_ref(object_type.strip(), ref)
        events = events.filter(Q(object_id=ref))
    if area_code.strip():
        events = events.filter(area_code=area_code.strip())
    if since:
        events = events.filter(occurred_at__date__gte=since)
    if until:
        events = events.filter(occurred_at__date__lte=until)
    used = {"action": action, "actor": actor, "object_type": object_type,
            "object_id": object_id, "area": area_code, "since": since, "until": until}
    audit_record(actor=user, action=AuditAction.AUDIT_SEARCH, object_type="audit",
                 detail={"by": sorted(k for k, v in used.items() if v)})
    return events.order_by("-seq")


def _national(paths: tuple[str, ...]) -> bool:
    """True when a scope includes a root area (the whole country)."""
    return any(path.count("/") == 1 for path in paths)
