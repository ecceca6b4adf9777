"""Session policy: an absolute lifetime, and the second factor before anything else; and the
client address every audit entry of a request records."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth import logout
from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse

from spmis.access.auth import SESSION_LOGIN_AT, SESSION_MFA_DONE, mfa_required
from spmis.access.mfa import mfa_has_device
from spmis.access.models import User
from spmis.audit.services import client_address_context
from spmis.core import clock
from spmis.core.doors import client_address

API_PREFIX = "/api/"

Handler = Callable[[HttpRequest], HttpResponse]


class ClientAddressMiddleware:
    """Every audit entry written while serving a request records the client's address
    (``spmis.core.doors.client_address``). First in the chain, so logins, refused tokens and
    everything after them carry it."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        with client_address_context(client_address(request)):
            return self.get_response(request)


class AbsoluteSessionTimeoutMiddleware:
    """Log out a session ``SPMIS_SESSION_MAX_AGE`` seconds after its login, however active it was.

    The idle timeout is the session cookie's own age (renewed by every request).
    """

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.user.is_authenticated:
            login_at = request.session.get(SESSION_LOGIN_AT)
            age = clock.now().timestamp() - float(login_at) if login_at is not None else None
            if age is None or age > settings.SPMIS_SESSION_MAX_AGE or age < 0:
                logout(request)  # the request goes on as anonymous: pages send it to login
        return self.get_response(request)


class SecondFactorMiddleware:
    """Until a staff session has passed the second factor it may reach only the MFA pages
    and logout; other pages redirect to the MFA page. The API is for token clients: there a
    half-logged-in session counts as no login at all.
    """

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if (not isinstance(user, User) or not user.is_authenticated
                or request.session.get(SESSION_MFA_DONE) or not mfa_required(user)):
            return self.get_response(request)
        setup, verify = reverse("access:mfa-setup"), reverse("access:mfa-verify")
        if request.path in (setup, verify, reverse("access:logout")) or request.path.startswith(
            settings.STATIC_URL
        ):
            return self.get_response(request)
        if request.path.startswith(API_PREFIX):
            request.user = AnonymousUser()
            return self.get_response(request)
        target = verify if mfa_has_device(user=user) else setup
        query = urlencode({"next": request.get_full_path()}) if request.method == "GET" else ""
        return HttpResponseRedirect(f"{target}?{query}" if query else target)
