"""The indicators dashboard: where coverage is lowest, and for whom, from the latest run.

Headline cards (any benefit and the four R202 guarantees, women and men beside the total), a
drill-down into the child areas of the chosen area (worst first, so the gaps come first: the
lowest coverage, the highest error rate) with its map beside the table, the
indicator's series against its targets, the indicator scheme by scheme, and the SDG 1.3.1
series. The figures are aggregates, but an officer sees only the areas inside their coverage
scope (any other area is not found) and, scheme by scheme, only the schemes of their roles.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from spmis.access.doors import require_permission
from spmis.access.policy import Permission
from spmis.access.selectors import (
    scope_area_get,
    scope_area_trail,
    scope_for_user,
    scope_top_areas,
)
from spmis.core.doors import or_404
from spmis.core.errors import ApplicationError, NotFound
from spmis.core.periods import period_param
from spmis.geography.models import Area
from spmis.geography.selectors import boundaries_of
from spmis.indicators import selectors as indicators
from spmis.indicators.catalogue import Indicator, catalogue
from spmis.indicators.catalogue import shown as catalogue_shown
from spmis.indicators.choropleth import choropleth
from spmis.indicators.export import run_currency
from spmis.indicators.models import IndicatorRun
from spmis.indicators.selectors import HEADLINE, TOTAL, Figure, Line, by_sex, display
from spmis.schemes.models import Scheme
from spmis.schemes.selectors import scheme_list_in_scope

SDG_PREFIX = "SOC_CONTIG_"
DEFAULT_INDICATOR = "COV_ANY"


def _indicator(*, code: str) -> Indicator:
    indicator = indicators.indicator_get(code)
    if indicator is None:
        raise NotFound(f"No indicator {code!r} in the catalogue.")
    return indicator


def _drill_down(run: IndicatorRun, indicator: Indicator, area: Area,
                scheme: str, period: dt.date | None) -> list[Line]:
    """The child areas worst first: lowest first where higher is better (coverage), highest
    first where lower is better (errors, open flags); no denominator and no data last."""
    children = list(Area.objects.filter(parent=area).order_by("name"))
    found = indicators.values_by_sex(run=run, indicators=[indicator.code],
                                     area_codes=[c.code for c in children], scheme=scheme)
    rows = [Line(indicator, *by_sex(found, indicator, child.code), area=child,
                 link=_link(child.code, indicator.code, scheme, period))
            for child in children]
    worse = -1.0 if indicator.direction == "lower" else 1.0

    def key(row: Line) -> tuple[int, float, str]:
        if row.total.value is not None:
            return 0, worse * row.total.value, row.area.name if row.area else ""
        return (1 if row.total.missing else 2), 0.0, row.area.name if row.area else ""

    return sorted(rows, key=key)


def _link(area_code: str, indicator_code: str, scheme: str,
          period: dt.date | None = None) -> str:
    query = {"area": area_code, "indicator": indicator_code}
    if scheme != TOTAL:
        query["scheme"] = scheme
    if period is not None:
        query["period"] = f"{period:%Y-%m}"
    return "?" + urlencode(query)


def _scheme_in_scope(*, code: str, schemes: list[Scheme]) -> str:
    if code != TOTAL and code not in {s.code for s in schemes}:
        raise NotFound(f"No scheme {code!r} in your scope.")
    return code


def _by_scheme(run: IndicatorRun, indicator: Indicator, area: Area,
               schemes: list[Scheme], period: dt.date | None) -> list[Line]:
    """The indicator for each scheme in scope that has figures, largest first."""
    found = indicators.values_by_scheme(run=run, indicator=indicator.code,
                                        area_code=area.code, schemes=[s.code for s in schemes])
    lines = [Line(indicator, Figure.of(found.get((s.code, TOTAL)), indicator.unit),
                  Figure.of(found.get((s.code, "F")), indicator.unit),
                  Figure.of(found.get((s.code, "M")), indicator.unit),
                  scheme=s, link=_link(area.code, indicator.code, s.code, period))
             for s in schemes if (s.code, TOTAL) in found]
    return sorted(lines, key=lambda line: -(line.total.value or 0))


def _series(indicator: Indicator, area: Area, scheme: str) -> dict[str, Any]:
    found = {sex: indicators.series(indicator=indicator.code, area_code=area.code, sex=sex,
                                    scheme=scheme) for sex in ("_T", "F", "M")}
    points = {sex: {p.period: p.value for p in found[sex]} for sex in found}
    computed = {p.period for p in found["_T"] if p.computed}  # the other months: no run
    notes = {p.period: p.note for p in found["_T"]}
    targets = indicators.targets_for(indicator=indicator.code, area_code=area.code)
    # Amounts (unit CURRENCY) are printed from the values with their currency by the page.
    rows = [{"period": period, "computed": period in computed, "note": notes.get(period, ""),
             "total": display(value, indicator.unit),
             "women": display(points["F"].get(period), indicator.unit),
             "men": display(points["M"].get(period), indicator.unit),
             "values": (value, points["F"].get(period), points["M"].get(period))}
            for period, value in points["_T"].items()]
    labels = sorted(points["_T"])
    chart = {
        "labels": labels,
        "values": [_round(points["_T"].get(label)) for label in labels],
        "women": [_round(points["F"].get(label)) for label in labels],
        "men": [_round(points["M"].get(label)) for label in labels],
        # Each target as a level across the months: how far the series is from it.
        "targets": [{"year": t.year, "value": _round(t.value)} for t in targets],
        "percent": indicator.unit == "PERCENT",
    }
    return {"rows": rows, "targets": [
        {"year": t.year, "value": display(t.value, indicator.unit), "amount": t.value,
         "source": t.source} for t in targets], "chart": chart}


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


@require_GET
@login_required
def indicator_dashboard(request: HttpRequest) -> HttpResponse:
    user = require_permission(request, Permission.VIEW_COVERAGE)
    scope = scope_for_user(user=user, permission=Permission.VIEW_COVERAGE)
    tops = scope_top_areas(scope=scope)
    code = request.GET.get("area", "").strip() or (tops[0].code if tops else "")
    area = or_404(scope_area_get, code=code, scope=scope)
    indicator = or_404(_indicator,
                       code=request.GET.get("indicator", "").strip() or DEFAULT_INDICATOR)
    schemes = scheme_list_in_scope(scope=scope)
    scheme = or_404(_scheme_in_scope, code=request.GET.get("scheme", "").strip() or TOTAL,
                    schemes=schemes)
    try:
        period = period_param(request.GET.get("period", ""))
    except ApplicationError as exc:
        messages.error(request, exc.message + " " + _("Showing the latest period computed."))
        period = None
    periods = indicators.run_periods()
    run = indicators.run_latest(period=period)
    context: dict[str, Any] = {
        "run": run, "area": area, "indicator": indicator, "period": period,
        "periods": periods, "period_without_run": period is not None and run is None,
        "scheme": next((s for s in schemes if s.code == scheme), None),
        "all_schemes_link": _link(area.code, indicator.code, TOTAL, period),
        "catalogue": catalogue_shown(), "breadcrumbs": scope_area_trail(scope=scope, area=area),
        "other_tops": [t for t in tops if t.pk != area.pk] if len(tops) > 1 else [],
    }
    if run is None and periods:
        # A month without a run: no figures to show, but the series says which months have.
        context["series"] = _series(indicator, area, scheme)
        latest = indicators.run_latest()
        context["currency"] = run_currency(latest) \
            if latest is not None and indicator.unit == "CURRENCY" else ""
    if run is not None:
        children = _drill_down(run, indicator, area, scheme, period)
        outlines = boundaries_of(area_ids=[r.area.pk for r in children if r.area])
        sdg = [i.code for i in catalogue() if i.code.startswith(SDG_PREFIX)]
        context.update({
            "cards": indicators.lines_for(run=run, codes=list(HEADLINE), area_code=area.code),
            "children": children,
            "map": choropleth(children, outlines, indicator),
            # Amounts are shown with their currency: the run's (the payments' most used one).
            "currency": run_currency(run) if indicator.unit == "CURRENCY" else "",
            "bars": {"labels": [r.area.name for r in children if r.area],
                     "values": [_round(r.total.value) for r in children],
                     "percent": indicator.unit == "PERCENT"},
            "series": _series(indicator, area, scheme),
            "by_scheme": _by_scheme(run, indicator, area, schemes, period),
            "sdg": indicators.lines_for(run=run, codes=sdg, area_code=area.code),
        })
    return render(request, "indicators/indicators.html", context)
