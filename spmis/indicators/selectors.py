"""Reads of published figures: the latest run, a drill-down, a series against its targets, and
the headline a user's home page shows (their areas and schemes, from the latest run)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import models

from spmis.access.models import User
from spmis.access.policy import Permission
from spmis.access.selectors import scope_for_user, scope_top_areas
from spmis.core import formatting
from spmis.core.periods import add_months
from spmis.geography.models import Area
from spmis.indicators.catalogue import Indicator, shown
from spmis.indicators.models import IndicatorRun, IndicatorValue, Target
from spmis.schemes.models import Scheme
from spmis.schemes.selectors import scheme_list_in_scope

# Any benefit and the four R202 guarantees: the figures a dashboard leads with.
HEADLINE = ("COV_ANY", "COV_HEALTH", "COV_CHILDREN", "COV_WORKING_AGE", "COV_OLD_AGE")
TOTAL = "_T"


def display(value: float | None, unit: str) -> str:
    """A value as the page shows it in the active language (spmis.core.formatting): 12.3% for
    percentages (12,3 % in French), 1,234.50 for money, 1,234 for counts."""
    if value is None:
        return "—"
    if unit == "PERCENT":
        return formatting.percent(value, 1)
    if unit == "CURRENCY":
        return formatting.number(value, 2)
    return formatting.number(value, 0)


@dataclass(frozen=True)
class Figure:
    """One value of an indicator for an area and a sex, or why there is none."""

    value: float | None
    text: str  # what the page prints
    numerator: int | None
    denominator: int | None
    missing: bool  # obs_status M: no denominator, so no rate
    note: str = ""  # why it is missing (what the export's COMMENT_OBS says)

    @classmethod
    def of(cls, row: IndicatorValue | None, unit: str) -> Figure:
        if row is None:
            return cls(None, "—", None, None, False)
        missing = row.obs_status == "M" or row.value is None
        return cls(None if missing else row.value, "" if missing else display(row.value, unit),
                   row.numerator, row.denominator, missing, row.note if missing else "")


@dataclass(frozen=True)
class Line:
    """An indicator (a card, an SDG row) or an area (a drill-down row) by sex."""

    indicator: Indicator
    total: Figure
    women: Figure
    men: Figure
    area: Area | None = None
    link: str = ""
    scheme: Scheme | None = None

    @property
    def figures(self) -> tuple[Figure, Figure, Figure]:
        return self.total, self.women, self.men


def by_sex(found: dict[tuple[str, str, str], IndicatorValue], indicator: Indicator,
            area_code: str) -> tuple[Figure, Figure, Figure]:
    """(total, women, men) of ``indicator`` in one area."""
    total, women, men = (Figure.of(found.get((indicator.code, area_code, sex)), indicator.unit)
                         for sex in ("_T", "F", "M"))
    return total, women, men


def lines_for(*, run: IndicatorRun, codes: list[str], area_code: str,
              scheme: str = TOTAL) -> list[Line]:
    """``codes`` in one area (and scheme), each by sex, in the order given."""
    found = values_by_sex(run=run, indicators=codes, area_codes=[area_code], scheme=scheme)
    lines = []
    for code in codes:
        indicator = indicator_get(code)
        if indicator is None:
            continue
        lines.append(Line(indicator, *by_sex(found, indicator, area_code)))
    return lines


def indicator_get(code: str) -> Indicator | None:
    """The indicator as pages show it (its name and notes in the active language)."""
    return next((i for i in shown() if i.code == code), None)


def run_latest(*, period: dt.date | None = None) -> IndicatorRun | None:
    runs = IndicatorRun.objects.filter(finished_at__isnull=False)
    if period is not None:
        runs = runs.filter(period=period)
    return runs.order_by("-period", "-id").first()


def values_for(*, run: IndicatorRun, indicator: str, area_codes: list[str] | None = None,
               sex: str = "_T", age_band: str = "_T",
               disability: str = "_T", scheme: str = "_T") -> list[IndicatorValue]:
    rows = IndicatorValue.objects.filter(run=run, indicator=indicator, sex=sex,
                                         age_band=age_band, disability=disability, scheme=scheme)
    if area_codes is not None:
        rows = rows.filter(area_code__in=area_codes)
    return list(rows.order_by("area_level", "area_code"))


def runs_by_period(*, start: dt.date, end: dt.date) -> list[IndicatorRun]:
    """The latest finished run of each period from ``start`` to ``end``, oldest first."""
    latest: dict[dt.date, IndicatorRun] = {}
    for run in IndicatorRun.objects.filter(finished_at__isnull=False, period__gte=start,
                                           period__lte=end).order_by("period", "id"):
        latest[run.period] = run
    return list(latest.values())


def run_periods() -> list[dt.date]:
    """The periods with a finished run, newest first (what a period picker offers)."""
    return list(IndicatorRun.objects.filter(finished_at__isnull=False).order_by(
        "-period").values_list("period", flat=True).distinct())


@dataclass(frozen=True)
class SeriesPoint:
    period: str
    value: float | None
    computed: bool = True  # False: no run for this month (a gap in the series)
    note: str = ""  # why the value is missing, when the run has it missing


def series(*, indicator: str, area_code: str, sex: str = "_T",
           scheme: str = "_T") -> list[SeriesPoint]:
    """The indicator's value in the latest run of each month from the first period computed
    to the last, oldest first; a month without a run is a point that says so."""
    latest: dict[str, int] = {}
    for run_id, period in IndicatorRun.objects.filter(finished_at__isnull=False).order_by(
            "period", "id").values_list("id", "period"):
        latest[f"{period:%Y-%m}"] = run_id
    values, notes = {}, {}
    for run_id, value, status, note in IndicatorValue.objects.filter(
            run_id__in=latest.values(), indicator=indicator, area_code=area_code, sex=sex,
            age_band="_T", disability="_T", scheme=scheme).values_list(
            "run_id", "value", "obs_status", "note"):
        values[run_id] = value
        notes[run_id] = note if status == "M" else ""
    if not latest:
        return []
    first, last = (dt.date.fromisoformat(f"{p}-01") for p in (min(latest), max(latest)))
    months = (last.year - first.year) * 12 + last.month - first.month + 1
    points = []
    for k in range(months):
        label = f"{add_months(first, k):%Y-%m}"
        found = latest.get(label)
        points.append(SeriesPoint(label, values.get(found) if found else None,
                                  found is not None, notes.get(found, "") if found else ""))
    return points


def targets_for(*, indicator: str, area_code: str) -> list[Target]:
    return list(Target.objects.filter(indicator=indicator, area_code=area_code).order_by("year"))


def values_by_sex(*, run: IndicatorRun, indicators: list[str], area_codes: list[str],
                  scheme: str = "_T") -> dict[tuple[str, str, str], IndicatorValue]:
    """Totals (all ages, any disability) of ``indicators`` in ``area_codes`` for both sexes and
    the total, keyed by (indicator, area_code, sex) with sex M, F or _T."""
    rows = IndicatorValue.objects.filter(
        run=run, indicator__in=indicators, area_code__in=area_codes, sex__in=("M", "F", "_T"),
        age_band="_T", disability="_T", scheme=scheme)
    return {(v.indicator, v.area_code, v.sex): v for v in rows}


def values_by_scheme(*, run: IndicatorRun, indicator: str, area_code: str,
                     schemes: list[str]) -> dict[tuple[str, str], IndicatorValue]:
    """``indicator`` in one area for each of ``schemes`` (codes), both sexes and the total,
    keyed by (scheme, sex)."""
    rows = IndicatorValue.objects.filter(
        run=run, indicator=indicator, area_code=area_code, scheme__in=schemes,
        sex__in=("M", "F", "_T"), age_band="_T", disability="_T")
    return {(v.scheme, v.sex): v for v in rows}


@dataclass(frozen=True)
class Headline:
    """The headline figures of one area in the user's scope (for one scheme, or any)."""

    area: Area
    scheme: Scheme | None  # None: any scheme, each person counted once
    lines: list[Line]


@dataclass(frozen=True)
class Home:
    run: IndicatorRun | None  # None: nothing computed yet
    headlines: list[Headline]
    may_see: bool  # False: the user's roles show no figures at all


def headline_for_user(*, user: User) -> Home:
    """The latest run's headline for each top area of the user's coverage scope: across
    schemes for a user of every scheme, scheme by scheme for one limited to some. The same
    figures the indicators page and exports give: there is no second way of counting."""
    scope = scope_for_user(user=user, permission=Permission.VIEW_COVERAGE)
    if scope.empty:
        return Home(run=None, headlines=[], may_see=False)
    run = run_latest()
    if run is None:
        return Home(run=None, headlines=[], may_see=True)
    areas = scope_top_areas(scope=scope)
    schemes: list[Scheme | None] = [None] if scope.all_schemes else [
        *scheme_list_in_scope(scope=scope)]
    headlines = [Headline(area=area, scheme=scheme, lines=lines_for(
        run=run, codes=list(HEADLINE), area_code=area.code,
        scheme=scheme.code if scheme else TOTAL)) for area in areas for scheme in schemes]
    return Home(run=run, headlines=headlines, may_see=True)


# --- the landing page's headline: coverage by guarantee and sex, trend, the largest gaps ----

# The income-security guarantees of R202 and SDG 1.3.1's total, in the order a minister reads.
LANDING = ("SOC_CONTIG_TOTAL", "COV_CHILDREN", "COV_WORKING_AGE", "COV_OLD_AGE")
GAPS_INDICATOR = "SOC_CONTIG_TOTAL"
GAPS_SHOWN = 5


@dataclass(frozen=True)
class Trend:
    """Where a line stands against the month before and its target."""

    previous_period: dt.date | None  # the latest earlier month with a run
    previous: float | None  # the total then
    change: float | None  # points since then (None: nothing to compare)
    target: Target | None  # the nearest target from the run's year on (else the last one)
    to_target: float | None  # points still to go (negative: beyond it)
    series: list[SeriesPoint]  # total, every month from the first run to this one


@dataclass(frozen=True)
class LandingLine:
    line: Line
    trend: Trend


@dataclass(frozen=True)
class LandingArea:
    """One top area of the user's scope (for one scheme, or any): the headline lines and the
    areas below it with the lowest coverage."""

    area: Area
    scheme: Scheme | None
    lines: list[LandingLine]
    gap_level: str  # the name of the level the gaps are listed at ("District")
    gaps: list[Line]  # lowest total first, at most GAPS_SHOWN, only areas with a rate
    gap_indicator: Indicator | None  # SDG 1.3.1; for one scheme, its first line with figures
    targets: bool  # some headline line has a target


@dataclass(frozen=True)
class Landing:
    run: IndicatorRun | None
    areas: list[LandingArea]
    may_see: bool


def _trend(run: IndicatorRun, indicator: Indicator, area_code: str, scheme: str,
           value: float | None, *, targets: bool = True) -> Trend:
    points = [p for p in series(indicator=indicator.code, area_code=area_code, scheme=scheme)
              if p.period <= f"{run.period:%Y-%m}"]
    earlier = [p for p in points[:-1] if p.computed and p.value is not None]
    previous = earlier[-1] if earlier else None
    found = targets_for(indicator=indicator.code, area_code=area_code) if targets else []
    target = next((t for t in found if t.year >= run.period.year),
                  found[-1] if found else None)
    return Trend(
        previous_period=dt.date.fromisoformat(f"{previous.period}-01") if previous else None,
        previous=previous.value if previous else None,
        change=None if previous is None or value is None or previous.value is None
        else value - previous.value,
        target=target,
        to_target=None if target is None or value is None else target.value - value,
        series=points)


def _gaps(run: IndicatorRun, top: Area, scheme: str,
          indicator: Indicator) -> tuple[str, list[Line]]:
    """The areas under ``top`` with the lowest ``indicator``, at the first level below it
    with at least ``GAPS_SHOWN`` areas (or, short of that, the level with most areas)."""
    from spmis.geography.models import AreaLevel

    below = Area.objects.filter(path__startswith=top.path, level__gt=top.level)
    counts = dict(below.values_list("level").annotate(n=models.Count("id")).order_by())
    level = None
    for candidate in sorted(counts):
        if level is None or counts[candidate] > counts[level]:
            level = candidate
        if counts[candidate] >= GAPS_SHOWN:
            break
    if level is None:
        return "", []
    areas = {a.code: a for a in below.filter(level=level)}
    found = values_by_sex(run=run, indicators=[indicator.code], area_codes=list(areas),
                          scheme=scheme)
    lines = [Line(indicator, *by_sex(found, indicator, code), area=area)
             for code, area in areas.items()]
    rated = sorted((x for x in lines if x.total.value is not None),
                   key=lambda x: (x.total.value, x.area.name if x.area else ""))
    name = AreaLevel.objects.filter(level=level).values_list("name", flat=True).first()
    return name or str(level), rated[:GAPS_SHOWN]


def landing_for_user(*, user: User) -> Landing:
    """The latest run's headline for each top area of the user's coverage scope (scheme by
    scheme for a user limited to some, as ``headline_for_user``): SDG 1.3.1 and the R202
    income guarantees by sex, each against the month before and its target, and the areas
    below with the lowest coverage. Read from the run the indicators page reads."""
    scope = scope_for_user(user=user, permission=Permission.VIEW_COVERAGE)
    if scope.empty:
        return Landing(run=None, areas=[], may_see=False)
    run = run_latest()
    if run is None:
        return Landing(run=None, areas=[], may_see=True)
    schemes: list[Scheme | None] = [None] if scope.all_schemes else [
        *scheme_list_in_scope(scope=scope)]
    areas = []
    for top in scope_top_areas(scope=scope):
        for scheme in schemes:
            code = scheme.code if scheme else TOTAL
            found = lines_for(run=run, codes=list(LANDING), area_code=top.code, scheme=code)
            if scheme is not None:
                # One scheme: only the lines computed for it (a child grant has no figure for
                # older persons), and no target (targets are for every scheme together).
                found = [x for x in found if x.total.numerator is not None or x.total.missing]
            lines = [LandingLine(line, _trend(run, line.indicator, top.code, code,
                                              line.total.value, targets=scheme is None))
                     for line in found]
            gap_indicator = (lines[0].line.indicator if scheme is not None and lines
                             else indicator_get(GAPS_INDICATOR))
            level, gaps = _gaps(run, top, code, gap_indicator) if gap_indicator else ("", [])
            areas.append(LandingArea(area=top, scheme=scheme, lines=lines, gap_level=level,
                                     gaps=gaps, gap_indicator=gap_indicator,
                                     targets=any(x.trend.target for x in lines)))
    return Landing(run=run, areas=areas, may_see=True)
