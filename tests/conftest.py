"""Shared fixtures: a small synthetic country on the real test database, and users by role."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from spmis.access.models import Clearance, User
from spmis.access.services import role_assign, user_create
from spmis.synth.country import Country
from spmis.synth.services import country_synthesise

AS_OF = dt.date(2026, 6, 30)
PASSWORD = "correct-horse-battery-staple"


@pytest.fixture
def country(db: None) -> Country:
    """A 1,500-person country, loaded through the service (rolled back after each test)."""
    return country_synthesise(actor=None, persons=1500, seed=11, as_of=AS_OF, months=6)


MakeUser = Callable[..., User]


@pytest.fixture
def make_user(db: None) -> MakeUser:
    def make(role: str = "SCHEME_MANAGER", area: str = "XY", schemes: tuple[str, ...] = (),
             username: str | None = None, clearance: int = Clearance.SECRET) -> User:
        name = username or f"{role.lower()}_{area.lower()}_{'_'.join(schemes).lower()}"
        user = user_create(actor=None, username=name, password=PASSWORD, clearance=clearance)
        role_assign(actor=None, user=user, role=role, area_code=area, scheme_codes=schemes)
        return user

    return make


@pytest.fixture
def api_for() -> Callable[[User], APIClient]:
    def client(user: User) -> APIClient:
        api = APIClient()
        token, _ = Token.objects.get_or_create(user=user)
        api.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
        return api

    return client
