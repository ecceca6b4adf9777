"""The verification-flag work list ("averiguação cadastral"): cases an authoritative registry
raised against person records (a death the registry knows of, while the person is still paid
or enrolled), each to be confirmed or dismissed by the office responsible for the person's
area before its deadline.

A flag is visible only when its person is inside the officer's scope for registering persons;
otherwise it is not found, exactly like a flag that does not exist.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_GET, require_http_methods

from spmis.access.classification import masked_fields
from spmis.access.doors import authenticated, require_permission
from spmis.access.models import User
from spmis.access.policy import Permission
from spmis.core import clock, formatting
from spmis.core.doors import or_404
from spmis.core.errors import ApplicationError, NotFound
from spmis.linkage import selectors as linkage
from spmis.linkage.crosscheck import flag_decide
from spmis.linkage.models import FlagReason, FlagState, VerificationFlag

PAGE_SIZE = 50


def amount_text(amount_minor: Any, currency: str) -> str:
    """A flag's amount in its scheme's currency ("1,500.50 USD", "1,000 CLP"; in the active
    language); "" when the stored detail holds no whole number."""
    try:
        return formatting.money(int(amount_minor), currency)
    except (TypeError, ValueError):
        return ""


class _BadDecision(Exception):
    """A POST whose decision is neither confirm nor dismiss."""


@dataclass(frozen=True)
class FlagRow:
    """A flag with what the page shows of its detail (empty when the detail is masked)."""

    flag: VerificationFlag
    overdue: bool
    detail_hidden: bool
    date_of_death: str
    matched_by: str
    periods_paid: int | None
    amount: str
    first_period: str
    other: list[tuple[str, str]]  # detail keys this page has no place for, as they are


_SHOWN = frozenset({"date_of_death", "matched_by", "periods_paid_after_death", "amount_minor",
                    "first_period"})


def _row(flag: VerificationFlag, *, hidden: frozenset[str], today: dt.date) -> FlagRow:
    detail_hidden = "detail" in hidden
    detail = {} if detail_hidden or not isinstance(flag.detail, dict) else flag.detail
    amount = detail.get("amount_minor")
    periods = detail.get("periods_paid_after_death")
    return FlagRow(
        flag=flag, overdue=flag.state == FlagState.OPEN and flag.due_on < today,
        detail_hidden=detail_hidden, date_of_death=str(detail.get("date_of_death") or ""),
        matched_by=str(detail.get("matched_by") or ""),
        periods_paid=periods if isinstance(periods, int) else None,
        amount=amount_text(amount, flag.scheme.currency if flag.scheme else "")
        if amount is not None else "",
        first_period=str(detail.get("first_period") or ""),
        other=[(str(k), str(v)) for k, v in sorted(detail.items()) if k not in _SHOWN])


def _choice(value: str, choices: list[str], default: str) -> tuple[str, bool]:
    """(the value if it is one of ``choices``, else ``default``; whether it was refused)."""
    value = value.strip().upper()
    if not value:
        return default, False
    return (value, False) if value in choices else (default, True)


@require_GET
@login_required
def flag_list(request: HttpRequest) -> HttpResponse:
    """``?state=`` (default OPEN), ``?reason=``, ``?area=`` (a P-code: the person's area is in
    its subtree): the flags whose person is in the user's scope, the earliest deadline first."""
    user = require_permission(request, Permission.REGISTER_PERSONS)
    state, bad_state = _choice(request.GET.get("state", ""), list(FlagState.values),
                               FlagState.OPEN)
    reason, bad_reason = _choice(request.GET.get("reason", ""), list(FlagReason.values), "")
    area = request.GET.get("area", "").replace("\x00", "").strip()[:32]
    if bad_state:
        messages.error(request, _("Unknown state: showing the open flags."))
    if bad_reason:
        messages.error(request, _("Unknown reason: showing flags of every reason."))
    today = clock.today()
    flags = linkage.flag_list_for_user(user=user, state=state, reason=reason, area_code=area)
    page = Paginator(flags, PAGE_SIZE).get_page(request.GET.get("page"))
    hidden = masked_fields(user=user, model=VerificationFlag)
    rows = [_row(flag, hidden=hidden, today=today) for flag in page.object_list]
    form = {"state": state, "reason": reason, "area": area}
    return render(request, "linkage/crosscheck_flags.html", {
        "page": page, "rows": rows, "form": form, "states": FlagState.choices,
        "reasons": FlagReason.choices, "today": today,
        "summary": linkage.flag_summary_for_user(user=user, area_code=area, today=today),
        "query": urlencode({k: v for k, v in form.items() if v}),
    })


@require_http_methods(["GET", "POST"])
@login_required
@csrf_protect
def flag_detail(request: HttpRequest, flag_id: int) -> HttpResponse:
    """One flag: the person's record and the registry's record side by side, the detail, and
    the decision form. Like every object page, a user without the permission has an empty
    scope and gets the same 404 as for a flag outside their areas."""
    user = authenticated(request)
    view = or_404(linkage.flag_view_for_user, user=user, flag_id=flag_id)
    flag = view.flag
    form = {"decision": "", "outcome": ""}
    if request.method == "POST":
        form = {k: request.POST.get(k, "").strip() for k in form}
        try:
            if form["decision"] not in ("confirm", "dismiss"):
                raise _BadDecision(_("Choose Confirm or Dismiss."))
            decided = flag_decide(actor=user, flag_id=flag.pk,
                                  confirm=form["decision"] == "confirm", outcome=form["outcome"])
        except NotFound as exc:  # gone since the page was read
            raise Http404(exc.message) from exc
        except ApplicationError as exc:
            messages.error(request, exc.message)
        except _BadDecision as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, _("Flag %(n)d: %(state)s.") % {
                "n": decided.pk, "state": decided.get_state_display()})
            return HttpResponseRedirect(reverse("linkage:crosscheck-flags"), status=303)
        flag.refresh_from_db()
    status = 400 if request.method == "POST" else 200
    return render(request, "linkage/crosscheck_flag.html", {
        **_flag_context(user, flag), "form": form, "evidence_shown": view.evidence_shown,
    }, status=status)


def _flag_context(user: User, flag: VerificationFlag) -> dict[str, Any]:
    hidden = masked_fields(user=user, model=VerificationFlag)
    return {"flag": flag, "row": _row(flag, hidden=hidden, today=clock.today()),
            "outcome_hidden": "outcome" in hidden, "decided_by_hidden": "decided_by" in hidden,
            "is_open": flag.state == FlagState.OPEN}
