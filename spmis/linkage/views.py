"""Clerical review of record-linkage pairs: the pairs waiting for a person to decide, and one
pair side by side with the weight each comparison added, and the decision form.

Both records of a pair must be inside the reviewer's scope; otherwise the pair is not found.
"""

from __future__ import annotations

from collections.abc import Callable
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
from spmis.core.errors import ApplicationError, Conflict, NotFound
from spmis.linkage import selectors as linkage
from spmis.linkage.models import CutKind, Link, LinkState
from spmis.linkage.services import (
    DecisionEffect,
    link_decide,
    link_decision_preview,
    link_explain,
    pair_decide,
    pair_decision_preview,
)

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
    """One pair and the decision form. A decision that separates records is shown first (the
    joins it cuts, the identities that result) and applied only when confirmed, as shown.
    Like every object page, a user without the permission has an empty scope and gets the
    same 404 as for a pair outside their areas."""
    user = authenticated(request)
    link = or_404(linkage.link_get_for_user, user=user, link_id=link_id)
    back = _state(request.POST.get("back", "") or request.GET.get("back", ""))
    form = {"decision": "", "reason": ""}
    effect = None
    if request.method == "POST":
        form = {k: request.POST.get(k, "").strip() for k in form}
        try:
            effect, decided = _decide_shown(request, lambda: link_decision_preview(
                actor=user, link_id=link.pk, decision=form["decision"]),
                lambda token: link_decide(actor=user, link_id=link.pk,
                                          decision=form["decision"], reason=form["reason"],
                                          expect=token))
        except NotFound as exc:  # gone since the page was read
            raise Http404(exc.message) from exc
        if decided is not None:
            return HttpResponseRedirect(f"{reverse('linkage:linkage_review')}?state={back}",
                                        status=303)
    status = 400 if request.method == "POST" and effect is None else 200
    return render(request, "linkage/linkage_pair.html", {
        **_pair_context(user, link), "form": form, "back": back,
        "effect": _effect_view(user, effect),
    }, status=status)


@require_http_methods(["GET", "POST"])
@login_required
@csrf_protect
def review_records(request: HttpRequest, person_a: int, person_b: int) -> HttpResponse:
    """Two records of one identity, whether or not they were scored as a pair (joined
    through other records, or by a shared national ID): side by side, and "not a match" on
    them, shown before it is applied. A scored pair's page is linked for its weights."""
    user = authenticated(request)
    low, high = or_404(linkage.record_pair_for_user, user=user, person_a=person_a,
                       person_b=person_b)
    scored = Link.objects.filter(person_l=low, person_r=high).values_list(
        "pk", flat=True).first()
    form = {"decision": LinkState.NON_MATCH.value, "reason": ""}
    effect = None
    if request.method == "POST":
        form["reason"] = request.POST.get("reason", "").strip()
        try:
            effect, decided = _decide_shown(request, lambda: pair_decision_preview(
                actor=user, person_a=low.pk, person_b=high.pk, decision=LinkState.NON_MATCH),
                lambda token: pair_decide(actor=user, person_a=low.pk, person_b=high.pk,
                                          decision=LinkState.NON_MATCH,
                                          reason=form["reason"], expect=token))
        except NotFound as exc:
            raise Http404(exc.message) from exc
        if decided is not None:
            return HttpResponseRedirect(reverse("linkage:linkage_review"), status=303)
    status = 400 if request.method == "POST" and effect is None else 200
    return render(request, "linkage/linkage_records.html", {
        "low": low, "high": high, "form": form, "effect": _effect_view(user, effect),
        "scored": scored,
    }, status=status)


def _decide_shown(request: HttpRequest, preview: Callable[[], DecisionEffect],
                  decide: Callable[[str], Link]) -> tuple[DecisionEffect | None, Link | None]:
    """Without ``effect`` in the form: the effect, and the decision applied at once unless it
    separates records (then it is only shown). With it: applied if still the same. Returns
    (the effect to show, the decided link)."""
    shown = request.POST.get("effect", "").strip()
    try:
        effect = preview()
        if not shown and effect.separates:
            return effect, None
        decided = decide(shown or effect.token)
    except Conflict as exc:
        messages.error(request, exc.message)
        try:
            return preview(), None
        except ApplicationError:
            return None, None
    except NotFound:
        raise
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return None, None
    if decided.pending_state:
        messages.success(request, _("Pair %(n)d: the decision waits for an approver.")
                         % {"n": decided.pk})
    else:
        messages.success(request, _("Pair %(n)d: decision recorded.") % {"n": decided.pk}
                         + (" " + _("Records now in %(k)d identities.") % {
                             "k": len(effect.after)} if effect.changes else ""))
    return effect, decided


@dataclass(frozen=True)
class EffectView:
    """A decision's effect as the page shows it: record ids outside the reader's areas are
    counted, not named."""

    effect: DecisionEffect
    cuts: list[tuple[str, str, str, str]]  # (record, record, kind, how it joined)
    before: list[tuple[str, int]]
    after: list[tuple[str, int]]


def _effect_view(user: User, effect: DecisionEffect | None) -> EffectView | None:
    if effect is None:
        return None
    every = {n for group in effect.before for n in group}
    seen = linkage.records_in_scope(user=user, ids=every)

    def name(n: int) -> str:
        return str(n) if n in seen else "…"

    def shown(groups: tuple[tuple[int, ...], ...]) -> list[tuple[str, int]]:
        return [(", ".join(name(n) for n in group if n in seen)
                 + (" " + _("and %(k)d outside your areas") % {"k": len(group) - sum(
                     n in seen for n in group)} if any(n not in seen for n in group) else ""),
                 len(group)) for group in groups]

    kinds = dict(CutKind.choices)
    return EffectView(effect=effect, before=shown(effect.before), after=shown(effect.after),
                      cuts=[(name(c.person_l), name(c.person_r), str(kinds[c.kind]),
                             f"{c.state} {c.probability:.3f}" if c.probability is not None
                             else c.state) for c in effect.cuts])


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
    context["scored"] = link.match_probability is not None
    if not context["weights_hidden"] and context["scored"]:
        explained = link_explain(person_a=link.person_l_id, person_b=link.person_r_id)
        context["explained"] = explained
        context["steps"] = waterfall(prior=explained["prior_weight"],
                                     weights=explained["weights"] or {},
                                     total=explained["match_weight"])
    return context
