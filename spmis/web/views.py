"""HTML pages: thin doors onto selectors. Not-found and not-allowed both answer 404."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any, TypeVar

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from spmis.access.selectors import roles_for_user
from spmis.core import clock
from spmis.core.auth import authenticated
from spmis.core.errors import NotFound
from spmis.registry import selectors as registry
from spmis.schemes import selectors as schemes

T = TypeVar("T")
PAGE_SIZE = 25


def _or_404(fetch: Callable[..., T], **kwargs: Any) -> T:
    try:
        return fetch(**kwargs)
    except NotFound as exc:
        raise Http404(exc.message) from exc


def _as_of(request: HttpRequest) -> dt.date:
    try:
        return dt.date.fromisoformat(request.GET.get("as_of", ""))
    except ValueError:
        return clock.today()


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
    person = _or_404(registry.person_get_for_user, user=authenticated(request), person_id=person_id)
    return render(request, "web/person.html", {
        "person": person,
        "age": _age(person.date_of_birth, person.date_of_death or clock.today()),
        "enrolments": registry.enrolment_list_for_user(user=authenticated(request), person=person),
        "payments": registry.payment_list_for_user(user=authenticated(request), person=person)[:24],
    })


@require_GET
@login_required
def household_detail(request: HttpRequest, household_id: int) -> HttpResponse:
    household = _or_404(registry.household_get_for_user, user=authenticated(request),
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
    scheme = _or_404(schemes.scheme_get, code=code)
    counts = schemes.scheme_enrolment_counts(user=authenticated(request), scheme=scheme)
    return render(request, "web/scheme.html", {
        "scheme": scheme, "counts": counts, "total": sum(counts.values()),
    })


def _age(born: dt.date, on: dt.date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))
