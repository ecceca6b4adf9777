"""Rate limits: how many requests one user, one username typed at login, or one client address
may make in a minute, on the doors worth guessing or scraping through.

| limit    | counted per            | where                                                      |
|----------|------------------------|------------------------------------------------------------|
| login    | username, address      | password sign-in (POST ``/login/``)                        |
| search   | user, address          | person search, page and API (routes an app lists in its    |
|          |                        | ``urls.rate_limits``)                                      |
| api      | user, address          | every API request                                          |

Each is a setting ``SPMIS_RATE_<LIMIT>_PER_<WHAT>`` (requests a minute; 0: no limit). Beyond it
the answer is 429 with ``Retry-After`` (the seconds until the minute ends), and the first
refusal of each minute is recorded in the audit log (``access.rate_limited``).

Counters live in Django's cache, in fixed one-minute windows. The default cache is the
process's memory: right for ``spmis serve``, one process whose threads share it; servers that
run several processes would need a shared cache (``CACHES``), or each process counts apart.
Addresses are ``REMOTE_ADDR`` (``spmis.core.doors.client_address``): behind a proxy, only what
the trusted proxy forwarded.
"""

from __future__ import annotations

import functools
import hashlib
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from rest_framework.exceptions import Throttled
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

from spmis.access.models import User
from spmis.audit.actions import AuditAction
from spmis.audit.services import audit_record
from spmis.core import clock
from spmis.core.doors import client_address, from_every_app

WINDOW = 60  # seconds
API_PREFIX = "/api/"
LOGIN = "login"
SEARCH = "search"
API = "api"


@dataclass(frozen=True)
class Refusal:
    """A request over a limit: which one, counted per what, and when to come back."""

    limit: str
    per: str
    per_minute: int
    retry_after: int

    @property
    def message(self) -> str:
        what = {LOGIN: _("sign-in attempts"), SEARCH: _("searches"),
                API: _("API requests")}[self.limit]
        per = {"username": _("for this username"), "user": _("for your account"),
               "address": _("from your address")}[self.per]
        return _("Too many %(what)s %(per)s: at most %(n)d a minute.") % {
            "what": what, "per": per, "n": self.per_minute}

    @property
    def message_with_wait(self) -> str:
        return _("%(message)s Try again in %(s)d seconds.") % {"message": self.message,
                                                                "s": self.retry_after}


def per_minute(limit: str, per: str) -> int:
    """The setting: requests a minute, 0 for no limit."""
    return int(getattr(settings, f"SPMIS_RATE_{limit.upper()}_PER_{per.upper()}"))


def rate_count(limit: str, per: str, key: str, *, actor: User | None = None) -> Refusal | None:
    """Count one request of ``key`` (a username, user id or address) against a limit; the
    refusal if it is over. The first refusal of each window is audited."""
    allowed = per_minute(limit, per)
    if allowed <= 0 or not key:
        return None
    now = clock.now().timestamp()
    window = math.floor(now / WINDOW)
    digest = hashlib.sha256(key.encode()).hexdigest()[:32]  # no names or addresses as keys
    name = f"spmis:rate:{limit}:{per}:{digest}:{window}"
    cache.add(name, 0, timeout=2 * WINDOW)
    try:
        count = cache.incr(name)
    except ValueError:  # expired between add and incr
        cache.set(name, 1, timeout=2 * WINDOW)
        count = 1
    if count <= allowed:
        return None
    refusal = Refusal(limit=limit, per=per, per_minute=allowed,
                      retry_after=max(1, math.ceil((window + 1) * WINDOW - now)))
    if count == allowed + 1:
        audit_record(actor=actor, action=AuditAction.RATE_LIMITED, object_type="rate_limit",
                     object_id=limit,
                     detail={"per": per, "per_minute": allowed,
                             **({"username": key[:150]} if per == "username" else {})})
    return refusal


@functools.cache
def rate_limited_routes() -> dict[str, str]:
    """Route name -> limit, from every app's ``urls.rate_limits``."""
    routes: dict[str, str] = {}
    for _module, table in from_every_app("rate_limits"):
        routes.update(table)
    return routes


def _first(*counted: Refusal | None) -> Refusal | None:
    return next((refusal for refusal in counted if refusal is not None), None)


def _signed_in(user: Any) -> User | None:
    return user if isinstance(user, User) and user.is_authenticated else None


class RateLimitMiddleware:
    """The limits counted before the view: login (per username and address), rate-limited
    pages (per user and address) and, for the API, per address, before any token is looked
    at (per user it is ``ApiRateThrottle``, once the token has said who)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view: Any, args: Any,
                     kwargs: Any) -> HttpResponse | None:
        match = request.resolver_match
        limit = rate_limited_routes().get(match.view_name if match else "")
        address = client_address(request) or ""
        if request.path.startswith(API_PREFIX):
            refusal = _first(rate_count(API, "address", address),
                             rate_count(limit, "address", address) if limit else None)
        elif limit == LOGIN:
            if request.method != "POST":
                return None
            username = str(request.POST.get("username", "")).strip().casefold()[:150]
            refusal = _first(rate_count(LOGIN, "username", username),
                             rate_count(LOGIN, "address", address))
        elif limit:
            user = _signed_in(getattr(request, "user", None))
            refusal = _first(
                rate_count(limit, "user", str(user.pk), actor=user) if user else None,
                rate_count(limit, "address", address, actor=user))
        else:
            return None
        return too_many(request, refusal) if refusal else None


def too_many(request: HttpRequest, refusal: Refusal) -> HttpResponse:
    """429, saying which limit and when to come back (``Retry-After``)."""
    response: HttpResponse
    if request.path.startswith(API_PREFIX):
        response = JsonResponse({"detail": refusal.message_with_wait}, status=429)
    else:
        response = render(request, "429.html", {"message": refusal.message_with_wait},
                          status=429)
    response["Retry-After"] = str(refusal.retry_after)
    return response


class ApiRateThrottle(BaseThrottle):
    """The API's limits per user (and the search limit on the routes that have one)."""

    def allow_request(self, request: Request, view: Any) -> bool:
        user = _signed_in(request.user)
        if user is None:
            return True
        match = request.resolver_match
        limit = rate_limited_routes().get(match.view_name if match else "")
        refusal = _first(rate_count(API, "user", str(user.pk), actor=user),
                         rate_count(limit, "user", str(user.pk), actor=user) if limit else None)
        if refusal:
            raise Throttled(wait=refusal.retry_after, detail=refusal.message)  # adds the wait
        return True
