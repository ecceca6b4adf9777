"""Login, then the second factor: enrolment of an authenticator app, or a code from it."""

from __future__ import annotations

from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth import logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render, resolve_url
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from spmis.access.auth import SESSION_MFA_DONE, is_locked, mfa_required, session_rotate
from spmis.access.mfa import (
    mfa_device_for_enrolment,
    mfa_enrol_confirm,
    mfa_has_device,
    mfa_provisioning_uri,
    mfa_verify,
)
from spmis.core.auth import authenticated


class LoginView(auth_views.LoginView):
    """The password step. Staff then go on to the second factor, keeping ``next``."""

    template_name = "web/login.html"
    redirect_authenticated_user = True

    def get_success_url(self) -> str:
        url = super().get_success_url()
        user = authenticated(self.request)
        if self.request.session.get(SESSION_MFA_DONE) or not mfa_required(user):
            return url
        step = "web:mfa-verify" if mfa_has_device(user=user) else "web:mfa-setup"
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
    return redirect("web:login")


@sensitive_post_parameters("code")
@never_cache
@require_http_methods(["GET", "POST"])
@login_required
def mfa_setup(request: HttpRequest) -> HttpResponse:
    user = authenticated(request)
    if request.session.get(SESSION_MFA_DONE) or not mfa_required(user):
        return HttpResponseRedirect(_next_url(request))
    if mfa_has_device(user=user):
        return redirect(f"{reverse('web:mfa-verify')}?{urlencode({'next': _next_url(request)})}")
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
    return render(request, "web/mfa_setup.html", {
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
        return redirect(f"{reverse('web:mfa-setup')}?{urlencode({'next': _next_url(request)})}")
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
    return render(request, "web/mfa_verify.html", {"next": _next_url(request), "error": error},
                  status=400 if error else 200)
