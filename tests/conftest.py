"""Shared fixtures: synthetic countries built once per session and copied for each test, users
by role, API clients. Helpers live in ``tests.helpers`` and ``tests.factories``."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from rest_framework.test import APIClient

from spmis.access.models import Clearance, User
from spmis.geography.models import Area
from spmis.linkage.models import LinkageRun, PersonIdentity
from spmis.registry.models import Person
from spmis.schemes.models import Scheme
from spmis.synth.country import Country
from tests import factories
from tests.datasets import DATASETS, Templates
from tests.helpers import PERIOD

# --- the language: each test starts in the default one ---------------------------------------


@pytest.fixture(autouse=True)
def _default_language() -> Iterator[None]:
    """A request in another language leaves it active in this thread (as Django does): a
    later test calling a service directly would get its messages in that language."""
    from django.conf import settings
    from django.utils import translation

    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.activate(settings.LANGUAGE_CODE)


# --- synthetic countries, built once per session ----------------------------------------------


def _dataset_of(names: list[str]) -> str | None:
    wanted = [name for name in DATASETS if name in names]
    if len(wanted) > 1:
        raise pytest.UsageError(f"A test can use one synthetic country, not {wanted}.")
    return wanted[0] if wanted else None


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Set up ``_dataset`` before any other fixture of a test that uses a dataset, so the
    database holds the country before the test's transaction (``db``) opens."""
    for item in items:
        names = getattr(item, "fixturenames", None)
        if names is not None and _dataset_of(names):
            if "_dataset" in names:
                names.remove("_dataset")
            names.insert(0, "_dataset")


def _uses_datasets(session: pytest.Session) -> bool:
    return any(_dataset_of(getattr(item, "fixturenames", [])) for item in session.items)


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup: None, django_db_blocker: Any, request: pytest.FixtureRequest,
                    tmp_path_factory: pytest.TempPathFactory) -> Iterator[Templates | None]:
    """The test database, and (if any test uses one) the store of synthetic countries."""
    if not _uses_datasets(request.session):
        yield None
        return
    with django_db_blocker.unblock():
        templates = Templates.for_connection(tmp_path_factory.mktemp("office-files"))
        templates.start()
    yield templates
    with django_db_blocker.unblock():
        templates.stop()


@pytest.fixture
def _dataset(request: pytest.FixtureRequest, django_db_setup: Templates | None,
             django_db_blocker: Any) -> Iterator[Any]:
    """A copy of the dataset the test asks for (``country``, ``offices``, ``linked``)."""
    name = _dataset_of(request.fixturenames)
    assert name is not None and django_db_setup is not None, "no dataset was asked for"
    marker = request.node.get_closest_marker("django_db")
    transactional = bool({"transactional_db", "live_server"} & set(request.fixturenames)) or (
        marker is not None and bool(marker.kwargs.get("transaction") or marker.args[:1] == (True,)
                                    or marker.kwargs.get("reset_sequences")))
    with django_db_blocker.unblock():
        value = django_db_setup.enter(name, transactional=transactional)
    yield value
    with django_db_blocker.unblock():
        django_db_setup.leave()


@pytest.fixture
def country(_dataset: Country, db: None) -> Country:
    """The 1,500-person country, loaded through the service (a copy for each test)."""
    return dataclasses.replace(_dataset, truth=dict(_dataset.truth))


@pytest.fixture
def offices(_dataset: Country, db: None, django_db_setup: Templates) -> tuple[Country, Path]:
    """A 20,000-person country of which three district offices' data were written as the files
    they send (not yet taken in), and the folder holding them (shared: read, do not write)."""
    return dataclasses.replace(_dataset, truth=dict(_dataset.truth)), django_db_setup.files


@pytest.fixture
def linked(_dataset: int, db: None) -> LinkageRun:
    """The ``offices`` country with the office files taken in and the registry linked: the
    linkage run."""
    return LinkageRun.objects.get(pk=_dataset)


@pytest.fixture
def small(db: None) -> None:
    """A hand-made country whose indicator figures are computed by hand (tests/test_indicators):
    areas XY > R1 > D1 > C1, C2, C3; 15 people in the population table (none for C3); five
    persons of the NSR, one recorded twice, one dead, paid or enrolled for ``PERIOD``."""
    factories.area_levels()
    d1 = factories.area("D1", parent=factories.area("R1", parent=factories.area("XY")))
    c1, c2, c3 = (factories.area(code, parent=d1) for code in ("C1", "C2", "C3"))
    for commune, sex, age, n in ((c1, "M", 10, 4), (c1, "F", 10, 4), (c1, "M", 70, 2),
                                 (c2, "F", 30, 5)):
        factories.population(commune, year=2026, sex=sex, age_from=age, age_to=age,
                             population=n)
    nsr = factories.source("NSR", institution="I")
    child = factories.scheme("CHILD", guarantee="CHILDREN", function="FAMILY_CHILD")
    health = factories.scheme("HEALTH", guarantee="HEALTH", cash=False)
    pension = factories.scheme("PENSION", guarantee="OLD_AGE")
    disab = factories.scheme("DISAB", guarantee="WORKING_AGE", function="DISABILITY")

    def person(sex: str, born: str, commune: Area, died: str | None = None,
               disability: int = 0) -> Person:
        return factories.person(area=commune, source=nsr, sex=sex, born=born, died=died,
                                registered_on=PERIOD, disability_level=disability)

    def enrol(who: Person, what: Scheme, paid: bool = False) -> None:
        factories.enrolment(who, what, source=nsr, paid=PERIOD if paid else None)

    boy = person("M", "2016-01-01", c1)
    enrol(boy, child, paid=True)
    again = person("M", "2016-01-01", c1)  # the same boy in another record
    enrol(again, health)
    PersonIdentity.objects.create(person=boy, identity=boy.pk)
    PersonIdentity.objects.create(person=again, identity=boy.pk)
    person("F", "2016-03-01", c1)  # a girl without any benefit
    enrol(person("M", "1956-01-01", c1, died="2026-05-10"), pension, paid=True)
    enrol(person("M", "1955-02-01", c1), pension, paid=True)
    enrol(person("F", "1996-01-01", c2, disability=3), disab, paid=True)
    enrol(person("F", "1996-01-01", c3), health)  # no population cell for C3


# --- users and clients -----------------------------------------------------------------------

MakeUser = Callable[..., User]


@pytest.fixture
def make_user(db: None) -> MakeUser:
    def make(role: str = "SCHEME_MANAGER", area: str = "XY", schemes: tuple[str, ...] = (),
             username: str | None = None, clearance: int = Clearance.SECRET) -> User:
        name = username or f"{role.lower()}_{area.lower()}_{'_'.join(schemes).lower()}"
        return factories.user(role, area=area, schemes=schemes, username=name,
                              clearance=clearance)

    return make


@pytest.fixture
def api_for() -> Callable[[User], APIClient]:
    keys: dict[int, str] = {}  # one token per user and test, like `spmis token` once

    def client(user: User) -> APIClient:
        api = APIClient()
        if user.pk not in keys:
            keys[user.pk] = factories.api_token(user)
        api.credentials(HTTP_AUTHORIZATION=f"Token {keys[user.pk]}")
        return api

    return client
