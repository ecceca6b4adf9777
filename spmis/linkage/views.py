"""Clerical review of record-linkage pairs: the pairs waiting for a person to decide, and one
pair side by side with the weight each comparison added, and the decision form.

Both records of a pair must be inside the reviewer's scope; otherwise the pair is not found.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_GET, require_http_methods

from spmis.access.classification import masked_fields
from spmis.access.doors import authenticated, require_permission
from spmis.access.models import User
from spmis.access.policy import Permission
from spmis.core.doors import or_404
from spmis.core.errors import ApplicationError, NotFound
from spmis.linkage import selectors as linkage
from spmis.linkage.models import Link, LinkState
from spmis.linkage.services import link_decide, link_explain

PAGE_SIZE = 50


def _state(value: str) -> str:
    return value if value in LinkState.values else LinkState.REVIEW


@require_GET
@login_required
def review_list(request: HttpRequest) -> HttpResponse:
    """``?state=`` one of the link states (default REVIEW): pairs both of whose records are in
    the user's scope, most probable first."""
    user = require_permission(request, Permission.REGISTER_PERSONS)
    asked = request.GET.get("state", "").strip().upper()
    state = _state(asked)
    if asked and asked != state:
        messages.error(request, _("Unknown state: showing the pairs waiting for review."))
    links = linkage.link_list_for_user(user=user, state=state)
    page = Paginator(links, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "linkage/linkage_review.html", {
        "page": page, "state": state, "states": LinkState.choices, "query": f"state={state}",
    })


@require_http_methods(["GET", "POST"])
@login_required
@csrf_protect
def review_pair(request: HttpRequest, link_id: int) -> HttpResponse:
    """One pair and the decision form. Like every object page, a user without the permission
    has an empty scope and gets the same 404 as for a pair outside their areas."""
    user = authenticated(request)
    link = or_404(linkage.link_get_for_user, user=user, link_id=link_id)
    back = _state(request.POST.get("back", "") or request.GET.get("back", ""))
    form = {"decision": "", "reason": ""}
    if request.method == "POST":
        form = {k: request.POST.get(k, "").strip() for k in form}
        try:
            link_decide(actor=user, link_id=link.pk, decision=form["decision"],
                        reason=form["reason"])
        except NotFound as exc:  # gone since the page was read
            raise Http404(exc.message) from exc
        except ApplicationError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("Pair %(n)d: decision recorded.") % {"n": link.pk})
            return HttpResponseRedirect(f"{reverse('linkage:linkage_review')}?state={back}",
                                        status=303)
    status = 400 if request.method == "POST" else 200
    return render(request, "linkage/linkage_pair.html", {
        **_pair_context(user, link), "form": form, "back": back,
    }, status=status)


@dataclass(frozen=True)
class Step:
    """One row of the waterfall: a weight and its bar, placed on a shared axis (percent)."""

    label: str
    weight: float
    running: float
    left: str
    width: str
    positive: bool
    kind: str  # prior, comparison, total


def waterfall(*, prior: float, weights: dict[str, float], total: float) -> list[Step]:
    """Prior first, then each comparison by absolute weight, then the total: each bar runs
    from the running sum before it to the running sum after it (the total from zero)."""
    comparisons = sorted(((str(k), float(v)) for k, v in weights.items()),
                         key=lambda kv: (-abs(kv[1]), kv[0]))
    spans: list[tuple[str, float, float, float, str]] = [
        (_("Prior (any two records)"), prior, 0.0, prior, "prior")]
    running = prior
    for name, weight in comparisons:
        spans.append((name, weight, running, running + weight, "comparison"))
        running += weight
    spans.append((_("Total match weight"), total, 0.0, total, "total"))
    points = [0.0] + [p for _l, _w, a, b, _k in spans for p in (a, b)]
    low, high = min(points), max(points)
    extent = (high - low) or 1.0
    return [Step(label=label, weight=weight, running=end,
                 left=f"{(min(start, end) - low) / extent * 100:.2f}",
                 width=f"{max(abs(end - start) / extent * 100, 0.5):.2f}",
                 positive=weight >= 0, kind=kind)
            for label, weight, start, end, kind in spans]


def _pair_context(user: User, link: Link) -> dict[str, Any]:
    hidden = masked_fields(user=user, model=Link)
    context: dict[str, Any] = {"link": link, "weights_hidden": "weights" in hidden,
                               "reason_hidden": "reason" in hidden,
                               "decided_by_hidden": "decided_by" in hidden}
    if not context["weights_hidden"]:
        explained = link_explain(person_a=link.person_l_id, person_b=link.person_r_id)
        context["explained"] = explained
        context["steps"] = waterfall(prior=explained["prior_weight"],
                                     weights=explained["weights"] or {},
                                     total=explained["match_weight"])
    return context
