"""Clerical review of record-linkage pairs: the queue of pairs waiting for a person to decide,
one pair at a time (the two records side by side with their differences, and the weight each
comparison added), and the decisions.

A reviewer works the queue in order: every decision is first shown (what it will change) and
applied only when confirmed, then the next pair of the queue opens; at the end, the queue says
it is empty. The pages work with plain forms; ``review.js`` adds keyboard shortcuts.

Both records of a pair must be inside the reviewer's scope; otherwise the pair is not found.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_GET, require_http_methods

from spmis.access.classification import masked_fields
from spmis.access.doors import authenticated, require_permission
from spmis.access.models import User
from spmis.core import formatting
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
from spmis.registry.models import Person

PAGE_SIZE = 50
REOPEN = "REOPEN"


def _state(value: str) -> str:
    return value if value in LinkState.values else LinkState.REVIEW


@require_GET
@login_required
def review_list(request: HttpRequest) -> HttpResponse:
    """``?state=`` one of the link states (default REVIEW): pairs both of whose records are in
    the user's scope, in the order to take them, each pair of identities once. ``?end=1``: the
    reviewer came to the end of the queue (pairs they skipped may remain)."""
    user = require_permission(request, linkage.REVIEW_PERMISSION)
    asked = request.GET.get("state", "").strip().upper()
    state = _state(asked)
    if asked and asked != state:
        messages.error(request, _("Unknown state: showing the pairs waiting for review."))
    queue = linkage.review_queue_for_user(user=user, state=state)
    page = Paginator(queue.entries, PAGE_SIZE).get_page(request.GET.get("page"))
    found = linkage.links_for_user_by_id(user=user, ids=[e.link_id for e in page.object_list])
    rows = [(entry, found[entry.link_id]) for entry in page.object_list
            if entry.link_id in found]
    return render(request, "linkage/linkage_review.html", {
        "page": page, "rows": rows, "state": state, "states": LinkState.choices,
        "state_label": LinkState(state).label, "query": f"state={state}",
        "queue": queue, "end": request.GET.get("end") == "1",
        "first": queue.entries[0].link_id if queue.entries else None,
    })


# The decisions a reviewer takes on a pair: (value, label, shortcut key, style).
DECISIONS: dict[str, tuple[Any, str, str]] = {
    LinkState.MATCH: (gettext_lazy("Match"), "m", "primary"),
    LinkState.NON_MATCH: (gettext_lazy("Not a match"), "n", "secondary"),
    LinkState.UNSURE: (gettext_lazy("Unsure"), "u", "tertiary"),
    REOPEN: (gettext_lazy("Reopen"), "r", "tertiary"),
}
REASON_REQUIRED = (LinkState.NON_MATCH, LinkState.UNSURE)


@dataclass(frozen=True)
class Action:
    value: str
    label: str
    key: str
    style: str


def _actions(link: Link) -> list[Action]:
    """What may be decided on the pair now: the three decisions but the one it holds, and
    reopen once decided; nothing while a decision waits for an approver."""
    if link.pending_state:
        return []
    values: list[str] = [v for v in (LinkState.MATCH, LinkState.NON_MATCH, LinkState.UNSURE)
                         if v != link.state]
    if link.state in (LinkState.MATCH, LinkState.NON_MATCH, LinkState.UNSURE):
        values.append(REOPEN)
    return [Action(str(v), str(DECISIONS[v][0]), DECISIONS[v][1], DECISIONS[v][2])
            for v in values]


@require_http_methods(["GET", "POST"])
@login_required
@csrf_protect
def review_pair(request: HttpRequest, link_id: int) -> HttpResponse:
    """One pair and its decisions. A decision posted without the effect it was shown is only
    shown (what it will change: the joins it cuts, the identities that result) and changes
    nothing; posted again with it, it is applied if the effect is still the same, and the
    next pair of the queue opens (the queue's end when none is left). Like every object page,
    a user without the permission has an empty scope and gets the same 404 as for a pair
    outside their areas."""
    user = authenticated(request)
    link = or_404(linkage.link_get_for_user, user=user, link_id=link_id)
    back = _state(request.POST.get("back", "") or request.GET.get("back", ""))
    form = {"decision": "", "reason": ""}
    effect = None
    status = 200
    if request.method == "POST":
        form = {k: request.POST.get(k, "").strip() for k in form}
        if form["decision"] not in DECISIONS:
            messages.error(request, _("Choose a decision: Match, Not a match, Unsure or "
                                      "Reopen."))
            status = 400
        else:
            key = linkage.review_queue_key_for_user(user=user, state=back, link_id=link.pk)
            try:
                effect, decided, status = _confirm_then_decide(
                    request, lambda: link_decision_preview(
                        actor=user, link_id=link.pk, decision=form["decision"]),
                    lambda token: link_decide(actor=user, link_id=link.pk,
                                              decision=form["decision"],
                                              reason=form["reason"], expect=token))
            except NotFound as exc:  # gone since the page was read
                raise Http404(exc.message) from exc
            if decided is not None:
                place = linkage.review_queue_place_for_user(user=user, state=back, key=key)
                return _to_next(place.next_id, back)
            link.refresh_from_db()
    place = linkage.review_queue_place_for_user(user=user, state=back, link_id=link.pk)
    return render(request, "linkage/linkage_pair.html", {
        **_pair_context(user, link), "form": form, "back": back,
        "back_label": LinkState(back).label, "place": place,
        "skip": _next_url(place.next_id, back), "actions": _actions(link),
        "effect": _effect_view(user, effect, form),
        "here": reverse("linkage:linkage_review_pair", args=[link.pk]),
    }, status=status)


def _next_url(next_id: int | None, state: str) -> str:
    if next_id is None:
        return f"{reverse('linkage:linkage_review')}?state={state}&end=1"
    return f"{reverse('linkage:linkage_review_pair', args=[next_id])}?back={state}"


def _to_next(next_id: int | None, state: str) -> HttpResponseRedirect:
    return HttpResponseRedirect(_next_url(next_id, state), status=303)


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
    status = 200
    if request.method == "POST":
        form["reason"] = request.POST.get("reason", "").strip()
        try:
            effect, decided, status = _confirm_then_decide(
                request, lambda: pair_decision_preview(
                    actor=user, person_a=low.pk, person_b=high.pk,
                    decision=LinkState.NON_MATCH),
                lambda token: pair_decide(actor=user, person_a=low.pk, person_b=high.pk,
                                          decision=LinkState.NON_MATCH,
                                          reason=form["reason"], expect=token))
        except NotFound as exc:
            raise Http404(exc.message) from exc
        if decided is not None:
            return HttpResponseRedirect(reverse("registry:person-detail", args=[low.pk]),
                                        status=303)
    return render(request, "linkage/linkage_records.html", {
        "low": low, "high": high, "rows": record_rows(user, low, high), "form": form,
        "effect": _effect_view(user, effect, form), "scored": scored,
        "here": reverse("linkage:linkage_records", args=[low.pk, high.pk]),
    }, status=status)


def _confirm_then_decide(request: HttpRequest, preview: Callable[[], DecisionEffect],
                         decide: Callable[[str], Link]
                         ) -> tuple[DecisionEffect | None, Link | None, int]:
    """Without ``effect`` in the form (the confirmation step): the effect, to be shown, and
    nothing changes. With it: applied if the effect is still the one shown (else shown again).
    Returns (the effect to show, the decided link, the page's status)."""
    shown = request.POST.get("effect", "").strip()
    try:
        effect = preview()
    except NotFound:
        raise
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return None, None, 400
    if not shown:
        return effect, None, 200
    try:
        decided = decide(shown)
    except NotFound:
        raise
    except Conflict as exc:
        messages.error(request, exc.message)
        try:
            return preview(), None, 409
        except ApplicationError:
            return None, None, 409
    except ApplicationError as exc:  # e.g. no reason given
        messages.error(request, exc.message)
        return effect, None, 400
    label = DECISIONS[effect.decision][0]
    if decided.pending_state:
        messages.success(request, _("Pair %(n)d: %(decision)s waits for an approver; nothing "
                                    "changes until it is approved.")
                         % {"n": decided.pk, "decision": label})
    else:
        text = _("Pair %(n)d: %(decision)s recorded.") % {"n": decided.pk, "decision": label}
        if effect.changes:
            text += " " + _("Records now in %(k)s identities.") % {
                "k": formatting.number(len(effect.after))}
        messages.success(request, text)
    return effect, decided, 200


@dataclass(frozen=True)
class EffectView:
    """A decision's effect as the confirmation step shows it: record ids outside the reader's
    areas are counted, not named."""

    effect: DecisionEffect
    label: str
    style: str
    reason: str
    reason_required: bool
    waits: bool  # maker-checker: the decision will wait for an approver
    cuts: list[tuple[str, str, str, str]]  # (record, record, kind, how it joined)
    before: list[tuple[str, int]]
    after: list[tuple[str, int]]


def _effect_view(user: User, effect: DecisionEffect | None,
                 form: dict[str, str]) -> EffectView | None:
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

    def how(state: str, probability: float | None) -> str:
        said = str(LinkState(state).label) if state in LinkState.values else ""
        if probability is None:
            return said
        return _("%(state)s, probability %(p)s") % {"state": said,
                                                     "p": formatting.number(probability, 3)}

    kinds = dict(CutKind.choices)
    label, _key, style = DECISIONS[effect.decision]
    waits = bool(settings.SPMIS_LINKAGE_CHECKER) and effect.decision != LinkState.UNSURE
    return EffectView(effect=effect, label=str(label), style=style,
                      reason=form.get("reason", ""),
                      reason_required=effect.decision in REASON_REQUIRED, waits=waits,
                      before=shown(effect.before), after=shown(effect.after),
                      cuts=[(name(c.person_l), name(c.person_r), str(kinds[c.kind]),
                             how(c.state, c.probability)) for c in effect.cuts])


# The model's comparisons (spmis.linkage.comparisons) as a reviewer reads them.
COMPARISONS = {
    "national_id": gettext_lazy("National ID"),
    "given_name": gettext_lazy("Given name"),
    "surname": gettext_lazy("Family name"),
    "date_of_birth": gettext_lazy("Date of birth"),
    "sex": gettext_lazy("Sex"),
    "area": gettext_lazy("Area"),
    "residence": gettext_lazy("Address and area"),
    "household_lookalike": gettext_lazy("Household look-alike (cap)"),
}


def comparison_label(code: str) -> str:
    """A comparison's name for people; an unknown one keeps its code."""
    return str(COMPARISONS.get(code, code))


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
    code: str = ""  # the comparison's name in the model


def waterfall(*, prior: float, weights: dict[str, float], total: float) -> list[Step]:
    """Prior first, then each comparison by absolute weight, then the total: each bar runs
    from the running sum before it to the running sum after it (the total from zero)."""
    comparisons = sorted(((str(k), float(v)) for k, v in weights.items()),
                         key=lambda kv: (-abs(kv[1]), kv[0]))
    spans: list[tuple[str, str, float, float, float, str]] = [
        (_("Prior (any two records)"), "prior", prior, 0.0, prior, "prior")]
    running = prior
    for code, weight in comparisons:
        spans.append((comparison_label(code), code, weight, running, running + weight,
                      "comparison"))
        running += weight
    spans.append((_("Total match weight"), "total", total, 0.0, total, "total"))
    points = [0.0] + [p for _l, _c, _w, a, b, _k in spans for p in (a, b)]
    low, high = min(points), max(points)
    extent = (high - low) or 1.0
    return [Step(label=label, weight=weight, running=end,
                 left=f"{(min(start, end) - low) / extent * 100:.2f}",
                 width=f"{max(abs(end - start) / extent * 100, 0.5):.2f}",
                 positive=weight >= 0, kind=kind, code=code)
            for label, code, weight, start, end, kind in spans]


@dataclass(frozen=True)
class FieldRow:
    """One field of the two records side by side. ``differs``: True or False when compared,
    None when not (restricted, missing in both, or a field that tells records apart by
    nature, like the source)."""

    code: str
    label: str
    a: str
    b: str
    differs: bool | None
    restricted: bool = False


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, str) and isinstance(b, str):
        return " ".join(a.split()).casefold() == " ".join(b.split()).casefold()
    return bool(a == b)


def record_rows(user: User, a: Person, b: Person) -> list[FieldRow]:
    """The two records' fields with readable names, each marked as differing or not."""
    hidden = masked_fields(user=user, model=Person)

    def area(p: Person) -> str:
        return f"{p.area.name} ({p.area.code})"

    def source(p: Person) -> str:
        return _("%(name)s (%(code)s), record %(ref)s") % {
            "name": p.source.name, "code": p.source.code, "ref": p.source_ref}

    fields: list[tuple[str, Any, Callable[[Person], Any], Callable[[Person], str], bool]] = [
        ("given_name", _("Given name"), lambda p: p.given_name, lambda p: p.given_name, True),
        ("family_name", _("Family name"), lambda p: p.family_name, lambda p: p.family_name,
         True),
        ("sex", _("Sex"), lambda p: p.sex, lambda p: str(p.get_sex_display()), True),
        ("date_of_birth", _("Date of birth"), lambda p: p.date_of_birth,
         lambda p: formatting.day(p.date_of_birth), True),
        ("national_id", _("National ID"), lambda p: p.national_id,
         lambda p: p.national_id or "", True),
        ("area", _("Area"), lambda p: p.area_id, area, True),
        ("source", _("Source"), lambda p: p.source_id, source, False),
    ]
    if a.date_of_death or b.date_of_death:
        fields.insert(4, ("date_of_death", _("Date of death"), lambda p: p.date_of_death,
                          lambda p: formatting.day(p.date_of_death) if p.date_of_death
                          else "", True))
    rows = []
    for code, label, value, show, compared in fields:
        if code in hidden or (code == "source" and "source_ref" in hidden):
            rows.append(FieldRow(code, str(label), "", "", None, restricted=True))
            continue
        va, vb = value(a), value(b)
        both_missing = va in (None, "") and vb in (None, "")
        differs = None if not compared or both_missing else not _same(va, vb)
        rows.append(FieldRow(code, str(label), show(a) or "—", show(b) or "—", differs))
    return rows


def _pair_context(user: User, link: Link) -> dict[str, Any]:
    hidden = masked_fields(user=user, model=Link)
    context: dict[str, Any] = {"link": link, "weights_hidden": "weights" in hidden,
                               "reason_hidden": "reason" in hidden,
                               "decided_by_hidden": "decided_by" in hidden,
                               "rows": record_rows(user, link.person_l, link.person_r)}
    context["differing"] = sum(1 for r in context["rows"] if r.differs)
    context["scored"] = link.match_probability is not None
    if not context["weights_hidden"] and context["scored"]:
        explained = link_explain(person_a=link.person_l_id, person_b=link.person_r_id)
        context["explained"] = explained
        context["steps"] = waterfall(prior=explained["prior_weight"],
                                     weights=explained["weights"] or {},
                                     total=explained["match_weight"])
    return context
