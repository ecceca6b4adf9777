"""What a user may see: the union of the area subtrees and schemes of their live roles; and
searching the audit log, the auditor's door (scoped like every other read)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet

from spmis.access.models import (
    ApprovalRequest,
    Clearance,
    IncompatibleRoles,
    RoleAssignment,
    User,
)
from spmis.access.policy import Permission, roles_with
from spmis.audit.actions import AuditAction
from spmis.audit.models import AuditEvent
from spmis.audit.services import PERSONAL_OBJECTS, audit_record, object_ref
from spmis.core import clock
from spmis.core.errors import NotFound
from spmis.geography.models import Area
from spmis.geography.selectors import ancestor_paths, area_ids_within


@dataclass(frozen=True)
class Grant:
    """One role's reach: an area subtree, and the schemes there (None: every scheme)."""

    area_path: str
    schemes: frozenset[int] | None


@dataclass(frozen=True)
class Scope:
    """Where a user may use a permission: the grants of their live roles. Grants combine as
    (area, schemes) pairs: a role limited to a scheme in one district and an unlimited role in
    another never add up to every scheme in the first district."""

    grants: tuple[Grant, ...]

    @property
    def empty(self) -> bool:
        return not self.grants

    @property
    def area_paths(self) -> tuple[str, ...]:
        """The roots of the areas the grants cover, whatever their schemes (for aggregates)."""
        paths = {g.area_path for g in self.grants}
        return tuple(sorted(p for p in paths if not any(p != o and p.startswith(o)
                                                        for o in paths)))

    @property
    def all_schemes(self) -> bool:
        """True when some grant covers every scheme (somewhere)."""
        return any(g.schemes is None for g in self.grants)

    @property
    def scheme_ids(self) -> frozenset[int]:
        return frozenset().union(*(g.schemes for g in self.grants if g.schemes is not None))

    def area_q(self, field: str = "area") -> Q:
        """A filter on ``field`` (a foreign key to Area) that keeps rows inside the scope's
        areas, whatever their scheme (aggregates, sources, households' areas).

        The area ids come from a subquery on the small area table, so the big table is read
        through its area index on every database.
        """
        return Q(**{f"{field}__in": area_ids_within(paths=self.area_paths)})

    def where(self, area_field: str, schemes: Callable[[frozenset[int]], Q]) -> Q:
        """Rows inside one grant: in its area subtree and, when the grant is limited, of its
        schemes (``schemes(ids)`` says how a row belongs to schemes). Nothing when empty."""
        by_schemes: dict[frozenset[int] | None, list[str]] = {}
        for g in self.grants:
            by_schemes.setdefault(g.schemes, []).append(g.area_path)
        found = Q(pk__in=[])
        for ids, paths in by_schemes.items():
            inside = Q(**{f"{area_field}__in": area_ids_within(paths=paths)})
            found |= inside if ids is None else inside & schemes(ids)
        return found

    def record_q(self, area_field: str, scheme_field: str = "scheme_id") -> Q:
        """Rows that carry both an area and a scheme (enrolments, payments, flags)."""
        return self.where(area_field, lambda ids: Q(**{f"{scheme_field}__in": ids}))

    def covers(self, area_path: str, scheme_id: int | None = None) -> bool:
        """Whether one record (its area's path, its scheme if it has one) is inside a grant."""
        return any(area_path.startswith(g.area_path) and (
            g.schemes is None or (scheme_id is not None and scheme_id in g.schemes))
            for g in self.grants)


def scope_top_areas(*, scope: Scope) -> list[Area]:
    """The areas at the top of a scope (each subtree's root), by path."""
    return list(Area.objects.filter(path__in=scope.area_paths).order_by("path"))


def scope_area_get(*, scope: Scope, code: str) -> Area:
    """The area with P-code ``code`` if it lies inside the scope; else not found (the same
    answer as an area that does not exist)."""
    area = Area.objects.filter(code=code.strip()).first() if code.strip() else None
    if area is None or not area.path.startswith(scope.area_paths or ("\x00",)):
        raise NotFound(f"No area with code {code!r} among yours.")
    return area


def scope_area_trail(*, scope: Scope, area: Area) -> list[Area]:
    """The area's ancestors inside the scope, the top first, ending with the area."""
    paths = [p for p in ancestor_paths(area.path) if p.startswith(scope.area_paths or ("\x00",))]
    return list(Area.objects.filter(path__in=paths).order_by("level", "path"))


NO_SCOPE = Scope(grants=())


def scope_for_user(*, user: User, permission: Permission) -> Scope:
    """Where ``user`` may use ``permission``: the union over their live roles that grant it."""
    if not user.is_active:
        return NO_SCOPE
    assignments = (
        RoleAssignment.objects.filter(user=user, role__in=roles_with(permission))
        .filter(Q(valid_until__isnull=True) | Q(valid_until__gte=clock.today()))
        .select_related("area")
        .prefetch_related("schemes")
    )
    grants = {Grant(area_path=a.area.path,
                    schemes=None if a.all_schemes else frozenset(s.pk for s in a.schemes.all()))
              for a in assignments}
    return Scope(grants=tuple(sorted(grants, key=lambda g: (g.area_path, sorted(g.schemes or ())))))


def roles_for_user(*, user: User) -> list[str]:
    return sorted(set(RoleAssignment.objects.filter(user=user).values_list("role", flat=True)))


def user_has_permission(*, user: User, permission: Permission) -> bool:
    return not scope_for_user(user=user, permission=permission).empty


@dataclass(frozen=True)
class SodConflict:
    held_role: str
    reason: str


def sod_conflict(*, user: User, role: str) -> SodConflict | None:
    """The first separation-of-duties rule that holding ``role`` would break, if any."""
    held = set(RoleAssignment.objects.filter(user=user).values_list("role", flat=True))
    rule = (
        IncompatibleRoles.objects.filter(
            Q(role_a=role, role_b__in=held) | Q(role_b=role, role_a__in=held)
        )
        .order_by("id")
        .first()
    )
    if rule is None:
        return None
    return SodConflict(held_role=rule.role_b if rule.role_a == role else rule.role_a,
                       reason=rule.reason)


@dataclass(frozen=True)
class SodViolation:
    username: str
    role_a: str
    role_b: str
    reason: str


def sod_violations() -> list[SodViolation]:
    """Users who already hold two incompatible roles (e.g. loaded from an older system)."""
    held = RoleAssignment.objects.values_list("user__username", "role").distinct()
    roles_by_user: dict[str, set[str]] = {}
    for username, role in held:
        roles_by_user.setdefault(username, set()).add(role)
    rules = list(IncompatibleRoles.objects.order_by("id"))
    return [
        SodViolation(username, rule.role_a, rule.role_b, rule.reason)
        for username, roles in sorted(roles_by_user.items())
        for rule in rules
        if rule.role_a in roles and rule.role_b in roles
    ]


def approval_checkers(*, request: ApprovalRequest) -> QuerySet[User]:
    """Active users who may decide ``request``: the approver role over its area, not the maker."""
    ancestors = ancestor_paths(request.area.path)
    live = RoleAssignment.objects.filter(
        Q(valid_until__isnull=True) | Q(valid_until__gte=clock.today()),
        role=request.approver_role,
        area__path__in=ancestors,
    )
    # One subquery, so role, area and expiry all apply to the same assignment.
    return (
        User.objects.filter(is_active=True, pk__in=live.values("user_id"))
        .exclude(pk=request.maker_id)
    )



PRIVILEGED_ROLES = frozenset({"SECURITY_ADMIN", "SYSTEM_ADMIN"})


@dataclass
class AccessReview:
    """What a security officer reviews monthly."""

    generated_at: str
    dormant_days: int
    users: list[dict[str, Any]]
    dormant: list[str]
    privileged: list[str]
    violations: list[SodViolation]

    def as_dict(self) -> dict[str, Any]:
        return {
            "generated_at": self.generated_at, "dormant_days": self.dormant_days,
            "users": self.users, "dormant": self.dormant, "privileged": self.privileged,
            "violations": [v.__dict__ for v in self.violations],
        }

    def as_text(self) -> str:
        lines = [f"Access review {self.generated_at}", "", "Users:"]
        for u in self.users:
            roles = "; ".join(f"{r['role']}@{r['area']}"
                              + ("" if r["schemes"] == "all" else f"[{r['schemes']}]")
                              + (f" until {r['valid_until']}" if r["valid_until"] else "")
                              for r in u["roles"]) or "(no roles)"
            state = "active" if u["is_active"] else "DISABLED"
            lines.append(f"  {u['username']:<20} {state:<8} clearance={u['clearance']:<12} "
                         f"last login={u['last_login'] or 'never'}  {roles}")
        lines += ["", f"Dormant (no login for {self.dormant_days} days): "
                  + (", ".join(self.dormant) or "none"),
                  "Privileged: " + (", ".join(self.privileged) or "none"),
                  "Separation-of-duties violations:"]
        lines += [f"  {v.username}: {v.role_a} x {v.role_b} ({v.reason})"
                  for v in self.violations] or ["  none"]
        return "\n".join(lines) + "\n"


def access_review(*, dormant_days: int = 90) -> AccessReview:
    now = clock.now()
    cutoff = now - dt.timedelta(days=dormant_days)
    users = list(User.objects.order_by("username").prefetch_related(
        "role_assignments__area", "role_assignments__schemes"))
    rows = []
    for user in users:
        rows.append({
            "username": user.username,
            "is_active": user.is_active,
            "clearance": Clearance(user.clearance).label,
            "last_login": (user.last_login.isoformat(timespec="seconds")
                           if user.last_login else None),
            "roles": [{
                "role": a.role, "area": a.area.code,
                "schemes": "all" if a.all_schemes else ",".join(s.code for s in a.schemes.all()),
                "valid_until": a.valid_until.isoformat() if a.valid_until else None,
            } for a in user.role_assignments.all()],
        })
    dormant = [u.username for u in users
               if u.is_active and (u.last_login or u.date_joined) < cutoff]
    privileged = [u.username for u in users if u.is_active and (
        u.is_superuser or u.clearance >= Clearance.SECRET
        or any(a.role in PRIVILEGED_ROLES for a in u.role_assignments.all()))]
    return AccessReview(generated_at=now.isoformat(timespec="seconds"),
                        dormant_days=dormant_days, users=rows, dormant=dormant,
                        privileged=privileged, violations=sod_violations())


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


# --- the landing page: work waiting, the access review in brief, the log's recent activity --


def _live_assignments(user: User) -> QuerySet[RoleAssignment]:
    return RoleAssignment.objects.filter(user=user).filter(
        Q(valid_until__isnull=True) | Q(valid_until__gte=clock.today()))


def approvals_waiting_for_user(*, user: User) -> QuerySet[ApprovalRequest]:
    """Pending maker-checker requests ``user`` may decide and has not decided yet: their role
    is the request's approver role over an area containing the request's, and they did not make
    it (the inverse of ``approval_checkers``), oldest first."""
    from spmis.access.models import ApprovalStatus

    if not user.is_active:
        return ApprovalRequest.objects.none()
    theirs = Q(pk__in=[])
    for role, path in _live_assignments(user).values_list("role", "area__path"):
        theirs |= Q(approver_role=role, area__path__startswith=path)
    return (ApprovalRequest.objects.filter(theirs, status=ApprovalStatus.PENDING)
            .exclude(maker=user).exclude(decisions__checker=user)
            .select_related("area", "maker").order_by("created_at", "id"))


@dataclass(frozen=True)
class AccessSummary:
    """The access review in brief, for the security administrator's landing page."""

    dormant_days: int
    dormant: list[str]  # active accounts without a login for ``dormant_days`` days
    locked: list[str]  # accounts locked after failed sign-ins, now
    review_due: list[RoleAssignment]  # roles ending within ``due_days`` days, or ended
    due_days: int
    stale: int  # roles held for over a year with no end date (due for recertification)
    pending_approvals: int
    violations: int  # users holding two incompatible roles


def access_summary(*, dormant_days: int = 90, due_days: int = 30) -> AccessSummary:
    """Counts and names only (usernames, roles): what the access review page details."""
    from spmis.access.models import ApprovalStatus

    now = clock.now()
    today = clock.today()
    cutoff = now - dt.timedelta(days=dormant_days)
    active = User.objects.filter(is_active=True)
    dormant = sorted(active.filter(Q(last_login__lt=cutoff) | Q(
        last_login__isnull=True, date_joined__lt=cutoff)).values_list("username", flat=True))
    locked = sorted(User.objects.filter(locked_until__gt=now).values_list(
        "username", flat=True))
    review_due = list(RoleAssignment.objects.filter(
        user__is_active=True, valid_until__lte=today + dt.timedelta(days=due_days))
        .select_related("user", "area").order_by("valid_until", "user__username"))
    stale = RoleAssignment.objects.filter(
        user__is_active=True, valid_until__isnull=True,
        granted_at__lt=now - dt.timedelta(days=365)).count()
    return AccessSummary(
        dormant_days=dormant_days, dormant=dormant, locked=locked, review_due=review_due,
        due_days=due_days, stale=stale,
        pending_approvals=ApprovalRequest.objects.filter(
            status=ApprovalStatus.PENDING).count(),
        violations=len(sod_violations()))


@dataclass(frozen=True)
class AuditActivity:
    """Entries of the log the user may audit since ``since``, by action (most first)."""

    since: dt.date
    total: int
    refused: int  # of which refusals (an action ending in ``refused`` or ``failed``)
    by_action: list[tuple[str, int]]
    last_at: dt.datetime | None


def audit_activity_for_user(*, user: User, days: int = 7) -> AuditActivity:
    """Counts only, in the areas the user may audit (as ``audit_search_for_user`` scopes
    them); reading entries themselves stays on the audit page, where it is logged."""
    from django.db.models import Count, Max

    since = clock.today() - dt.timedelta(days=days)
    scope = scope_for_user(user=user, permission=Permission.VIEW_AUDIT)
    if scope.empty:
        return AuditActivity(since=since, total=0, refused=0, by_action=[], last_at=None)
    events = AuditEvent.objects.filter(occurred_at__date__gte=since)
    if not _national(scope.area_paths):
        codes = Area.objects.filter(id__in=area_ids_within(paths=scope.area_paths))
        events = events.filter(area_code__in=codes.values("code"))
    rows = list(events.values("action").annotate(n=Count("id")).order_by("-n", "action"))
    refused = sum(r["n"] for r in rows if r["action"].endswith(("refused", "failed")))
    last = events.aggregate(last=Max("occurred_at"))["last"]
    return AuditActivity(since=since, total=sum(r["n"] for r in rows), refused=refused,
                         by_action=[(r["action"], r["n"]) for r in rows], last_at=last)


@dataclass(frozen=True)
class AuditLogState:
    """The log's size and its latest signed checkpoint, whose signature is checked here (the
    whole chain is verified by ``spmis audit verify``, which stores no result)."""

    entries: int
    last_at: dt.datetime | None
    checkpoint_size: int | None
    checkpoint_at: dt.datetime | None
    checkpoint_valid: bool | None  # None: no checkpoint yet
    problem: str = ""


def audit_log_state() -> AuditLogState:
    from django.db.models import Max

    from spmis.audit.checkpoint import CheckpointError, verify_checkpoint
    from spmis.audit.models import AuditCheckpoint
    from spmis.audit.services import audit_public_key
    from spmis.core.errors import ApplicationError

    entries = AuditEvent.objects.count()
    last_at = AuditEvent.objects.aggregate(last=Max("occurred_at"))["last"]
    checkpoint = AuditCheckpoint.objects.order_by("-size", "-id").first()
    if checkpoint is None:
        return AuditLogState(entries, last_at, None, None, None)
    try:
        verify_checkpoint(checkpoint.note, audit_public_key())
    except (CheckpointError, ApplicationError, ValueError) as exc:
        return AuditLogState(entries, last_at, checkpoint.size, checkpoint.created_at, False,
                             str(exc))
    return AuditLogState(entries, last_at, checkpoint.size, checkpoint.created_at, True)


def live_roles_for_user(*, user: User) -> list[str]:
    """The roles the user holds today (an expired assignment no longer counts)."""
    if not user.is_active:
        return []
    return sorted(set(_live_assignments(user).values_list("role", flat=True)))
