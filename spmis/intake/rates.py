"""Reporting rates (DHIS2-style): of the reports due from sources for a period, how many came,
and how many came by the deadline, rolled up the area hierarchy.

A source is *expected* for a period when its schedule has a report due then (monthly every
month; quarterly in March, June, September and December; annual in December). It has
*reported* when a submission that was not refused exists for the period, and reported *on
time* when the first such submission arrived by the end of the day ``deadline_days`` after the
period's last day, in the server's time zone.

The counting is done by the database, grouped by the sources' own areas; only that small
result (one row per area that has sources) is rolled up to the ancestors in Python.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypedDict

from django.db.models import (
    Case,
    Count,
    DateTimeField,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.utils import timezone

from spmis.access.models import User
from spmis.access.policy import Permission
from spmis.access.selectors import scope_for_user
from spmis.core.periods import add_months, month_start
from spmis.geography.models import Area, AreaLevel
from spmis.geography.selectors import ancestor_paths
from spmis.intake.models import (
    PENDING_STATUSES,
    Schedule,
    Source,
    Submission,
    SubmissionStatus,
)

if TYPE_CHECKING:
    from django_stubs_ext import WithAnnotations

STATE_MISSING = "missing"
STATE_LATE = "late"
STATE_DUE = "due"
STATE_ON_TIME = "on time"
STATE_REFUSED = "refused"  # something came, but every submission was refused


@dataclass(frozen=True)
class RateRow:
    """One area's reporting rate for a period (its whole subtree counted)."""

    area_code: str
    area_name: str
    level: int
    level_name: str
    path: str
    expected: int
    received: int
    on_time: int
    refused: int = 0  # sources whose every file for the period was refused (not received)

    @property
    def rate(self) -> float | None:
        """REPORTING_RATE: received / expected * 100 (None when nothing was expected)."""
        return 100 * self.received / self.expected if self.expected else None

    @property
    def on_time_rate(self) -> float | None:
        """REPORTING_RATE_ON_TIME: on time / expected * 100 (None when nothing was expected)."""
        return 100 * self.on_time / self.expected if self.expected else None


@dataclass(frozen=True)
class SourceState:
    """Where one expected source stands for a period."""

    source_code: str
    source_name: str
    area_code: str
    area_name: str
    deadline: dt.date
    received_at: dt.datetime | None
    state: str  # one of STATE_*


def due_schedules(period: dt.date) -> list[str]:
    """The schedules that have a report due for the month ``period``."""
    schedules = [Schedule.MONTHLY.value]
    if period.month % 3 == 0:
        schedules.append(Schedule.QUARTERLY.value)
    if period.month == 12:
        schedules.append(Schedule.ANNUAL.value)
    return schedules


def period_last_day(period: dt.date) -> dt.date:
    return add_months(period, 1) - dt.timedelta(days=1)


def deadline_for(period: dt.date, deadline_days: int) -> dt.date:
    """The last day on which a report for ``period`` is on time."""
    return period_last_day(month_start(period)) + dt.timedelta(days=deadline_days)


def _cutoff(day: dt.date) -> dt.datetime:
    """The first instant after ``day`` in the server's time zone (on time means before it)."""
    return timezone.make_aware(dt.datetime.combine(day + dt.timedelta(days=1), dt.time.min))


class _Timing(TypedDict):
    first_received: dt.datetime | None
    first_refused: dt.datetime | None
    cutoff: dt.datetime | None


def _expected_sources(
    *, user: User | None, period: dt.date
) -> QuerySet[WithAnnotations[Source, _Timing]]:
    """Sources with an area, inside ``user``'s coverage scope (None: everywhere), with a report
    due for ``period``, annotated with when their first accepted submission arrived and the
    on-time cutoff."""
    sources = Source.objects.filter(area__isnull=False, schedule__in=due_schedules(period))
    if user is not None:
        scope = scope_for_user(user=user, permission=Permission.VIEW_COVERAGE)
        sources = sources.filter(scope.area_q("area"))  # an empty scope keeps nothing
    theirs = Submission.objects.filter(source=OuterRef("pk"), period=period)
    # A withdrawn file never counted: it was sent by mistake; one still waiting for its load
    # (or whose load failed) is not accepted yet.
    first = (theirs.exclude(status__in=[SubmissionStatus.REFUSED, SubmissionStatus.WITHDRAWN,
                                        *PENDING_STATUSES])
             .order_by("received_at").values("received_at")[:1])
    refused = (theirs.filter(status=SubmissionStatus.REFUSED)
               .order_by("received_at").values("received_at")[:1])
    # One cutoff per distinct deadline (a handful), so the comparison stays in the database.
    days = sorted(set(sources.values_list("deadline_days", flat=True)))
    cutoff = Case(*[When(deadline_days=d, then=Value(_cutoff(deadline_for(period, d))))
                    for d in days], default=Value(None), output_field=DateTimeField())
    return sources.annotate(first_received=Subquery(first, output_field=DateTimeField()),
                            first_refused=Subquery(refused, output_field=DateTimeField()),
                            cutoff=cutoff)


def reporting_rates(*, user: User | None, period: dt.date) -> list[RateRow]:
    """Expected, received and on-time reports for ``period`` for every area (country, region,
    district, commune) with due sources in its subtree, inside ``user``'s scope, ordered by
    path (parents before children). ``user`` None is the operator at the command line."""
    period = month_start(period)
    sources = _expected_sources(user=user, period=period)
    by_area = (sources.values("area__path")
               .annotate(expected=Count("pk"),
                         received=Count("pk", filter=Q(first_received__isnull=False)),
                         on_time=Count("pk", filter=Q(first_received__lt=F("cutoff"))),
                         refused=Count("pk", filter=Q(first_received__isnull=True,
                                                      first_refused__isnull=False)))
               .order_by())
    totals: dict[str, list[int]] = {}
    for row in by_area:
        for path in ancestor_paths(row["area__path"]):
            counts = totals.setdefault(path, [0, 0, 0, 0])
            for i, n in enumerate((row["expected"], row["received"], row["on_time"],
                                   row["refused"])):
                counts[i] += n
    if user is not None:
        roots = scope_for_user(user=user, permission=Permission.VIEW_COVERAGE).area_paths
        totals = {p: c for p, c in totals.items() if any(p.startswith(r) for r in roots)}
    levels = dict(AreaLevel.objects.values_list("level", "name"))
    areas = Area.objects.filter(path__in=list(totals)).order_by("path")
    return [RateRow(area_code=a.code, area_name=a.name, level=a.level,
                    level_name=levels.get(a.level, str(a.level)), path=a.path,
                    expected=totals[a.path][0], received=totals[a.path][1],
                    on_time=totals[a.path][2], refused=totals[a.path][3]) for a in areas]


def late_or_missing(*, user: User | None, period: dt.date, today: dt.date) -> list[SourceState]:
    """Every source expected for ``period`` inside ``user``'s scope and where it stands on
    ``today``: missing (nothing yet, deadline passed), late (came after the deadline), due
    (nothing yet, deadline not passed) or on time. Ordered by area, then source."""
    period = month_start(period)
    rows = (_expected_sources(user=user, period=period)
            .order_by("area__path", "code")
            .values_list("code", "name", "area__code", "area__name", "deadline_days",
                         "first_received", "first_refused"))
    states = []
    for code, name, area_code, area_name, days, first, refused in rows:
        deadline = deadline_for(period, days)
        if first is None and refused is not None:
            state, first = STATE_REFUSED, refused
        elif first is None:
            state = STATE_MISSING if today > deadline else STATE_DUE
        elif first >= _cutoff(deadline):
            state = STATE_LATE
        else:
            state = STATE_ON_TIME
        states.append(SourceState(source_code=code, source_name=name, area_code=area_code,
                                  area_name=area_name, deadline=deadline, received_at=first,
                                  state=state))
    return states

