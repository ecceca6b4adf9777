"""Helpers shared by every app's doors (pages and API), knowing no user and no other app.

Each app declares its doors in its own ``urls.py``: ``urlpatterns`` (its pages, under its own
namespace), ``api_urlpatterns`` (its REST routes, collected under ``api/v1/`` in the ``api``
namespace), ``route_policy`` (a ``RoutePolicy`` for each of its named routes) and ``menu``
(its ``MenuEntry`` items in the navigation). ``from_every_app`` gathers one of these from every
installed app: the access matrix test is generated from the route policies (a named route
without one fails the suite) and the base layout shows the menu entries.

Policy kinds: ``public`` needs no login; ``any`` any logged-in user; ``page`` the permission,
else 403; ``object`` the permission and the object inside the user's scope, else 404 (the same
answer as a missing object); ``list`` results only from inside the scope of the permission (no
403: an empty scope lists nothing); ``scoped`` the permission, else 403, and results only from
inside the scope. Permissions are named by their value (``spmis.access.policy.Permission``
members are such strings).
"""

from __future__ import annotations

import importlib
import importlib.util
import ipaddress
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

from django.apps import apps
from django.db import DataError
from django.http import Http404, HttpRequest
from django.utils.functional import Promise

from spmis.core.errors import NotFound, ValidationFailed

T = TypeVar("T")
PAGE_SIZE = 25  # rows on a page of results, unless a page says otherwise
MAX_ID = 2**63 - 1  # the largest row id a database key holds (64-bit)


@dataclass(frozen=True)
class RoutePolicy:
    """Who may open a named route (see the kinds above)."""

    kind: str
    permission: str | None = None


@dataclass(frozen=True)
class MenuEntry:
    """A link in the main navigation, shown to users holding ``permission`` (None: anyone
    logged in); entries are shown by ``order``, the smallest first."""

    label: str | Promise
    url_name: str
    permission: str | None = None
    order: int = 100


def or_404(fetch: Callable[..., T], **kwargs: Any) -> T:
    """``fetch(**kwargs)``, with NotFound (missing or outside the user's scope) as a 404."""
    try:
        return fetch(**kwargs)
    except NotFound as exc:
        raise Http404(exc.message) from exc


def int_param(text: str, *, name: str, minimum: int = 1, maximum: int = MAX_ID) -> int | None:
    """A whole number typed in a filter (a row id by default): None when left empty; anything
    that is not ASCII digits between ``minimum`` and ``maximum`` is refused
    (``ValidationFailed``, a 400 at the doors)."""
    text = text.strip()
    if not text:
        return None
    number = int(text) if re.fullmatch(r"-?[0-9]{1,24}", text) else None
    if number is None or not minimum <= number <= maximum:
        raise ValidationFailed(f"{name} must be a whole number from {minimum} to {maximum}.")
    return number


NUL_REFUSED = "Text cannot contain NUL characters (\\x00): remove them and try again."


def is_nul_refusal(exc: BaseException) -> bool:
    """Whether ``exc`` is the database driver refusing a NUL character in a text value.
    PostgreSQL stores none, and psycopg refuses one before the query is sent (nothing was
    read or written); SQLite takes it. A malformed input: the doors answer 400
    (``NUL_REFUSED``), not a server error."""
    return isinstance(exc, DataError | ValueError) and "NUL (0x00)" in str(exc)


def from_every_app(attribute: str) -> Iterator[tuple[str, Any]]:
    """(module name, value) of ``attribute`` in the ``urls`` module of every installed spmis
    app that has one and declares it, in the order of INSTALLED_APPS."""
    package = __name__.split(".")[0]
    for config in apps.get_app_configs():
        if config.name.split(".")[0] != package:
            continue
        name = f"{config.name}.urls"
        try:
            found = importlib.util.find_spec(name) is not None
        except ModuleNotFoundError:
            found = False
        if not found:
            continue
        module = importlib.import_module(name)
        if hasattr(module, attribute):
            yield name, getattr(module, attribute)


def client_address(request: HttpRequest) -> str | None:
    """The address the request came from, normalised (``2001:db8::1``, never upper case).

    Only ``REMOTE_ADDR``, never a header: behind ``spmis serve --trusted-proxy ADDRESS`` the
    server (waitress) puts there the client's address from the proxy's X-Forwarded-For, and it
    believes that header from the trusted proxy alone. Anyone else's X-Forwarded-For is
    ignored, so a client cannot choose its address (for rate limits or the audit log).
    """
    raw = str(request.META.get("REMOTE_ADDR") or "").strip()
    try:
        return str(ipaddress.ip_address(raw))
    except ValueError:
        return raw[:64] or None  # e.g. a Unix socket's name: kept as it came
