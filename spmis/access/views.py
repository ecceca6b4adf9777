"""Access pages: login, then the second factor (enrolment of an authenticator app, or a code
from it), logout; the audit log (reading it is scoped by access) and the access review."""

from __future__ import annotations

from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth import logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render, resolve_url
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_http_methods

from spmis.access import selectors as access_selectors
from spmis.access.auth import SESSION_MFA_DONE, is_locked, mfa_required, session_rotate
from spmis.access.doors import authenticated, require_permission
from spmis.access.mfa import (
    mfa_device_for_enrolment,
    mfa_enrol_confirm,
    mfa_has_device,
    mfa_provisioning_uri,
    mfa_verify,
)
from spmis.access.policy import Permission
from spmis.audit.actions import AuditAction
from spmis.audit.services import audit_record
from spmis.core.periods import date_param

AUDIT_PAGE_SIZE = 50


class LoginView(auth_views.LoginView):
    """The password step. Staff then go on to the second factor, keeping ``next``."""

    template_name = "access/login.html"
    redirect_authenticated_user = True

    def get_success_url(self) -> str:
        url = super().get_success_url()
        user = authenticated(self.request)
        if self.request.session.get(SESSION_MFA_DONE) or not mfa_required(user):
            return url
        step = "access:mfa-verify" if mfa_has_device(user=user) else "access:mfa-setup"
        return f"{reverse(step)}?{urlencode({'next': url})}"

def _next_url(request: HttpRequest) -> str:
    url = request.POST.get("next") or request.GET.get("next") or ""
    if url and url_has_allowed_host_and_scheme(url, allowed_hosts={request.get_host()},
                                               require_https=request.is_secure()):
        return url
    return resolve_url(settings.LOGIN_REDIRECT_URL)


def _passed(request: HttpRequest) -> HttpResponse:
    request.session[SESSION_MFA_DONE] = True
    session_rotate(request)
    return HttpResponseRedirect(_next_url(request))


def _locked_out(request: HttpRequest) -> HttpResponse:
    """Too many wrong codes locked the account: end this half-logged-in session."""
    logout(request)
    return redirect("access:login")


@sensitive_post_parameters("code")
@never_cache
@require_http_methods(["GET", "POST"])
@login_required
def mfa_setup(request: HttpRequest) -> HttpResponse:
    user = authenticated(request)
    if request.session.get(SESSION_MFA_DONE) or not mfa_required(user):
        return HttpResponseRedirect(_next_url(request))
    if mfa_has_device(user=user):
        return redirect(f"{reverse('access:mfa-verify')}?{urlencode({'next': _next_url(request)})}")
    if is_locked(user):
        return _locked_out(request)
    device = mfa_device_for_enrolment(user=user)
    error = ""
    if request.method == "POST":
        if mfa_enrol_confirm(user=user, code=request.POST.get("code", "")):
            return _passed(request)
        user.refresh_from_db()
        if is_locked(user):
            return _locked_out(request)
        error = _("That code is not valid. Check the time on your phone and try the new code.")
    return render(request, "access/mfa_setup.html", {
        "secret": device.secret,
        "uri": mfa_provisioning_uri(device=device),
        "next": _next_url(request),
        "error": error,
    }, status=400 if error else 200)


@sensitive_post_parameters("code")
@never_cache
@require_http_methods(["GET", "POST"])
@login_required
def mfa_verify_view(request: HttpRequest) -> HttpResponse:
    user = authenticated(request)
    if request.session.get(SESSION_MFA_DONE) or not mfa_required(user):
        return HttpResponseRedirect(_next_url(request))
    if not mfa_has_device(user=user):
        return redirect(f"{reverse('access:mfa-setup')}?{urlencode({'next': _next_url(request)})}")
    if is_locked(user):
        return _locked_out(request)
    error = ""
    if request.method == "POST":
        if mfa_verify(user=user, code=request.POST.get("code", "")):
            return _passed(request)
        user.refresh_from_db()
        if is_locked(user):
            return _locked_out(request)
        error = _("That code is not valid, or was already used. Wait for the next code.")
    return render(request, "access/mfa_verify.html", {"next": _next_url(request), "error": error},
                  status=400 if error else 200)


@require_GET
@login_required
def audit_log(request: HttpRequest) -> HttpResponse:
    user = require_permission(request, Permission.VIEW_AUDIT)
    form = {k: request.GET.get(k, "") for k in
            ("action", "actor", "object_type", "object_id", "area", "since", "until")}
    events = access_selectors.audit_search_for_user(
        user=user, action=form["action"], actor=form["actor"], object_type=form["object_type"],
        object_id=form["object_id"], area_code=form["area"],
        since=date_param(form["since"], name="since date"),
        until=date_param(form["until"], name="until date"),
    )
    page = Paginator(events, AUDIT_PAGE_SIZE).get_page(request.GET.get("page"))
    query = urlencode({k: v for k, v in form.items() if v})  # "&" or "#" in a filter stays one
    return render(request, "access/audit.html", {"page": page, "form": form, "query": query})


@require_GET
@login_required
def access_review(request: HttpRequest) -> HttpResponse:
    user = require_permission(request, Permission.REVIEW_ACCESS)
    audit_record(actor=user, action=AuditAction.ACCESS_REVIEW, object_type="page")
    return render(request, "access/access_review.html",
                  {"review": access_selectors.access_review(dormant_days=90)})
