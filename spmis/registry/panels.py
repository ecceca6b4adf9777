"""The person page's hooks: what later apps (schemes, payments, linkage, ...) show on it.

Registry knows nothing of those apps. Each registers in its ``AppConfig.ready()`` (the
callables live in the app's ``panels.py``):

- **panels** — ``person_panel_register(name, order, panel, place)``: a callable
  ``(page) -> (template name, context) | None`` (None: nothing to show this reader). ``place``
  ``"alert"`` puts it above the person's facts (banners: an open verification flag), ``"body"``
  below them; each place renders its panels in order, the smallest first. The orders in use:
  records of the identity 5, enrolments 10, determinations 15 (reserved: the eligibility app
  to come registers ``eligibility.determinations`` there; nothing is shown until it does),
  payments 20, linkage history 40; alerts: verification flags 10.
- **identity** — ``person_identity_register(resolver)``: ``(user, person id) -> record ids``
  of the person's identity (linkage), or None when the reader may not see how records are
  linked; without one (or with None) the page is the record alone.
- **deaths** — ``person_deaths_register(name, provider)``: ``(user, record ids) -> [Death]``,
  dates of death the reader may see from outside the records (an open or confirmed
  deceased flag); the page marks what came after the earliest one.

The page's own record was read through ``person_get_for_user`` and the identity's other
records through ``identity_records_for_user``: all inside the reader's scope, each read
audited once. A panel reads its own data scoped to the reader as well, for
``page.record_ids`` only (never for the records outside the reader's scope).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from spmis.access.models import User
from spmis.registry.models import Person


@dataclass(frozen=True)
class Death:
    """A date of death known for the identity, and where it comes from (shown as is)."""

    on: dt.date
    source: str
    record_id: int | None = None  # the record carrying it, when the reader may see it
    flag_id: int | None = None  # the flag that says it


@dataclass(frozen=True)
class PersonPage:
    """What every panel is given: the reader, the record asked for, the identity's records
    the reader may see (that record first; each already read and audited), how many records
    of the identity lie outside the reader's scope (a count only), the deaths known, and the
    request's query parameters (a panel's pager)."""

    user: User
    person: Person
    records: Sequence[Person]
    outside: int = 0
    deaths: Sequence[Death] = ()
    params: Mapping[str, str] = field(default_factory=dict)

    @property
    def record_ids(self) -> list[int]:
        return [r.pk for r in self.records]

    @property
    def died_on(self) -> dt.date | None:
        """The earliest date of death known (what comes after it is marked), or None."""
        return min((d.on for d in self.deaths), default=None)


Place = Literal["alert", "body"]
PersonPanel = Callable[[PersonPage], tuple[str, dict[str, Any]] | None]
IdentityResolver = Callable[[User, int], list[int] | None]
DeathsProvider = Callable[[User, Sequence[int]], list[Death]]

_PANELS: dict[str, tuple[Place, int, PersonPanel]] = {}
_IDENTITY: list[IdentityResolver] = []
_DEATHS: dict[str, DeathsProvider] = {}


def person_panel_register(*, name: str, order: int, panel: PersonPanel,
                          place: Place = "body") -> None:
    """Add (or replace) the panel ``name``: registering again is harmless."""
    _PANELS[name] = (place, order, panel)


def person_identity_register(*, resolver: IdentityResolver) -> None:
    """Set the resolver of a record's identity (one: registering again replaces it)."""
    _IDENTITY[:] = [resolver]


def person_deaths_register(*, name: str, provider: DeathsProvider) -> None:
    """Add (or replace) a provider of dates of death."""
    _DEATHS[name] = provider


def person_identity_ids(*, user: User, person_id: int) -> list[int]:
    """The record ids of the person's identity as the reader may know them (ids only, nothing
    read or audited): the record alone when nothing links it or the links are hidden."""
    found = _IDENTITY[0](user, person_id) if _IDENTITY else None
    return sorted(set(found or []) | {person_id})


def person_deaths(*, user: User, records: Sequence[Person],
                  hidden: frozenset[str]) -> list[Death]:
    """Dates of death of the records (unless the reader's clearance hides them) and from the
    registered providers, the earliest first."""
    deaths = [] if "date_of_death" in hidden else [
        Death(on=r.date_of_death, source=r.source.name, record_id=r.pk)
        for r in records if r.date_of_death is not None]
    for provider in _DEATHS.values():
        deaths.extend(provider(user, [r.pk for r in records]))
    return sorted(deaths, key=lambda d: (d.on, d.record_id or 0, d.flag_id or 0))


def person_panels(*, page: PersonPage, place: Place = "body") -> list[tuple[str, dict[str, Any]]]:
    """(template name, context) of each panel of ``place`` with something to show, in order."""
    shown = []
    for _name, (where, _order, panel) in sorted(_PANELS.items(),
                                                key=lambda kv: (kv[1][1], kv[0])):
        if where != place:
            continue
        found = panel(page)
        if found is not None:
            shown.append(found)
    return shown
