"""Reads of the scheme catalogue, of enrolments (scoped to the user) and the headline coverage
figures."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import Count, Exists, Max, OuterRef, Q, QuerySet, Sum

from spmis.access.models import User
from spmis.access.policy import Permission
from spmis.access.selectors import Scope, scope_for_user
from spmis.audit.actions import AuditAction
from spmis.audit.services import audit_record
from spmis.core.errors import NotFound
from spmis.geography.models import PopulationDenominator
from spmis.registry.models import Person
from spmis.registry.selectors import persons_in_scope
from spmis.schemes.models import Enrolment, EnrolmentStatus, Guarantee, Scheme

# Who each R202 guarantee is for, as [from, to] ages (None: open). The indicator engine will
# make these effective-dated national parameters; the dashboard needs a default now.
GUARANTEE_AGES: dict[str, tuple[int, int | None]] = {
    Guarantee.HEALTH: (0, None),
    Guarantee.CHILDREN: (0, 17),
    Guarantee.WORKING_AGE: (18, 64),
    Guarantee.OLD_AGE: (65, None),
}


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
    if not (scope.all_schemes or scheme.pk in scope.scheme_ids):
        return {}
    rows = (
        Enrolment.objects.filter(scheme=scheme)
        .filter(scope.area_q("person__area"))
        .values("status")
        .annotate(n=Count("id"))
    )
    return {r["status"]: r["n"] for r in rows}


@dataclass
class CoverageFigure:
    """Persons covered in a group, by sex, against the group's population denominator."""

    key: str
    label: str
    covered: dict[str, int] = field(default_factory=dict)  # sex -> persons
    population: int | None = None  # None: no denominator can be formed for this group

    @property
    def covered_total(self) -> int:
        return sum(self.covered.values())

    @property
    def rate(self) -> float | None:
        if not self.population:
            return None
        return 100.0 * self.covered_total / self.population


@dataclass
class Coverage:
    as_of: dt.date
    population_year: int | None
    total: CoverageFigure
    by_guarantee: list[CoverageFigure]


def coverage_headline(*, user: User, as_of: dt.date) -> Coverage:
    """Persons alive on ``as_of`` with an active enrolment, counted once, within the user's areas.

    The overall figure counts coverage by any scheme; each guarantee counts persons of its age
    group covered by a scheme serving that guarantee.
    """
    scope = scope_for_user(user=user, permission=Permission.VIEW_COVERAGE)
    year = (
        PopulationDenominator.objects.filter(year__lte=as_of.year).aggregate(y=Max("year"))["y"]
    )
    total = _figure(scope, as_of, year, "TOTAL", "Any scheme", None, (0, None))
    guarantees = [
        _figure(scope, as_of, year, g.value, str(g.label), g.value, GUARANTEE_AGES[g.value])
        for g in Guarantee
    ]
    return Coverage(as_of=as_of, population_year=year, total=total, by_guarantee=guarantees)


def _figure(scope: Scope, as_of: dt.date, year: int | None, key: str, label: str,
            guarantee: str | None, ages: tuple[int, int | None]) -> CoverageFigure:
    # One subquery holds every condition, so they all apply to the same enrolment.
    active = Enrolment.objects.filter(
        Q(end_date__isnull=True) | Q(end_date__gte=as_of),
        person=OuterRef("pk"),
        status=EnrolmentStatus.ACTIVE,
        start_date__lte=as_of,
    ).filter(scope.scheme_q())
    if guarantee:
        active = active.filter(scheme__guarantee=guarantee)
    persons = (
        Person.objects.filter(scope.area_q())
        .filter(Q(date_of_death__isnull=True) | Q(date_of_death__gt=as_of))
        .filter(_born_between(as_of, ages))
        .filter(Exists(active))
    )
    rows = persons.values("sex").annotate(n=Count("id"))
    return CoverageFigure(
        key=key, label=label, covered={r["sex"]: r["n"] for r in rows},
        population=_population(scope, year, ages),
    )


def _born_between(as_of: dt.date, ages: tuple[int, int | None]) -> Q:
    low, high = ages
    q = Q(date_of_birth__lte=_years_before(as_of, low))
    if high is not None:
        q &= Q(date_of_birth__gt=_years_before(as_of, high + 1))
    return q


def _years_before(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February in a common year
        return day.replace(year=day.year - years, day=28)


def _population(scope: Scope, year: int | None, ages: tuple[int, int | None]) -> int | None:
    """Sum of the bands that make up exactly the age group; None if a band straddles its edges."""
    if year is None or scope.empty:
        return None
    low, high = ages
    cells = PopulationDenominator.objects.filter(scope.area_q(), year=year)
    inside = Q(age_from__gte=low)
    if high is not None:
        inside &= Q(age_to__isnull=False, age_to__lte=high)
    overlapping = Q(age_to__isnull=True) | Q(age_to__gte=low)
    if high is not None:
        overlapping &= Q(age_from__lte=high)
    if cells.filter(overlapping).exclude(inside).exists():
        return None
    total = cells.filter(inside).aggregate(n=Sum("population"))["n"]
    return int(total) if total is not None else None


def enrolment_list_for_user(*, user: User, person: Person | None = None) -> QuerySet[Enrolment]:
    """Enrolments of persons the user may see, in the user's schemes; unaudited: the caller
    audits (the person's page its read of the person, the enrolment search the search)."""
    scope = scope_for_user(user=user, permission=Permission.VIEW_PERSONS)
    enrolments = Enrolment.objects.filter(
        scope.scheme_q(), person__in=persons_in_scope(scope=scope)
    ).select_related("scheme", "source")
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
