"""The aggregate return entry form: one input per data element and category option combo.

(Kept apart from the other intake pages so each can change alone.)
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_http_methods

from spmis.access.doors import require_permission
from spmis.access.models import User
from spmis.access.policy import Permission
from spmis.access.selectors import scope_area_get, scope_for_user
from spmis.core.errors import ApplicationError, NotFound
from spmis.core.periods import parse_period
from spmis.geography.models import Area
from spmis.intake import selectors as intake
from spmis.intake.aggregates import aggregate_submit, aggregate_values, combo_label, element_combos
from spmis.intake.models import DataElement, Source

FIELD = "v|"  # input names: v|ELEMENT|COMBO


@dataclass(frozen=True)
class Cell:
    name: str
    combo: str
    label: str
    value: str


@dataclass(frozen=True)
class Line:
    element: DataElement
    cells: list[Cell]


def _chosen(user: User, sources: QuerySet[Source], form: dict[str, str]
            ) -> tuple[Source | None, Area | None, dt.date | None, list[str]]:
    """The source, area and period the form is for, and why not when something is wrong."""
    problems = []
    source = sources.filter(code=form["source"]).first() if form["source"] else None
    if form["source"] and source is None:
        problems.append(_("Choose one of your sources."))
    area_code = form["area"] or (source.area.code if source and source.area else "")
    area = None
    if area_code:
        try:
            area = scope_area_get(code=area_code, scope=scope_for_user(
                user=user, permission=Permission.SUBMIT_DATA))
        except NotFound:
            problems.append(_("Choose an area inside your scope."))
    period = parse_period(form["period"]) if form["period"] else None
    if form["period"] and period is None:
        problems.append(_("Type the period as YYYY-MM."))
    return source, area, period, problems


def _lines(stored: dict[tuple[str, str], int], posted: dict[str, str] | None) -> list[Line]:
    lines = []
    for element in DataElement.objects.order_by("code"):
        cells = []
        for combo in element_combos(element):
            name = f"{FIELD}{element.code}|{combo}"
            value = posted.get(name, "") if posted is not None else str(
                stored.get((element.code, combo), ""))
            cells.append(Cell(name=name, combo=combo, label=combo_label(combo), value=value))
        lines.append(Line(element=element, cells=cells))
    return lines


@require_http_methods(["GET", "POST"])
@login_required
@csrf_protect
def aggregate_entry(request: HttpRequest) -> HttpResponse:
    """``?source=CODE&area=PCODE&period=YYYY-MM``: the return's form; POST saves it."""
    user = require_permission(request, Permission.SUBMIT_DATA)
    sources = intake.source_list_for_user(user=user, permission=Permission.SUBMIT_DATA)
    data = request.POST if request.method == "POST" else request.GET
    form = {k: data.get(k, "").strip() for k in ("source", "area", "period")}
    source, area, period, problems = _chosen(user, sources, form)
    for problem in problems:
        messages.error(request, problem)
    posted: dict[str, str] | None = None
    status = 200
    if request.method == "POST":
        posted = {k: str(request.POST.get(k, "")).strip() for k in request.POST
                  if k.startswith(FIELD)}
        status = 400
        if source is None or area is None or period is None:
            if not problems:
                messages.error(request, _("Choose a source, an area and a period."))
        else:
            values = [{"element": k.split("|")[1], "combo": k.split("|", 2)[2], "value": v}
                      for k, v in posted.items() if v]
            try:
                result = aggregate_submit(actor=user, source_code=source.code,
                                          area_code=area.code, period=period, values=values)
            except ApplicationError as exc:
                messages.error(request, exc.message)
            else:
                if not result.refused:
                    messages.success(request, _("Return saved: %(n)d values.")
                                     % {"n": result.saved})
                    query = urlencode({"source": source.code, "area": area.code,
                                       "period": f"{period:%Y-%m}"})
                    return HttpResponseRedirect(
                        f"{reverse('intake:aggregate-entry')}?{query}", status=303)
                messages.error(request, _("The return was refused; nothing was saved."))
                for violation in result.violations:
                    messages.error(request, violation)
    ready = source is not None and area is not None and period is not None
    stored = (aggregate_values(source=source, area=area, period=period)
              if source is not None and area is not None and period is not None else {})
    return render(request, "intake/aggregates.html", {
        "sources": sources, "form": {**form, "area": area.code if area else form["area"]},
        "ready": ready, "lines": _lines(stored, posted) if ready else [],
    }, status=status)
