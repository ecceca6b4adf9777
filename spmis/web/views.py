"""HTML pages: thin doors onto selectors. Not-found and not-allowed both answer 404."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any, TypeVar

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from spmis.access import selectors as access_selectors
from spmis.access.classification import masked_fields
from spmis.access.models import Clearance, User
from spmis.access.policy import Permission
from spmis.access.selectors import roles_for_user, user_has_permission
from spmis.audit.actions import AuditAction
from spmis.audit.selectors import audit_search_for_user
from spmis.audit.services import audit_record
from spmis.core import clock
from spmis.core.auth import authenticated
from spmis.core.errors import NotFound
from spmis.core.periods import parse_iso_date
from spmis.payments.models import BenefitPayment
from spmis.registry import selectors as registry
from spmis.registry.models import Person
from spmis.schemes import selectors as schemes

T = TypeVar("T")
PAGE_SIZE = 25


def or_404(fetch: Callable[..., T], **kwargs: Any) -> T:
    try:
        return fetch(**kwargs)
    except NotFound as exc:
        raise Http404(exc.message) from exc


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


@require_GET
@login_required
def person_search(request: HttpRequest) -> HttpResponse:
    text = request.GET.get("q", "")
    national_id = request.GET.get("national_id", "")
    area = request.GET.get("area", "")
    page = None
    if text.strip() or national_id.strip() or area.strip():
        persons = registry.person_search_for_user(
            user=authenticated(request), text=text, national_id=national_id, area_code=area
        )
        page = Paginator(persons, PAGE_SIZE).get_page(request.GET.get("page"))
    partial = request.headers.get("HX-Request") == "true"
    template = "web/_search_results.html" if partial else "web/search.html"
    return render(request, template, {
        "page": page, "q": text, "national_id": national_id, "area": area,
    })


@require_GET
@login_required
def person_detail(request: HttpRequest, person_id: int) -> HttpResponse:
    user = authenticated(request)
    person = or_404(registry.person_get_for_user, user=user, person_id=person_id)
    dob_hidden = "date_of_birth" in masked_fields(user=user, model=Person)
    return render(request, "web/person.html", {
        "person": person,
        "age": None if dob_hidden else _age(person.date_of_birth,
                                             person.date_of_death or clock.today()),
        "hidden_payment": masked_fields(user=user, model=BenefitPayment),
        "internal_hidden": user.clearance < Clearance.INTERNAL,
        "enrolments": registry.enrolment_list_for_user(user=authenticated(request), person=person),
        "payments": registry.payment_list_for_user(user=authenticated(request), person=person)[:24],
    })


@require_GET
@login_required
def household_detail(request: HttpRequest, household_id: int) -> HttpResponse:
    household = or_404(registry.household_get_for_user, user=authenticated(request),
                        household_id=household_id)
    return render(request, "web/household.html", {
        "household": household, "members": registry.household_members(household=household),
    })


@require_GET
@login_required
def scheme_list(request: HttpRequest) -> HttpResponse:
    return render(request, "web/schemes.html", {"schemes": schemes.scheme_list()})


@require_GET
@login_required
def scheme_detail(request: HttpRequest, code: str) -> HttpResponse:
    scheme = or_404(schemes.scheme_get, code=code)
    counts = schemes.scheme_enrolment_counts(user=authenticated(request), scheme=scheme)
    return render(request, "web/scheme.html", {
        "scheme": scheme, "counts": counts, "total": sum(counts.values()),
    })


def _age(born: dt.date, on: dt.date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def require_permission(request: HttpRequest, permission: Permission) -> User:
    """The user, if they hold ``permission`` somewhere; else a logged 403."""
    user = authenticated(request)
    if not user_has_permission(user=user, permission=permission):
        audit_record(actor=user, action=AuditAction.ACCESS_DENIED, object_type="page",
                     object_id=request.path[:64], detail={"permission": permission.value})
        raise DjangoPermissionDenied
    return user


@require_GET
@login_required
def audit_log(request: HttpRequest) -> HttpResponse:
    user = require_permission(request, Permission.VIEW_AUDIT)
    form = {k: request.GET.get(k, "") for k in
            ("action", "actor", "object_type", "object_id", "area", "since", "until")}
    events = audit_search_for_user(
        user=user, action=form["action"], actor=form["actor"], object_type=form["object_type"],
        object_id=form["object_id"], area_code=form["area"], since=parse_iso_date(form["since"]),
        until=parse_iso_date(form["until"]),
    )
    page = Paginator(events, 50).get_page(request.GET.get("page"))
    query = "&".join(f"{k}={v}" for k, v in form.items() if v)
    return render(request, "web/audit.html", {"page": page, "form": form, "query": query})


@require_GET
@login_required
def access_review(request: HttpRequest) -> HttpResponse:
    user = require_permission(request, Permission.REVIEW_ACCESS)
    audit_record(actor=user, action=AuditAction.ACCESS_REVIEW, object_type="page")
    return render(request, "web/access_review.html",
                  {"review": access_selectors.access_review(dormant_days=90)})

