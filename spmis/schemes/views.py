"""Scheme pages: the catalogue and one scheme (the person page's enrolments panel is in
panels.py)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from spmis.access.doors import authenticated
from spmis.core.doors import or_404
from spmis.schemes import selectors as schemes
from spmis.schemes.models import EnrolmentStatus


@require_GET
@login_required
def scheme_list(request: HttpRequest) -> HttpResponse:
    return render(request, "schemes/schemes.html", {"schemes": schemes.scheme_list()})


@require_GET
@login_required
def scheme_detail(request: HttpRequest, code: str) -> HttpResponse:
    scheme = or_404(schemes.scheme_get, code=code)
    user = authenticated(request)
    counts = {EnrolmentStatus(status).label: n  # "suspended", in the reader's language
              for status, n in schemes.scheme_enrolment_counts(user=user, scheme=scheme).items()}
    return render(request, "schemes/scheme.html", {
        "scheme": scheme, "counts": counts, "total": sum(counts.values()),
        "exits": schemes.scheme_exits_without_end_date(user=user, scheme=scheme),
    })

