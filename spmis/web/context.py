"""Template context: which menu entries the user's roles open (the pages check again)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from spmis.access.models import User
from spmis.access.policy import ROLE_PERMISSIONS
from spmis.access.selectors import roles_for_user


def permissions(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if not isinstance(user, User) or not user.is_authenticated:
        return {"can": set()}
    held = set()
    for role in roles_for_user(user=user):
        held |= {p.value for p in ROLE_PERMISSIONS.get(role, ())}
    return {"can": held}
