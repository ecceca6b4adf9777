"""Reads of linkage pairs for clerical review: only pairs whose two records are both inside
the reviewer's scope for registering persons; and of the verification flags an authoritative
registry raised, only those whose person is inside that scope. Every read leaves an audit
trace."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any

from django.db.models import (
    BigIntegerField,
    BooleanField,
    Case,
    Count,
    ExpressionWrapper,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    When,
)
from django.db.models.functions import Abs, Coalesce

from spmis.access.models import User
from spmis.access.policy import Permission
from spmis.access.selectors import scope_for_user
from spmis.audit.actions import AuditAction
from spmis.audit.services import audit_record
from spmis.core import clock
from spmis.core.doors import MAX_ID
from spmis.core.errors import NotFound
from spmis.geography.selectors import area_get, area_ids_within
from spmis.linkage.models import (
    FlagReason,
    FlagState,
    Link,
    LinkageRun,
    LinkState,
    PersonIdentity,
    VerificationFlag,
)
from spmis.registry.selectors import persons_in_scope, persons_in_scope_for

# Who decides linkage pairs (both records inside their scope for it), and who decides the
# verification flags the cross-checks raise (the person inside their scope for it).
REVIEW_PERMISSION = Permission.REVIEW_LINKAGE
FLAG_PERMISSION = Permission.REGISTER_PERSONS


def _links_in_scope(user: User) -> QuerySet[Link]:
    persons = persons_in_scope_for(user=user, permission=REVIEW_PERMISSION)
    return Link.objects.filter(person_l__in=persons, person_r__in=persons).select_related(
        "person_l__area", "person_l__source", "person_r__area", "person_r__source",
        "run__model", "decided_by")


def link_list_for_user(*, user: User, state: str = LinkState.REVIEW) -> QuerySet[Link]:
    """Pairs in ``state`` whose two records the user may review, in the order a reviewer
    should take them: the pairs whose decision would change the most first (``impact``: the
    records of the two identities a match would join, or of the one identity "not a match"
    would split, ``splits`` telling which), then the nearest the decision boundary (match
    weight 0, probability one half), then by id. Each pair once."""
    if state not in LinkState.values:
        raise NotFound(f"No link state {state!r}.")
    audit_record(actor=user, action=AuditAction.LINKAGE_REVIEW_LIST, object_type="link",
                 detail={"state": state})
    return _queue_ordered(_links_in_scope(user).filter(state=state))


def _queue_ordered(links: QuerySet[Link]) -> QuerySet[Link]:
    """``links`` in the review queue's order, annotated with what a decision would change."""
    return links.annotate(
        identity_l=_identity("person_l"), identity_r=_identity("person_r")).annotate(
        size_l=Coalesce(_size("identity_l"), 1), size_r=Coalesce(_size("identity_r"), 1),
        splits=ExpressionWrapper(Q(identity_l=F("identity_r")), output_field=BooleanField()),
    ).annotate(impact=Case(When(splits=True, then=F("size_l")),
                           default=F("size_l") + F("size_r"))).order_by(
        F("impact").desc(), Abs("match_weight").asc(nulls_last=True), "id")


def _identity(person: str) -> Subquery:
    return Subquery(PersonIdentity.objects.filter(person_id=OuterRef(person)).values(
        "identity")[:1], output_field=BigIntegerField())


def _size(identity: str) -> Subquery:
    return Subquery(PersonIdentity.objects.filter(identity=OuterRef(identity)).order_by()
                    .values("identity").annotate(n=Count("person_id")).values("n")[:1],
                    output_field=IntegerField())


def link_get_for_user(*, user: User, link_id: int) -> Link:
    """One pair, if both its records are in scope; else (logged) not found."""
    link = _links_in_scope(user).filter(pk=link_id).first()
    if link is None:
        audit_record(actor=user, action=AuditAction.LINKAGE_VIEW_REFUSED, object_type="link",
                     object_id=link_id,
                     detail={"exists": Link.objects.filter(pk=link_id).exists()})
        raise NotFound("No such pair.")
    audit_record(actor=user, action=AuditAction.LINKAGE_VIEW, object_type="link", object_id=link.pk,
                 area_code=link.person_l.area.code)
    return link


def link_in_scope(*, user: User, link_id: int) -> bool:
    """Whether the user may decide on the pair (both records in scope); nothing logged."""
    return _links_in_scope(user).filter(pk=link_id).exists()


def records_in_scope(*, user: User, ids: set[int]) -> set[int]:
    """Which of these person records the user may review (ids only; nothing logged)."""
    persons = persons_in_scope_for(user=user, permission=REVIEW_PERMISSION)
    return set(persons.filter(pk__in=sorted(ids)).values_list("pk", flat=True))


def record_pair_for_user(*, user: User, person_a: int, person_b: int) -> tuple[Any, Any]:
    """Two person records side by side for a decision on them (lower id first), if both are
    in the user's scope for reviewing; each read is logged. Else (logged) not found."""
    low, high = sorted((person_a, person_b))
    possible = [x for x in (low, high) if 1 <= x <= MAX_ID]  # larger: no such row, no query
    found = {p.pk: p for p in persons_in_scope_for(user=user, permission=REVIEW_PERMISSION)
             .filter(pk__in=possible).select_related("area", "source")}
    if low == high or len(found) != 2:
        audit_record(actor=user, action=AuditAction.LINKAGE_VIEW_REFUSED,
                     object_type="person", object_id=f"{low}-{high}", detail={})
        raise NotFound("No such pair of records.")
    for person in found.values():
        audit_record(actor=user, action=AuditAction.PERSON_VIEW, object_type="person",
                     object_id=person.pk, area_code=person.area.code,
                     purpose=f"linkage decision on records {low} and {high}")
    return found[low], found[high]


def flag_in_scope(*, user: User, flag_id: int) -> bool:
    """Whether the user may decide the flag (its person in scope); nothing logged."""
    return _flags_in_scope(user).filter(pk=flag_id).exists()


def _flags_in_scope(user: User) -> QuerySet[VerificationFlag]:
    """Flags whose person the user may register and whose scheme is one of the role that
    covers the person's area (a flag of no scheme goes with the person)."""
    scope = scope_for_user(user=user, permission=FLAG_PERMISSION)
    of_scheme = scope.where("person__area", lambda ids: Q(scheme_id__in=ids)
                            | Q(scheme_id__isnull=True))
    return VerificationFlag.objects.filter(of_scheme, person__in=persons_in_scope(
        scope=scope)).select_related(
        "person__area", "person__source", "evidence__area", "evidence__source", "scheme",
        "registry", "decided_by")


def _in_area(flags: QuerySet[VerificationFlag], area_code: str) -> QuerySet[VerificationFlag]:
    """Flags whose person lives in the subtree of the area with P-code ``area_code`` (an
    unknown code matches nothing)."""
    area_code = area_code.replace("\x00", "").strip()
    if not area_code:
        return flags
    area = area_get(code=area_code)
    if area is None:
        return flags.none()
    return flags.filter(person__area__in=area_ids_within(paths=[area.path]))


def flag_list_for_user(*, user: User, state: str = FlagState.OPEN, reason: str = "",
                       area_code: str = "") -> QuerySet[VerificationFlag]:
    """Flags in ``state`` (and of ``reason``, and in the area subtree of ``area_code``, when
    given) whose person the user may register, the earliest deadline first."""
    if state not in FlagState.values:
        raise NotFound(f"No flag state {state!r}.")
    if reason and reason not in FlagReason.values:
        raise NotFound(f"No flag reason {reason!r}.")
    audit_record(actor=user, action=AuditAction.CROSSCHECK_FLAG_LIST,
                 object_type="verification_flag",
                 area_code=area_code.strip()[:32],
                 detail={"state": state, "reason": reason, "area": bool(area_code.strip())})
    flags = _in_area(_flags_in_scope(user).filter(state=state), area_code)
    if reason:
        flags = flags.filter(reason_code=reason)
    return flags.order_by("due_on", "id")


@dataclass(frozen=True)
class FlagSummary:
    """Open flags in scope: how many of each reason (every reason listed, zeros included),
    and how many are past their deadline."""

    by_reason: list[tuple[str, str, int]]  # (code, label, count)
    total: int
    overdue: int


def flag_summary_for_user(*, user: User, area_code: str = "",
                          today: dt.date | None = None) -> FlagSummary:
    """Counts only (no personal data): unaudited, like the other counts."""
    today = today or clock.today()
    open_flags = _in_area(_flags_in_scope(user).filter(state=FlagState.OPEN), area_code)
    counts = open_flags.aggregate(
        total=Count("id"), overdue=Count("id", filter=Q(due_on__lt=today)),
        **{f"r_{code}": Count("id", filter=Q(reason_code=code)) for code in FlagReason.values})
    return FlagSummary(
        by_reason=[(code, str(label), counts[f"r_{code}"]) for code, label in FlagReason.choices],
        total=counts["total"], overdue=counts["overdue"])


@dataclass(frozen=True)
class FlagView:
    """A flag as its reader may see it: the evidence record in full only when that record is
    in the reader's scope too; otherwise only what the check needs (its date of death)."""

    flag: VerificationFlag
    evidence_shown: bool


def flag_view_for_user(*, user: User, flag_id: int) -> FlagView:
    """One flag for its page; the person records shown are logged as reads of them."""
    flag = flag_get_for_user(user=user, flag_id=flag_id)
    shown = flag.evidence_id is not None and persons_in_scope_for(
        user=user, permission=FLAG_PERMISSION).filter(pk=flag.evidence_id).exists()
    for person in (flag.person, flag.evidence if shown else None):
        if person is not None:
            audit_record(actor=user, action=AuditAction.PERSON_VIEW, object_type="person",
                         object_id=person.pk, area_code=person.area.code,
                         purpose=f"verification flag {flag.pk}")
    return FlagView(flag=flag, evidence_shown=shown)


def flag_get_for_user(*, user: User, flag_id: int) -> VerificationFlag:
    """One flag, if its person and scheme are in scope; else (logged) not found."""
    flag = _flags_in_scope(user).filter(pk=flag_id).first()
    if flag is None:
        audit_record(actor=user, action=AuditAction.CROSSCHECK_VIEW_REFUSED,
                     object_type="verification_flag", object_id=flag_id,
                     detail={"exists": VerificationFlag.objects.filter(pk=flag_id).exists()})
        raise NotFound("No such verification flag.")
    audit_record(actor=user, action=AuditAction.CROSSCHECK_VIEW, object_type="verification_flag",
                 object_id=flag.pk, area_code=flag.person.area.code)
    return flag


# --- the landing page's work lists (counts only: no personal data, nothing logged) ----------


@dataclass(frozen=True)
class FlagsDue:
    """Open verification flags in the user's scope by deadline: past it, due within
    ``within_days`` days, and the earliest deadline still open."""

    open: int
    overdue: int
    due_soon: int
    within_days: int
    next_due: dt.date | None


def flags_due_for_user(*, user: User, today: dt.date | None = None,
                       within_days: int = 7) -> FlagsDue:
    """Counts for the landing page, from the same scope as the flag list."""
    today = today or clock.today()
    open_flags = _flags_in_scope(user).filter(state=FlagState.OPEN)
    counts = open_flags.aggregate(
        open=Count("id"), overdue=Count("id", filter=Q(due_on__lt=today)),
        due_soon=Count("id", filter=Q(due_on__gte=today,
                                      due_on__lte=today + dt.timedelta(days=within_days))))
    next_due = (open_flags.order_by("due_on").values_list("due_on", flat=True).first()
                if counts["open"] else None)
    return FlagsDue(open=counts["open"], overdue=counts["overdue"],
                    due_soon=counts["due_soon"], within_days=within_days, next_due=next_due)


def review_waiting_count_for_user(*, user: User) -> int:
    """How many pairs the review list offers the user: the queue's questions (each pair of
    people once, none a decision already answered), without logging a read of the list."""
    return len(_entries(_links_in_scope(user).filter(state=LinkState.REVIEW),
                        LinkState.REVIEW).entries)


def linkage_run_latest() -> LinkageRun | None:
    """The latest linkage run (finished or not), or None: for the system administrator's
    state of the system."""
    return LinkageRun.objects.select_related("source").order_by("-started_at", "-id").first()


# --- the person page: the identity's records, its flags and its linkage history --------------


def identity_member_ids(*, user: User, person_id: int) -> list[int] | None:
    """The record ids of the person's identity (ids only: nothing read, nothing logged), or
    None when the user's clearance hides which records are linked (``PersonIdentity``)."""
    from spmis.access.classification import masked_fields

    if {"person", "identity"} & masked_fields(user=user, model=PersonIdentity):
        return None
    identity = PersonIdentity.objects.filter(person_id=person_id).values_list(
        "identity", flat=True).first()
    if identity is None:
        return [person_id]
    return list(PersonIdentity.objects.filter(identity=identity).order_by("person_id")
                .values_list("person_id", flat=True))


def person_flags_for_user(*, user: User, record_ids: list[int],
                          states: tuple[str, ...] = (FlagState.OPEN,)
                          ) -> list[VerificationFlag]:
    """Flags in ``states`` on these records (the person page's, already in the user's scope
    for viewing persons) whose scheme the user may see for the record's area (a flag of no
    scheme goes with its record); unaudited: the page audited its reads of the records. The
    earliest deadline first."""
    scope = scope_for_user(user=user, permission=Permission.VIEW_PERSONS)
    of_scheme = scope.where("person__area", lambda ids: Q(scheme_id__in=ids)
                            | Q(scheme_id__isnull=True))
    return list(VerificationFlag.objects.filter(
        of_scheme, person_id__in=record_ids, state__in=states).select_related(
        "scheme", "registry").order_by("due_on", "id"))


@dataclass(frozen=True)
class HistoryDecision:
    """A review decision that took effect on a pair touching the page's records (from the
    audit log), or one waiting for an approver (``pending``). ``other`` is the pair's record
    that is not among the page's (None when both are): shown only as an id when the user may
    see it, else as a record outside the scope."""

    link_id: int
    records: tuple[int, int]
    other_shown: bool
    was: str
    became: str
    by: str
    at: dt.datetime | None
    reason: str
    pending: bool = False


@dataclass(frozen=True)
class HistoryRun:
    """A linkage run that placed some of the page's records in their identity, or whose
    automatic links join them."""

    run: LinkageRun
    records: int  # how many of the page's records it placed or linked


@dataclass(frozen=True)
class IdentityHistory:
    decisions: list[HistoryDecision]
    runs: list[HistoryRun]
    who_hidden: bool
    reason_hidden: bool


def identity_history_for_user(*, user: User, record_ids: list[int]) -> IdentityHistory:
    """The linkage history of the page's records (already in scope and audited): every review
    decision on a pair touching one of them, from the audit log (who, when, the states before
    and after, the reason), the newest first, and any waiting for an approver; and the runs
    that linked them. Who decided and why are masked like a link's ``decided_by`` and
    ``reason``. A pair's record outside the user's scope is never named."""
    from spmis.access.classification import masked_fields
    from spmis.audit.models import AuditEvent

    hidden = masked_fields(user=user, model=Link)
    links = {link.pk: link for link in Link.objects.filter(
        Q(person_l_id__in=record_ids) | Q(person_r_id__in=record_ids)).select_related(
        "pending_by")}
    mine = set(record_ids)
    others = {link.person_r_id if link.person_l_id in mine else link.person_l_id
              for link in links.values()} - mine
    visible = set(persons_in_scope_for(user=user, permission=Permission.VIEW_PERSONS).filter(
        pk__in=sorted(others)).values_list("pk", flat=True)) if others else set()
    who_hidden, reason_hidden = "decided_by" in hidden, "reason" in hidden

    def decision(link: Link, **values: Any) -> HistoryDecision:
        other = next((p for p in (link.person_l_id, link.person_r_id) if p not in mine), None)
        return HistoryDecision(link_id=link.pk, records=(link.person_l_id, link.person_r_id),
                               other_shown=other is None or other in visible, **values)

    decisions = [decision(link, was="", became=link.pending_state,
                          by="" if who_hidden or link.pending_by is None
                          else link.pending_by.username,
                          at=None, reason="" if reason_hidden else link.pending_reason,
                          pending=True)
                 for link in links.values() if link.pending_state]
    events = AuditEvent.objects.filter(
        action=AuditAction.LINKAGE_DECIDE, object_type="link",
        object_id__in=[str(pk) for pk in sorted(links)]).order_by("-seq") if links else []
    for event in events:
        detail = event.detail if isinstance(event.detail, dict) else {}
        decisions.append(decision(
            links[int(event.object_id)], was=str(detail.get("from") or ""),
            became=str(detail.get("to") or ""),
            by="" if who_hidden else event.actor_username, at=event.occurred_at,
            reason="" if reason_hidden else str(detail.get("reason") or "")))
    placed: dict[int, set[int]] = {}
    for person_id, run_id in PersonIdentity.objects.filter(
            person_id__in=record_ids, run__isnull=False).values_list("person_id", "run_id"):
        placed.setdefault(run_id, set()).add(person_id)
    for link in links.values():
        if link.state == LinkState.AUTO:
            placed.setdefault(link.run_id, set()).update(
                {link.person_l_id, link.person_r_id} & mine)
    runs = LinkageRun.objects.filter(pk__in=sorted(placed)).select_related(
        "model", "source").order_by("-started_at", "-id")
    return IdentityHistory(decisions=decisions,
                           runs=[HistoryRun(run=run, records=len(placed[run.pk])) for run in runs],
                           who_hidden=who_hidden, reason_hidden=reason_hidden)


# --- the review queue as a reviewer works it: each pair of identities once, and the next ------


@dataclass(frozen=True)
class QueueEntry:
    """A pair in the queue (ids and order only: nothing of the records)."""

    link_id: int
    impact: int
    splits: bool
    closeness: float  # |match weight|: the nearer even odds, the sooner
    person_l: int = 0
    person_r: int = 0
    probability: float | None = None

    @property
    def key(self) -> tuple[int, float, int]:
        """The queue's order: the largest change first, then the nearest even odds, then id."""
        return (-self.impact, self.closeness, self.link_id)


@dataclass(frozen=True)
class ReviewQueue:
    """The pairs in one state, in the order to take them, each question once. Two records of
    one person (joined already) each scored against the same other person are one question,
    asked once: the other pairs between the same two identities wait (``waiting``) until it is
    decided. A pair a decision on the same two people already answered is not asked again
    (``settled``): two identities a reviewer said are not one person (a match would be
    refused), or a record a reviewer matched to another record of the same identity."""

    state: str
    entries: list[QueueEntry]
    waiting: int
    settled: int = 0
    pending: int = 0  # decided, waiting for an approver (maker-checker): nothing to do here

    def index(self, link_id: int) -> int | None:
        """The pair's place in the queue (0 first), or None when it is not listed."""
        return next((i for i, e in enumerate(self.entries) if e.link_id == link_id), None)

    def after(self, key: tuple[int, float, int] | None) -> QueueEntry | None:
        """The first pair that comes after ``key`` in the queue's order (None: the first)."""
        return next((e for e in self.entries if key is None or e.key > key), None)


def _decided_between() -> tuple[set[tuple[int, int]], dict[int, set[int]]]:
    """The pairs of identities a reviewer kept apart (not a match), and for each record the
    identities of the records a reviewer matched it to."""
    apart: set[tuple[int, int]] = set()
    matched: dict[int, set[int]] = {}
    for state, p_l, p_r, id_l, id_r in Link.objects.filter(
            state__in=(LinkState.NON_MATCH, LinkState.MATCH)).annotate(
            identity_l=_identity("person_l"), identity_r=_identity("person_r")).values_list(
            "state", "person_l_id", "person_r_id", "identity_l", "identity_r"):
        side_l = id_l if id_l is not None else p_l
        side_r = id_r if id_r is not None else p_r
        if state == LinkState.NON_MATCH:
            apart.add((min(side_l, side_r), max(side_l, side_r)))
        else:
            matched.setdefault(p_l, set()).add(side_r)
            matched.setdefault(p_r, set()).add(side_l)
    return apart, matched


def _entries(links: QuerySet[Link], state: str) -> ReviewQueue:
    entries: list[QueueEntry] = []
    seen: set[tuple[int, ...]] = set()
    waiting = settled = pending = 0
    apart, matched = _decided_between() if state == LinkState.REVIEW else (set(), {})
    ordered: Any = _queue_ordered(links)  # annotated: impact, splits, identity_l/_r
    for pk, impact, splits, weight, id_l, id_r, p_l, p_r, waits, p in ordered.values_list(
            "id", "impact", "splits", "match_weight", "identity_l", "identity_r", "person_l_id",
            "person_r_id", "pending_state", "match_probability"):
        if waits:
            pending += 1
            continue
        # A record without an identity row is an identity of its own, named by its id as
        # identities are (their lowest record id).
        side_l = id_l if id_l is not None else p_l
        side_r = id_r if id_r is not None else p_r
        sides = (min(side_l, side_r), max(side_l, side_r))
        if (not splits and sides in apart) or (splits and (
                side_l in matched.get(p_l, set()) or side_l in matched.get(p_r, set()))):
            settled += 1
            continue
        question = (pk,) if splits else sides
        if question in seen:
            waiting += 1
            continue
        seen.add(question)
        entries.append(QueueEntry(link_id=pk, impact=int(impact or 0), splits=bool(splits),
                                  closeness=abs(weight) if weight is not None else math.inf,
                                  person_l=p_l, person_r=p_r, probability=p))
    return ReviewQueue(state=state, entries=entries, waiting=waiting, settled=settled,
                       pending=pending)


def review_queue_for_user(*, user: User, state: str = LinkState.REVIEW) -> ReviewQueue:
    """The review list: the pairs in ``state`` the user may decide, in the queue's order, each
    pair of identities once. Logged like the list."""
    links = link_list_for_user(user=user, state=state)  # checks the state, and logs
    return _entries(links.order_by(), state)


@dataclass(frozen=True)
class QueuePlace:
    """Where a reviewer is in a queue: the pair to take next (None: none after), how many
    pairs the queue lists, and the place (from 1) of the pair asked about, if listed."""

    next_id: int | None
    total: int
    position: int | None


def review_queue_place_for_user(*, user: User, state: str, link_id: int | None = None,
                                key: tuple[int, float, int] | None = None) -> QueuePlace:
    """The pair to take after ``link_id`` (or after the queue order ``key`` it had before a
    decision moved it out; neither: the first): ids only, nothing logged (the pair opened is
    logged when it is read)."""
    if state not in LinkState.values:
        raise NotFound(f"No link state {state!r}.")
    queue = _entries(_links_in_scope(user).filter(state=state), state)
    index = queue.index(link_id) if link_id is not None else None
    if key is None and link_id is not None:
        key = review_queue_key_for_user(user=user, state=state, link_id=link_id)
    following = queue.after(key)
    if following is not None and following.link_id == link_id:
        following = queue.after(following.key)
    return QueuePlace(next_id=following.link_id if following else None,
                      total=len(queue.entries), position=None if index is None else index + 1)


def review_queue_key_for_user(*, user: User, state: str,
                              link_id: int) -> tuple[int, float, int] | None:
    """Where the pair stands in the queue of ``state`` now (None: not in it); nothing logged."""
    if state not in LinkState.values:
        return None
    ordered: Any = _queue_ordered(_links_in_scope(user).filter(state=state, pk=link_id))
    row = ordered.values_list("impact", "match_weight").first()
    if row is None:
        return None
    impact, weight = row
    return (-int(impact or 0), abs(weight) if weight is not None else math.inf, link_id)


def links_for_user_by_id(*, user: User, ids: list[int]) -> dict[int, Link]:
    """The listed pairs (their records joined) by id, inside the user's scope; unaudited: for
    the page of a list whose reading was logged."""
    return {link.pk: link for link in _links_in_scope(user).filter(pk__in=ids)}
