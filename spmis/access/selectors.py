"""What a user may see: the union of the area subtrees and schemes of their live roles; and
searching the audit log, the auditor's door (scoped like every other read)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, gettext_noop

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
from spmis.core.errors import NotFound, ValidationFailed
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
    through its keyed hash, so the log can be searched by id without storing it. An action of
    the catalogue matches exactly; other text matches the actions starting with it
    (``person.``)."""
    events = _audit_events(user=user, filters=AuditFilters(
        action=action, actor=actor, object_type=object_type, object_id=object_id,
        area=area_code, since=since, until=until))
    used = {"action": action, "actor": actor, "object_type": object_type,
            "object_id": object_id, "area": area_code, "since": since, "until": until}
    audit_record(actor=user, action=AuditAction.AUDIT_SEARCH, object_type="audit",
                 detail={"by": sorted(k for k, v in used.items() if v)})
    return events


def _audit_events(*, user: User, filters: AuditFilters) -> QuerySet[AuditEvent]:
    """The entries matching ``filters`` the user may audit, newest first; unaudited."""
    scope = scope_for_user(user=user, permission=Permission.VIEW_AUDIT)
    if scope.empty:
        return AuditEvent.objects.none()
    action, actor, object_type = filters.action, filters.actor, filters.object_type
    object_id, area_code, since, until = (filters.object_id, filters.area, filters.since,
                                          filters.until)
    events = AuditEvent.objects.all()
    if not _national(scope.area_paths):
        codes = Area.objects.filter(id__in=area_ids_within(paths=scope.area_paths))
        events = events.filter(area_code__in=codes.values("code"))
    if action.strip() in AuditAction._value2member_map_:
        events = events.filter(action=action.strip())
    elif action.strip():
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


# --- The audit search: its filters, its action picker, readable objects, the CSV export -------


@dataclass(frozen=True)
class AuditFilters:
    """What an audit search asks for; the page, its CSV export and the API read the same."""

    action: str = ""
    actor: str = ""
    object_type: str = ""
    object_id: str = ""
    area: str = ""
    since: dt.date | None = None
    until: dt.date | None = None

    def used(self) -> list[str]:
        """The names of the filters given (recorded in the log; their values are not)."""
        return sorted(k for k, v in self.__dict__.items() if v not in ("", None))

    def query(self) -> dict[str, str]:
        """The filters as request parameters (the pager's and the export's links)."""
        return {k: (v.isoformat() if isinstance(v, dt.date) else v)
                for k, v in self.__dict__.items() if v not in ("", None)}


AUDIT_FILTER_NAMES = ("action", "actor", "object_type", "object_id", "area", "since", "until")


def audit_filters_parse(params: Any) -> tuple[AuditFilters, dict[str, str]]:
    """The filters typed in a request's parameters, and a message for each field that cannot
    be used (a date that is not one, From after To). The caller shows the messages and searches
    nothing: a filter is never dropped silently."""
    from spmis.core.periods import date_param

    text = {k: str(params.get(k, "") or "").strip()[:200] for k in AUDIT_FILTER_NAMES}
    errors: dict[str, str] = {}
    dates: dict[str, dt.date | None] = {}
    for name, label in (("since", _("From date")), ("until", _("To date"))):
        try:
            dates[name] = date_param(text[name], name=str(label).lower())
        except ValidationFailed:
            dates[name] = None
            errors[name] = _("%(field)s: type a date as YYYY-MM-DD, between 1900-01-01 and "
                             "2100-12-31.") % {"field": label}
    if dates["since"] and dates["until"] and dates["since"] > dates["until"]:
        errors["until"] = _("The To date (%(until)s) is before the From date (%(since)s).") % {
            "until": text["until"], "since": text["since"]}
    filters = AuditFilters(action=text["action"], actor=text["actor"],
                           object_type=text["object_type"], object_id=text["object_id"],
                           area=text["area"], since=dates["since"], until=dates["until"])
    return filters, errors


# The app each action's prefix belongs to, in the order of the dependency chain (ADR 0009).
AUDIT_ACTION_APPS: dict[str, str] = {
    "auth": "access", "api_token": "access", "mfa": "access", "user": "access",
    "role": "access", "approval": "access", "access": "access", "audit": "audit",
    "person": "registry", "household": "registry", "scheme": "schemes",
    "enrolment": "schemes", "payment": "payments", "source": "intake", "mapping": "intake",
    "submission": "intake", "aggregate": "intake", "period": "intake", "linkage": "linkage",
    "crosscheck": "linkage", "indicators": "indicators", "benchmark": "indicators",
    "survey": "indicators", "country": "synth",
}
AUDIT_APP_LABELS: dict[str, Any] = {
    "access": gettext_lazy("Sign-in, users and roles"),
    "audit": gettext_lazy("Audit log"),
    "registry": gettext_lazy("Persons and households"),
    "schemes": gettext_lazy("Schemes and enrolments"),
    "payments": gettext_lazy("Payments"),
    "intake": gettext_lazy("Data intake"),
    "linkage": gettext_lazy("Linkage and cross-checks"),
    "indicators": gettext_lazy("Indicators"),
    "synth": gettext_lazy("Synthetic data"),
    "other": gettext_lazy("Other"),
}


@dataclass(frozen=True)
class AuditActionGroup:
    app: str
    label: str
    actions: list[tuple[str, str]]  # (the action, its meaning in the active language)


def audit_action_groups() -> list[AuditActionGroup]:
    """Every action of the catalogue, grouped by the app that records it, each with its
    meaning translated: the audit search's action picker."""
    grouped: dict[str, list[tuple[str, str]]] = {}
    for action in AuditAction:
        app = AUDIT_ACTION_APPS.get(action.value.split(".")[0], "other")
        grouped.setdefault(app, []).append((action.value, _(action.meaning)))
    order = list(AUDIT_APP_LABELS)
    return [AuditActionGroup(app=app, label=str(AUDIT_APP_LABELS[app]), actions=actions)
            for app, actions in sorted(grouped.items(), key=lambda kv: order.index(kv[0]))]


def audit_action_label(value: str) -> str:
    """An action's meaning in the active language ("" for one outside the catalogue)."""
    member = AuditAction._value2member_map_.get(value)
    return _(member.meaning) if isinstance(member, AuditAction) else ""


# Readable objects. A later app that owns an object type (registry: persons and households)
# registers a describer in a module ``audit_objects`` of its own, found by name like Django's
# admin modules, so access imports none of them: ``(viewer, [(object_id as stored, area code)])
# -> {object_id: label}``, a label only for the objects the viewer may see.
AuditObjectDescriber = Callable[[User, list[tuple[str, str]]], dict[str, str]]
_DESCRIBERS: dict[str, AuditObjectDescriber] = {}
_describers_found = False


def audit_object_describer_register(*, object_type: str,
                                    describer: AuditObjectDescriber) -> None:
    """Describe entries of ``object_type`` readably (registering again replaces)."""
    _DESCRIBERS[object_type] = describer


def _describers() -> dict[str, AuditObjectDescriber]:
    global _describers_found
    if not _describers_found:
        from django.utils.module_loading import autodiscover_modules

        autodiscover_modules("audit_objects")
        _describers_found = True
    return {"user": _describe_users, **_DESCRIBERS}


def _describe_users(viewer: User, objects: list[tuple[str, str]]) -> dict[str, str]:
    """Users by name: whoever audits the log already sees every actor's username."""
    ids = {ref for ref, _area in objects if ref.isascii() and ref.isdigit() and len(ref) < 12}
    names = User.objects.filter(pk__in=[int(i) for i in ids]).values_list("pk", "username")
    return {str(pk): _("user %(id)s (%(name)s)") % {"id": pk, "name": name}
            for pk, name in names}


def audit_objects_describe(*, user: User, events: Iterable[AuditEvent]) -> dict[int, str]:
    """Readable labels of the entries' objects, by entry ``seq``: e.g. "person 1234 (Amina K.,
    Commune 3)" for a viewer whose roles and clearance let them see that person; nothing for
    the others (their page shows the type and the stored id or keyed hash, as the log holds
    it)."""
    wanted: dict[str, dict[tuple[str, str], list[int]]] = {}
    for event in events:
        if event.object_type and event.object_id:
            wanted.setdefault(event.object_type, {}).setdefault(
                (event.object_id, event.area_code), []).append(event.seq)
    labels: dict[int, str] = {}
    describers = _describers()
    for object_type, objects in wanted.items():
        describer = describers.get(object_type)
        if describer is None:
            continue
        found = describer(user, list(objects))
        for (ref, _area), seqs in objects.items():
            if ref in found:
                labels.update(dict.fromkeys(seqs, found[ref]))
    return labels


AUDIT_CSV_COLUMNS = ("seq", "occurred_at_utc", "actor", "action", "object_type", "object_id",
                     "object", "area", "purpose", "client_address", "detail")
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")  # as intake's neutralise_cell
EXPORT_CHUNK = 500


def _cell(value: Any) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


@dataclass
class AuditExport:
    """An export of an audit search: its size, fixed when it was asked for (entries written
    later, this export's own among them, are not in it), and its rows, read in chunks."""

    rows: int
    events: QuerySet[AuditEvent]
    user: User

    def lines(self) -> Iterator[list[str]]:
        """The header, then one row per entry, newest first; an object readable as on the
        page."""
        yield list(AUDIT_CSV_COLUMNS)
        last_seq: int | None = None
        while True:
            chunk = self.events if last_seq is None else self.events.filter(seq__lt=last_seq)
            batch = list(chunk[:EXPORT_CHUNK])
            if not batch:
                return
            labels = audit_objects_describe(user=self.user, events=batch)
            for e in batch:
                yield [str(e.seq), e.occurred_at.astimezone(dt.UTC).isoformat(timespec="seconds"),
                       _cell(e.actor_username), e.action, _cell(e.object_type),
                       _cell(e.object_id), _cell(labels.get(e.seq, "")), _cell(e.area_code),
                       _cell(e.purpose), _cell(e.client_address),
                       _cell(json.dumps(e.detail, sort_keys=True, ensure_ascii=False))]
            last_seq = batch[-1].seq


def audit_export_for_user(*, user: User, filters: AuditFilters) -> AuditExport:
    """The entries of an audit search for export, the export recorded in the log
    (``audit.export``: which filters, not their values, and how many rows) before a row
    leaves. The same rows the search page lists, in the same order."""
    events = _audit_events(user=user, filters=filters)
    last = AuditEvent.objects.order_by("-seq").values_list("seq", flat=True).first()
    events = events.filter(seq__lte=last if last is not None else -1)
    rows = events.count()
    audit_record(actor=user, action=AuditAction.AUDIT_EXPORT, object_type="audit",
                 detail={"by": filters.used(), "rows": rows, "format": "csv"})
    return AuditExport(rows=rows, events=events, user=user)


# --- The access review page: who holds what, and what a security administrator may change ----


@dataclass(frozen=True)
class ReviewRole:
    id: int
    role: str
    area_code: str
    area_name: str
    schemes: str  # "all" or codes
    valid_until: dt.date | None


@dataclass(frozen=True)
class ReviewUser:
    id: int
    username: str
    is_active: bool
    clearance: str
    last_login: dt.datetime | None
    date_joined: dt.datetime
    roles: list[ReviewRole]
    live_tokens: int
    sessions: int


def access_review_users() -> list[ReviewUser]:
    """Every user with their roles, live API tokens and recorded web sessions, by name: the
    access review page's table (times as datetimes, for the page's formatter)."""
    from django.db.models import Count

    from spmis.access.models import ApiToken, UserSession

    now = clock.now()
    tokens = dict(ApiToken.objects.filter(revoked_at__isnull=True, expires_at__gt=now)
                  .values("user_id").annotate(n=Count("id")).values_list("user_id", "n"))
    sessions = dict(UserSession.objects.values("user_id").annotate(n=Count("session_key"))
                    .values_list("user_id", "n"))
    users = User.objects.order_by("username").prefetch_related(
        "role_assignments__area", "role_assignments__schemes")
    return [ReviewUser(
        id=u.pk, username=u.username, is_active=u.is_active,
        clearance=str(Clearance(u.clearance).label), last_login=u.last_login,
        date_joined=u.date_joined,
        roles=[ReviewRole(id=a.pk, role=a.role, area_code=a.area.code, area_name=a.area.name,
                          schemes="all" if a.all_schemes else ",".join(
                              sorted(s.code for s in a.schemes.all())),
                          valid_until=a.valid_until)
               for a in sorted(u.role_assignments.all(), key=lambda a: (a.role, a.area.code))],
        live_tokens=tokens.get(u.pk, 0), sessions=sessions.get(u.pk, 0),
    ) for u in users]


@dataclass(frozen=True)
class ChangeRefusal:
    code: str  # "self" or "outside"
    message: str  # English, translated where shown


def access_change_refusal(*, actor: User, target: User, area_paths: Iterable[str],
                          scope: Scope | None = None) -> ChangeRefusal | None:
    """Why ``actor`` may not disable, sign out or revoke a role of ``target`` over
    ``area_paths`` (the areas of the roles concerned), or None. The permission itself
    (manage access) is checked by the caller; ``scope`` is the actor's for it."""
    if actor.pk == target.pk:
        return ChangeRefusal("self", gettext_noop(
            "You cannot change your own access: ask another security administrator."))
    scope = scope or scope_for_user(user=actor, permission=Permission.MANAGE_ACCESS)
    if any(not scope.covers(path) for path in area_paths):
        return ChangeRefusal("outside", gettext_noop(
            "This user holds a role outside your areas: a security administrator over that "
            "area must do it."))
    return None


def user_sessions_and_tokens(*, user: User) -> tuple[int, int]:
    """How many web sessions ``user`` has open (as recorded at login) and live API tokens."""
    from spmis.access.models import ApiToken, UserSession

    return (UserSession.objects.filter(user=user).count(),
            ApiToken.objects.filter(user=user, revoked_at__isnull=True,
                                    expires_at__gt=clock.now()).count())


def audit_actor_names(*, user: User) -> list[str]:
    """Usernames to offer in the audit search's user field (whoever may search the log sees
    every actor's name in it anyway); empty for a user who may not."""
    if not user_has_permission(user=user, permission=Permission.VIEW_AUDIT):
        return []
    return list(User.objects.order_by("username").values_list("username", flat=True)[:1000])
