"""The home dashboard. Every other page lives in its domain app (``<app>/views.py``)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from spmis.access.doors import authenticated
from spmis.access.selectors import roles_for_user
from spmis.indicators.selectors import headline_for_user


@require_GET
@login_required
def home(request: HttpRequest) -> HttpResponse:
    """The latest indicator run's headline for the user's areas and schemes."""
    user = authenticated(request)
    home = headline_for_user(user=user)
    charts = [{"labels": [line.indicator.name for line in h.lines],
               "rates": [None if line.total.value is None else round(line.total.value, 1)
                         for line in h.lines]} for h in home.headlines]
    return render(request, "web/home.html", {
        "home": home, "charts": charts, "roles": roles_for_user(user=user),
    })
