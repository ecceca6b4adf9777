"""The home dashboard. Every other page lives in its domain app (``<app>/views.py``)."""

from __future__ import annotations

import datetime as dt

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from spmis.access.doors import authenticated
from spmis.access.selectors import roles_for_user
from spmis.core import clock
from spmis.core.periods import parse_iso_date
from spmis.schemes import selectors as schemes


def _as_of(request: HttpRequest) -> dt.date:
    return parse_iso_date(request.GET.get("as_of", "")) or clock.today()


@require_GET
@login_required
def home(request: HttpRequest) -> HttpResponse:
    coverage = schemes.coverage_headline(user=authenticated(request), as_of=_as_of(request))
    chart = {
        "labels": [f.label for f in coverage.by_guarantee],
        "rates": [round(f.rate, 1) if f.rate is not None else None for f in coverage.by_guarantee],
    }
    return render(request, "web/home.html", {
        "coverage": coverage, "chart": chart, "roles": roles_for_user(user=authenticated(request)),
    })
