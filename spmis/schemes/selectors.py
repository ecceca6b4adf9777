"""Reads of the scheme catalogue and of enrolments (scoped to the user). Coverage figures are
the indicator engine's (spmis.indicators.selectors), never counted here."""

from __future__ import annotations

from django.db.models import Count, F, Q, QuerySet

from spmis.access.models import User
from spmis.access.policy import Permission
from spmis.access.selectors import Scope, scope_for_user
from spmis.audit.actions import AuditAction
from spmis.audit.services import audit_record
from spmis.core.errors import NotFound
from spmis.registry.models import Person
from spmis.schemes.models import Enrolment, EnrolmentStatus, Scheme


def scheme_list() -> QuerySet[Scheme]:
    return Scheme.objects.order_by("code")


def scheme_list_in_scope(*, scope: Scope) -> list[Scheme]:
    """The schemes a scope covers (every scheme when it is not limited), by code."""
    schemes = scheme_list()
    return list(schemes if scope.all_schemes else schemes.filter(pk__in=scope.scheme_ids))


def scheme_get(*, code: str) -> Scheme:
    scheme = Scheme.objects.filter(code=code).first()
    if scheme is None:
        raise NotFound(f"No scheme with code {code!r}.")
    return scheme


def scheme_enrolment_counts(*, user: User, scheme: Scheme) -> dict[str, int]:
    scope = scope_for_user(user=user, permission=Permission.VIEW_COVERAGE)
    rows = (
        Enrolment.objects.filter(scheme=scheme)
        .filter(scope.record_q("person__area"))
        .values("status")
        .annotate(n=Count("id"))
    )
    return {r["status"]: r["n"] for r in rows}


def scheme_exits_without_end_date(*, user: User, scheme: Scheme) -> dict[str, int]:
    """The registry's check on exits (in the user's areas): EXITED enrolments with no end
    date. Indicators end them on the first day of their exit's submission period
    (``by_submission``) or, with no lineage, never count them (``no_lineage``); see
    indicators.engine.in_force."""
    scope = scope_for_user(user=user, permission=Permission.VIEW_COVERAGE)
    return Enrolment.objects.filter(
        scope.record_q("person__area"), scheme=scheme, status=EnrolmentStatus.EXITED,
        end_date__isnull=True).aggregate(
        by_submission=Count("id", filter=Q(changed_by_submission__isnull=False)),
        no_lineage=Count("id", filter=Q(changed_by_submission__isnull=True)))


def enrolment_list_for_user(*, user: User, person: Person | None = None) -> QuerySet[Enrolment]:
    """Enrolments the user may see: in the area and schemes of one of their roles; unaudited:
    the caller audits (the person's page its read of the person, the enrolment search the
    search)."""
    scope = scope_for_user(user=user, permission=Permission.VIEW_PERSONS)
    enrolments = Enrolment.objects.filter(scope.record_q("person__area")).select_related(
        "scheme", "source")
    if person is not None:
        enrolments = enrolments.filter(person=person)
    return enrolments.order_by("person_id", "start_date", "id")


def enrolment_search_for_user(
    *, user: User, person_id: int | None = None, scheme_code: str = "", status: str = ""
) -> QuerySet[Enrolment]:
    """Enrolments in scope, filtered; audited like any other search of person data."""
    enrolments = enrolment_list_for_user(user=user)
    if person_id is not None:
        enrolments = enrolments.filter(person_id=person_id)
    if scheme_code:
        enrolments = enrolments.filter(scheme__code=scheme_code)
    if status:
        enrolments = enrolments.filter(status=status.upper())
    used = {"person": person_id, "scheme": scheme_code, "status": status}
    audit_record(actor=user, action=AuditAction.ENROLMENT_SEARCH, object_type="enrolment",
                 detail={"by": sorted(k for k, v in used.items() if v)})
    return enrolments


def enrolment_list_for_records(*, user: User, record_ids: list[int]) -> QuerySet[Enrolment]:
    """The enrolments of several person records (a person page's identity, records already
    in the user's scope) the user may see, each with its scheme, source and record; unaudited
    (the page audits its reads of the records). Open ones first, then the latest start."""
    scope = scope_for_user(user=user, permission=Permission.VIEW_PERSONS)
    return Enrolment.objects.filter(scope.record_q("person__area"),
                                    person_id__in=record_ids).select_related(
        "scheme", "source", "person__source").order_by(
        F("end_date").desc(nulls_first=True), "-start_date", "person_id", "id")
