"""Source pages for the MIS unit: the sources a user manages, and the form that adds or edits
one (MANAGE_SOURCES inside their areas; the same services as ``spmis intake source``)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_GET, require_http_methods

from spmis.access.doors import authenticated, require_permission
from spmis.access.policy import Permission
from spmis.core.doors import or_404
from spmis.core.errors import ApplicationError
from spmis.intake import selectors as intake
from spmis.intake.models import LoadPolicy, Schedule, Source, SourceKind
from spmis.intake.services import SourceFields, source_create, source_update
from spmis.schemes.selectors import scheme_list

TEXT_FIELDS = ("name", "institution", "kind", "area", "schedule", "deadline_days", "policy",
               "error_threshold", "contact")


@require_GET
@login_required
def source_list(request: HttpRequest) -> HttpResponse:
    user = require_permission(request, Permission.MANAGE_SOURCES)
    return render(request, "intake/sources.html",
                  {"sources": intake.source_manage_list_for_user(user=user)})


@require_http_methods(["GET", "POST"])
@login_required
@csrf_protect
def source_new(request: HttpRequest) -> HttpResponse:
    user = require_permission(request, Permission.MANAGE_SOURCES)
    form: dict[str, Any] = {"code": "", "name": "", "institution": "", "kind": "", "area": "",
                            "schemes": [], "schedule": Schedule.MONTHLY, "deadline_days": 15,
                            "policy": LoadPolicy.QUARANTINE, "error_threshold": 10,
                            "contact": ""}
    if request.method == "POST":
        form = _posted(request)
        form["code"] = request.POST.get("code", "").strip()
        try:
            done = source_create(actor=user, code=form["code"], fields=_fields(form))
        except ApplicationError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("Source %(code)s added.") % {"code": done.code})
            return HttpResponseRedirect(reverse("intake:source-list"), status=303)
    return _form(request, form, None)


@require_http_methods(["GET", "POST"])
@login_required
@csrf_protect
def source_edit(request: HttpRequest, code: str) -> HttpResponse:
    user = authenticated(request)  # without the permission: not found, like outside it
    source = or_404(intake.source_manage_get_for_user, user=user, code=code)
    form: dict[str, Any] = {
        "code": source.code, "name": source.name, "institution": source.institution,
        "kind": source.kind, "area": source.area.code if source.area else "",
        "schemes": [s.code for s in source.schemes.all()], "schedule": source.schedule,
        "deadline_days": source.deadline_days, "policy": source.policy,
        "error_threshold": source.error_threshold, "contact": source.contact}
    if request.method == "POST":
        form = {**_posted(request), "code": source.code}
        try:
            done = source_update(actor=user, code=source.code, fields=_fields(form))
        except ApplicationError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("Source %(code)s saved.") % {"code": done.code})
            return HttpResponseRedirect(reverse("intake:source-list"), status=303)
    return _form(request, form, source)


def _posted(request: HttpRequest) -> dict[str, Any]:
    form: dict[str, Any] = {k: request.POST.get(k, "").strip() for k in TEXT_FIELDS}
    form["schemes"] = [c.strip() for c in request.POST.getlist("schemes") if c.strip()]
    return form


def _fields(form: dict[str, Any]) -> SourceFields:
    return SourceFields(
        name=form["name"], institution=form["institution"], kind=form["kind"],
        area=form["area"], schemes=tuple(form["schemes"]), schedule=form["schedule"],
        deadline_days=str(form["deadline_days"]), policy=form["policy"],
        error_threshold=str(form["error_threshold"]), contact=form["contact"])


def _form(request: HttpRequest, form: dict[str, Any], source: Source | None) -> HttpResponse:
    return render(request, "intake/source_form.html", {
        "form": form, "source": source, "kinds": SourceKind.choices,
        "schedules": Schedule.choices, "policies": LoadPolicy.choices,
        "schemes": scheme_list(),
    }, status=400 if request.method == "POST" else 200)
