"""The logged-in user of a request, typed: doors call this after authentication has run."""

from __future__ import annotations

from typing import Any

from spmis.access.models import User
from spmis.core.errors import NotFound


def authenticated(request: Any) -> User:
    user = request.user
    if not isinstance(user, User) or not user.is_authenticated:
        # Views are behind login_required and the API behind IsAuthenticated; this is a backstop.
        raise NotFound("No such page.")
    return user
