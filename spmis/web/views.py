"""The landing page: each role's work starts here. Every other page lives in its domain app
(``<app>/views.py``).

What a user sees depends on the roles they hold today, one section per kind of work, each
naming its area and period:

- readers of figures (statistician, scheme manager): the headline of the latest indicator
  run — SDG 1.3.1 and the R202 income guarantees by sex, against the month before and the
  target, and the areas with the lowest coverage — each figure a link to the indicators page;
- officers: their work lists (verification flags due, pairs waiting for review, their
  sources' late or missing reports, approvals waiting for them), each counted and linked;
- the security administrator: the access review in brief; the system administrator: when
  intake, linkage and the indicators last ran and the audit log's state; the auditor: the
  log's recent activity.

Counts only: no personal data is read here, so nothing is logged (the lists they link to
log their reads).
"""

from __future__ import annotations

import datetime as dt
from functools import cache
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from spmis.access import selectors as access
from spmis.access.doors import authenticated
from spmis.access.models import Role, User
from spmis.access.policy import ROLE_PERMISSIONS, Permission
from spmis.access.selectors import scope_for_user, scope_top_areas
from spmis.core import clock, formatting
from spmis.core.doors import from_every_app
from spmis.core.periods import add_months, month_start
from spmis.indicators import selectors as indicators
from spmis.intake import rates
from spmis.intake import selectors as intake
from spmis.linkage import selectors as linkage

# Whose landing page leads with the figures, and whose with a work list.
READER_ROLES = frozenset({Role.STATISTICIAN, Role.SCHEME_MANAGER})
OFFICER_ROLES = frozenset({Role.REGISTRAR, Role.TARGETING_OFFICER, Role.APPROVER,
                           Role.DATA_COLLECTOR, Role.PAYMENT_OFFICER, Role.GRIEVANCE_OFFICER,
                           Role.APPEAL_REVIEWER})
LATE_STATES = (rates.STATE_MISSING, rates.STATE_LATE, rates.STATE_REFUSED)


@cache
def _route_permissions() -> dict[str, str | None]:
    """The permission each named route needs (every app's ``route_policy``)."""
    return {name: policy.permission for _module, policies in from_every_app("route_policy")
            for name, policy in policies.items()}


def _may_open(held: set[str], route: str) -> bool:
    needed = _route_permissions().get(route)
    return needed is None or needed in held


def _areas(user: User, permission: Permission) -> list[Any]:
    return scope_top_areas(scope=scope_for_user(user=user, permission=permission))


@require_GET
@login_required
def home(request: HttpRequest) -> HttpResponse:
    user = authenticated(request)
    roles = access.live_roles_for_user(user=user)
    held = {p.value for role in roles for p in ROLE_PERMISSIONS.get(role, ())}
    today = clock.today()
    context: dict[str, Any] = {"roles": roles, "today": today, "sections": []}
    if READER_ROLES & set(roles):
        context["landing"] = _headline(user)
        context["sections"].append("headline")
    if OFFICER_ROLES & set(roles):
        context["work"] = _work(user, held, today)
        context["sections"].append("work")
    if Role.SECURITY_ADMIN in roles:
        context["access"] = access.access_summary()
        context["sections"].append("access")
    if Role.AUDITOR in roles:
        context["audit"] = access.audit_activity_for_user(user=user)
        context["audit_actions"] = [
            (action, access.audit_action_label(action), n)
            for action, n in context["audit"].by_action[:10]]
        context["audit_areas"] = _areas(user, Permission.VIEW_AUDIT)
        context["sections"].append("audit")
    if Role.SYSTEM_ADMIN in roles:
        context["system"] = {
            "submission": intake.submission_latest(),
            "linkage": linkage.linkage_run_latest(),
            "indicators": indicators.run_latest(),
            "audit": access.audit_log_state(),
        }
        context["sections"].append("system")
    return render(request, "web/home.html", context)


def _drill(area_code: str, indicator: str, scheme: str = indicators.TOTAL,
           period: dt.date | None = None) -> str:
    query = {"area": area_code, "indicator": indicator}
    if scheme != indicators.TOTAL:
        query["scheme"] = scheme
    if period is not None:
        query["period"] = f"{period:%Y-%m}"
    return reverse("indicators:indicators") + "?" + urlencode(query)


# Short names for the headline's cards (the catalogue's full name is the link's title).
LABELS = {
    "SOC_CONTIG_TOTAL": _("Everyone (SDG 1.3.1)"),
    "COV_CHILDREN": _("Children"),
    "COV_WORKING_AGE": _("Working age"),
    "COV_OLD_AGE": _("Older persons"),
}


def _signed(value: float) -> str:
    """A change in points with its sign (a true minus sign), in the active language."""
    text = formatting.number(abs(value), 1)
    if round(value, 1) > 0:
        return "+" + text
    if round(value, 1) < 0:
        return "\N{MINUS SIGN}" + text
    return text


def _direction(change: float | None) -> str:
    if change is None or round(change, 1) == 0:
        return "flat"
    return "up" if change > 0 else "down"


def _headline(user: User) -> dict[str, Any]:
    """The headline with each figure's link to the same figure on the indicators page, and
    the trend chart's data."""
    landing = indicators.landing_for_user(user=user)
    period = landing.run.period if landing.run else None
    blocks = []
    for i, block in enumerate(landing.areas):
        scheme = block.scheme.code if block.scheme else indicators.TOTAL
        lines = [{"line": x.line, "trend": x.trend,
                  "label": LABELS.get(x.line.indicator.code, x.line.indicator.name),
                  "direction": _direction(x.trend.change),
                  "change_text": "" if x.trend.change is None else _signed(x.trend.change),
                  "link": _drill(block.area.code, x.line.indicator.code, scheme, period)}
                 for x in block.lines]
        gaps = [{"line": g, "link": _drill(g.area.code, g.indicator.code, scheme, period)}
                for g in block.gaps if g.area is not None]
        months = [p.period for p in block.lines[0].trend.series] if block.lines else []
        values = {x.line.indicator.code: {p.period: p.value for p in x.trend.series}
                  for x in block.lines}
        chart = {
            "labels": [formatting.month(dt.date.fromisoformat(f"{m}-01")) for m in months],
            "periods": months,  # YYYY-MM: the chart shortens them for its axis
            "lines": [{"label": str(line["label"]),
                       "values": [None if (v := values[x.line.indicator.code].get(m)) is None
                                  else round(v, 2) for m in months]}
                      for line, x in zip(lines, block.lines, strict=True)],
            "targets": [{"label": f"{line['label']} {x.trend.target.year}", "line": k,
                         "value": round(x.trend.target.value, 2)}
                        for k, (line, x) in enumerate(zip(lines, block.lines, strict=True))
                        if x.trend.target is not None],
        }
        rows = [{"period": dt.date.fromisoformat(f"{m}-01"),
                 "values": [values[x.line.indicator.code].get(m) for x in block.lines]}
                for m in reversed(months)]
        gap_indicator = block.gap_indicator
        blocks.append({"block": block, "lines": lines, "gaps": gaps, "chart": chart,
                       "series_rows": rows, "chart_id": f"trend-chart-{i + 1}",
                       "gap_name": gap_indicator.name if gap_indicator else "",
                       "area_link": _drill(block.area.code, gap_indicator.code if gap_indicator
                                           else indicators.GAPS_INDICATOR, scheme, period)})
    return {"run": landing.run, "may_see": landing.may_see, "blocks": blocks,
            "charts": [b["chart"] for b in blocks]}


def _work(user: User, held: set[str], today: dt.date) -> dict[str, Any]:
    """The officer's work lists: only those whose list page the user may open, or that has
    something waiting for them."""
    work: dict[str, Any] = {"areas": _areas(user, Permission.VIEW_COVERAGE)}
    if _may_open(held, "linkage:crosscheck-flags"):
        work["flags"] = linkage.flags_due_for_user(user=user, today=today)
    if _may_open(held, "linkage:linkage_review"):
        work["review"] = linkage.review_waiting_count_for_user(user=user)
    if held & {p.value for p in intake.OWN_SOURCE_PERMISSIONS}:
        period = add_months(month_start(today), -1)
        states = intake.own_source_states_for_user(user=user, period=period, today=today)
        work["reporting"] = {
            "period": period, "expected": len(states),
            "late": [s for s in states if s.state in LATE_STATES],
            "due": [s for s in states if s.state == rates.STATE_DUE],
            "link": reverse("intake:reporting-rates") + f"?period={period:%Y-%m}",
        }
    waiting = list(access.approvals_waiting_for_user(user=user)[:50])
    if Permission.APPROVE.value in held or waiting:
        work["approvals"] = [_approval(r, held, user.username) for r in waiting]
    return work


def _approval(request: Any, held: set[str], username: str) -> dict[str, Any]:
    """An approval request with where it is decided: its page when the user may open one."""
    link, command = "", ""
    if request.object_type == "submission":
        link = reverse("intake:submission-detail", args=[int(request.object_id)])
    elif request.object_type == "link" and _may_open(held, "linkage:linkage_review_pair"):
        link = reverse("linkage:linkage_review_pair", args=[int(request.object_id)])
    elif request.object_type == "link":
        command = f"spmis linkage approve {request.object_id} --as {username}"
    else:
        command = f"spmis intake approve --action approve --as {username}"
    return {"request": request, "link": link, "command": command}
