"""Person panels: what later apps (schemes, payments, ...) show on a person's page.

Registry knows nothing of those apps. Each registers a panel in its ``AppConfig.ready()``: a
callable ``(user, person) -> (template name, context) | None`` (None: nothing to show this
user) with an ``order``; the person page renders the panels in order, the smallest first.
The person was read through ``person_get_for_user``, so it is inside the user's scope and its
read is audited; a panel reads its own data scoped to the user as well.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from spmis.access.models import User
from spmis.registry.models import Person

PersonPanel = Callable[[User, Person], tuple[str, dict[str, Any]] | None]

_PANELS: dict[str, tuple[int, PersonPanel]] = {}


def person_panel_register(*, name: str, order: int, panel: PersonPanel) -> None:
    """Add (or replace) the panel ``name``: registering again is harmless."""
    _PANELS[name] = (order, panel)


def person_panels(*, user: User, person: Person) -> list[tuple[str, dict[str, Any]]]:
    """(template name, context) of each panel with something to show, in order."""
    shown = []
    for _name, (_order, panel) in sorted(_PANELS.items(), key=lambda kv: (kv[1][0], kv[0])):
        found = panel(user, person)
        if found is not None:
            shown.append(found)
    return shown
