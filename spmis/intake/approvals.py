"""Period approval (DHIS2-style data approval), built on the maker-checker requests.

A district asks for its data for a month to be approved (PENDING, with an ``ApprovalRequest``
for APPROVER over the district); an approver other than the maker decides (APPROVED); someone
holding APPROVER over the region then accepts it (ACCEPTED). While APPROVED or ACCEPTED no
source in the district may submit for that month; un-approving (with a reason) re-opens it.
Every change writes its audit entry in the same transaction.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from spmis.access.models import ApprovalStatus, Role, RoleAssignment, User
from spmis.access.policy import Permission, roles_with
from spmis.access.services import SeparationOfDuties, approval_decide, approval_request
from spmis.audit.actions import AuditAction
from spmis.audit.services import audit_record
from spmis.core import clock
from spmis.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from spmis.core.periods import month_start
from spmis.geography.models import Area
from spmis.geography.selectors import ancestor_paths
from spmis.intake.models import ApprovalState, PeriodApproval

LOCKING = (ApprovalState.APPROVED, ApprovalState.ACCEPTED)
# Who may ask for a district's period to be approved: those who send, record or approve data.
MAKER_PERMISSIONS = (Permission.SUBMIT_DATA, Permission.RECORD_DATA, Permission.APPROVE)


def _area(code: str) -> Area:
    area = Area.objects.select_related("parent").filter(code=code).first()
    if area is None:
        raise NotFound(f"No area with code {code!r}.")
    return area



def _holds(user: User, roles: list[str] | tuple[str, ...], area: Area) -> bool:
    """Whether ``user`` holds one of ``roles``, live, over ``area`` (or an ancestor)."""
    return user.is_active and RoleAssignment.objects.filter(
        Q(valid_until__isnull=True) | Q(valid_until__gte=clock.today()),
        user=user, role__in=roles, area__path__in=ancestor_paths(area.path),
    ).exists()


def _label(area: Area, period: dt.date) -> str:
    return f"{area.code} {period:%Y-%m}"


def _get_for_update(area: Area, period: dt.date) -> PeriodApproval:
    approval = (PeriodApproval.objects.select_for_update(of=("self",))
                .select_related("request").filter(area=area, period=period).first())
    if approval is None:
        raise NotFound(f"No approval for {_label(area, period)}.")
    return approval


def period_approve_request(*, actor: User, area_code: str, period: dt.date) -> PeriodApproval:
    """A district user asks for the district's data for ``period`` to be approved."""
    area = _area(area_code)
    period = month_start(period)
    if area.parent_id is None:
        raise ValidationFailed(_("Periods are approved for a district, not the whole "
                                 "country."))
    makers = sorted({r for p in MAKER_PERMISSIONS for r in roles_with(p)})
    if not _holds(actor, makers, area):
        raise PermissionDenied(_("You hold no role over %(area)s that sends, records or "
                                 "approves data.") % {"area": area.code})
    with transaction.atomic():
        approval = (PeriodApproval.objects.select_for_update()
                    .filter(area=area, period=period).first())
        if approval is not None and approval.state != ApprovalState.UNAPPROVED:
            raise Conflict(_("%(what)s is already %(state)s.") % {
                "what": _label(area, period), "state": approval.get_state_display()})
        if approval is None:
            approval = PeriodApproval(area=area, period=period)
        approval.state = ApprovalState.PENDING
        approval.reason = ""
        approval.updated_at = clock.now()
        approval.save()
        approval.request = approval_request(
            maker=actor, object_type="period_approval", object_id=approval.pk,
            action="period.approve", approver_role=Role.APPROVER, area_code=area.code)
        approval.save(update_fields=["request"])
        audit_record(actor=actor, action=AuditAction.PERIOD_REQUEST, object_type="period_approval",
                     object_id=approval.pk, area_code=area.code,
                     detail={"period": f"{period:%Y-%m}", "request": approval.request.pk})
    return approval


def period_approve_decide(*, actor: User, area_code: str, period: dt.date, approve: bool,
                          reason: str = "") -> PeriodApproval:
    """An approver (never the maker) approves or rejects a pending period."""
    area = _area(area_code)
    period = month_start(period)
    with transaction.atomic():
        approval = _get_for_update(area, period)
        if approval.state != ApprovalState.PENDING or approval.request_id is None:
            raise Conflict(_("%(what)s is %(state)s, not waiting for approval.") % {
                "what": _label(area, period), "state": approval.get_state_display()})
        request = approval_decide(checker=actor, request_id=approval.request_id,
                                  approve=approve, reason=reason)
        if request.status == ApprovalStatus.PENDING:
            return approval  # still waiting for more approvers
        approval.state = ApprovalState.APPROVED if approve else ApprovalState.UNAPPROVED
        approval.reason = "" if approve else reason[:300]
        approval.updated_at = clock.now()
        approval.save(update_fields=["state", "reason", "updated_at"])
        audit_record(actor=actor, action=AuditAction.PERIOD_APPROVE if approve
                     else AuditAction.PERIOD_REJECT,
                     object_type="period_approval", object_id=approval.pk,
                     area_code=area.code, purpose=reason,
                     detail={"period": f"{period:%Y-%m}", "state": approval.state})
    return approval


def period_accept(*, actor: User, area_code: str, period: dt.date) -> PeriodApproval:
    """Someone holding APPROVER over the parent area (the region) accepts an approved period."""
    area = _area(area_code)
    period = month_start(period)
    with transaction.atomic():
        approval = _get_for_update(area, period)
        if approval.request is not None and approval.request.maker_id == actor.pk:
            raise SeparationOfDuties("You cannot accept a period you asked to be approved.")
        if area.parent is None or not _holds(actor, [Role.APPROVER], area.parent):
            raise PermissionDenied(_("Accepting needs the approver role over %(area)s.") % {
                "area": area.parent.code if area.parent else _("the parent area")})
        if approval.state != ApprovalState.APPROVED:
            raise Conflict(_("%(what)s is %(state)s; only an approved period can be "
                             "accepted.") % {"what": _label(area, period),
                                             "state": approval.get_state_display()})
        approval.state = ApprovalState.ACCEPTED
        approval.updated_at = clock.now()
        approval.save(update_fields=["state", "updated_at"])
        audit_record(actor=actor, action=AuditAction.PERIOD_ACCEPT, object_type="period_approval",
                     object_id=approval.pk, area_code=area.code,
                     detail={"period": f"{period:%Y-%m}", "parent": area.parent.code})
    return approval


def period_unapprove(*, actor: User, area_code: str, period: dt.date,
                     reason: str) -> PeriodApproval:
    """An approver over the area re-opens an approved (or accepted) period, saying why."""
    if not reason.strip():
        raise ValidationFailed(_("Un-approving needs a reason."))
    area = _area(area_code)
    period = month_start(period)
    if not _holds(actor, [Role.APPROVER], area):
        raise PermissionDenied(_("Un-approving needs the approver role over %(area)s.") % {
            "area": area.code})
    with transaction.atomic():
        approval = _get_for_update(area, period)
        if approval.state not in LOCKING:
            raise Conflict(_("%(what)s is %(state)s, not approved.") % {
                "what": _label(area, period), "state": approval.get_state_display()})
        before = approval.state
        approval.state = ApprovalState.UNAPPROVED
        approval.reason = reason.strip()[:300]
        approval.updated_at = clock.now()
        approval.save(update_fields=["state", "reason", "updated_at"])
        audit_record(actor=actor, action=AuditAction.PERIOD_UNAPPROVE,
                     object_type="period_approval",
                     object_id=approval.pk, area_code=area.code, purpose=reason,
                     detail={"period": f"{period:%Y-%m}", "from": before})
    return approval


def period_lock_area(*, area_path: str, period: dt.date) -> Area | None:
    """The area (``area_path``'s own or an ancestor) whose approval locks ``period``, if any."""
    approval = (PeriodApproval.objects.select_related("area")
                .filter(area__path__in=ancestor_paths(area_path), period=month_start(period),
                        state__in=LOCKING)
                .order_by("area__path").first())
    return approval.area if approval else None


def locked_periods() -> list[tuple[str, dt.date]]:
    """(area path, period) of every approved or accepted period: each locks its subtree."""
    return list(PeriodApproval.objects.filter(state__in=LOCKING)
                .values_list("area__path", "period"))


def period_locked(*, area_path: str, period: dt.date) -> bool:
    """True when the area or any ancestor has an approved or accepted period."""
    return period_lock_area(area_path=area_path, period=period) is not None
