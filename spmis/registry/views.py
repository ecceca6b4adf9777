"""Registry pages: person search, a person (with the panels later apps add), a household.

Not-found and not-allowed both answer 404.
"""

from __future__ import annotations

import datetime as dt

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from spmis.access.classification import masked_fields
from spmis.access.doors import authenticated
from spmis.access.models import Clearance
from spmis.core import clock
from spmis.core.doors import PAGE_SIZE, or_404
from spmis.core.errors import ApplicationError
from spmis.registry import selectors as registry
from spmis.registry.models import Person
from spmis.registry.panels import (
    PersonPage,
    person_deaths,
    person_identity_ids,
    person_panels,
)


@require_GET
@login_required
def person_search(request: HttpRequest) -> HttpResponse:
    text = request.GET.get("q", "")
    national_id = request.GET.get("national_id", "")
    area = request.GET.get("area", "")
    page = None
    error = ""
    if text.strip() or national_id.strip() or area.strip():
        try:
            persons = registry.person_search_for_user(
                user=authenticated(request), text=text, national_id=national_id,
                area_code=area)
        except ApplicationError as exc:  # too many words, too long
            error = exc.message
        else:
            page = Paginator(persons, PAGE_SIZE).get_page(request.GET.get("page"))
    partial = request.headers.get("HX-Request") == "true"
    template = "registry/_search_results.html" if partial else "registry/search.html"
    # htmx swaps only 2xx answers: a refused search goes back to it as 200, to a browser as 400.
    return render(request, template, {
        "page": page, "error": error, "q": text, "national_id": national_id, "area": area,
    }, status=400 if error and not partial else 200)


@require_GET
@login_required
def person_detail(request: HttpRequest, person_id: int) -> HttpResponse:
    """The person as one identity: the record asked for, the identity's other records the
    user may see (the rest counted, never shown), and the panels later apps add for all of
    them: alerts above the facts (an open verification flag), the rest below."""
    user = authenticated(request)
    person = or_404(registry.person_get_for_user, user=user, person_id=person_id)
    hidden = masked_fields(user=user, model=Person)
    records, outside = registry.identity_records_for_user(
        user=user, person=person,
        record_ids=person_identity_ids(user=user, person_id=person.pk))
    page = PersonPage(user=user, person=person, records=records, outside=outside,
                      deaths=person_deaths(user=user, records=records, hidden=hidden),
                      params={k: v for k, v in request.GET.items() if isinstance(v, str)})
    dob_hidden = "date_of_birth" in hidden
    return render(request, "registry/person.html", {
        "person": person,
        "age": None if dob_hidden else _age(person.date_of_birth,
                                             person.date_of_death or clock.today()),
        "internal_hidden": user.clearance < Clearance.INTERNAL,
        # Deaths the identity's other records or flags give, once each (date, who says it).
        "other_deaths": list(dict.fromkeys((d.on, d.source) for d in page.deaths
                                           if d.record_id != person.pk)),
        "alerts": person_panels(page=page, place="alert"),
        "panels": person_panels(page=page),
    })


@require_GET
@login_required
def household_detail(request: HttpRequest, household_id: int) -> HttpResponse:
    user = authenticated(request)
    household = or_404(registry.household_get_for_user, user=user, household_id=household_id)
    members, others = registry.household_members_for_user(user=user, household=household)
    return render(request, "registry/household.html", {
        "household": household, "members": members, "others": others,
    })


def _age(born: dt.date, on: dt.date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))
