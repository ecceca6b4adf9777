"""Template context: which permissions the user's roles hold, and the menu entries they open
(each app declares its own in ``menu`` in its ``urls.py``; the pages check again)."""

from __future__ import annotations

from functools import cache
from typing import Any

from django.http import HttpRequest
from django.urls import reverse

from spmis.access.models import User
from spmis.access.policy import ROLE_PERMISSIONS
from spmis.access.selectors import roles_for_user
from spmis.core.doors import MenuEntry, from_every_app


@cache
def menu_entries() -> tuple[MenuEntry, ...]:
    """Every app's menu entries, by order."""
    entries = [entry for _module, menu in from_every_app("menu") for entry in menu]
    return tuple(sorted(entries, key=lambda e: e.order))


def permissions(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if not isinstance(user, User) or not user.is_authenticated:
        return {"can": set(), "menu": []}
    held = set()
    for role in roles_for_user(user=user):
        held |= {p.value for p in ROLE_PERMISSIONS.get(role, ())}
    menu = [{"label": e.label, "url": reverse(e.url_name)} for e in menu_entries()
            if e.permission is None or e.permission in held]
    return {"can": held, "menu": menu}
