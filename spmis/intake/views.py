"""Pages about intake: reporting rates by area, with late and missing sources."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from spmis.access.doors import require_permission
from spmis.access.policy import Permission
from spmis.core import clock
from spmis.core.errors import ApplicationError
from spmis.core.periods import add_months, month_start, period_param
from spmis.intake import rates


@require_GET
@login_required
def reporting_rates(request: HttpRequest) -> HttpResponse:
    """``?period=YYYY-MM`` (default: last month): rates rolled up by area level. A period
    that is not a month of 1900-2100 shows last month, under a message saying why."""
    user = require_permission(request, Permission.VIEW_COVERAGE)
    today = clock.today()
    try:
        asked = period_param(request.GET.get("period", ""))
    except ApplicationError as exc:
        messages.error(request, exc.message + " " + _("Showing last month."))
        asked = None
    period = asked or add_months(month_start(today), -1)
    rows = rates.reporting_rates(user=user, period=period)
    levels: dict[str, list[rates.RateRow]] = {}
    for row in rows:
        levels.setdefault(row.level_name, []).append(row)
    states = rates.late_or_missing(user=user, period=period, today=today)
    flagged = [s for s in states if s.state in (rates.STATE_LATE, rates.STATE_MISSING,
                                                rates.STATE_REFUSED)]
    return render(request, "intake/rates.html", {
        "period": period, "levels": levels, "flagged": flagged, "states": states,
        "previous": add_months(period, -1), "next": add_months(period, 1),
    })
