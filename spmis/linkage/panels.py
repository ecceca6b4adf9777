"""What linkage adds to the person page (registered in LinkageConfig.ready; see
registry.panels): which records make the identity, the dates of death its flags give, the
identity's records, a banner for its open verification flags, and its linkage history."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _

from spmis.access.classification import masked_fields
from spmis.access.models import User
from spmis.linkage import selectors as linkage
from spmis.linkage.models import FlagReason, FlagState, Link, LinkState, VerificationFlag
from spmis.registry.models import Person
from spmis.registry.panels import Death, PersonPage

DECEASED = (FlagReason.DECEASED_PAID, FlagReason.DECEASED_ENROLLED)


def identity_ids(user: User, person_id: int) -> list[int] | None:
    """The identity hook: the record ids linked with ``person_id``."""
    return linkage.identity_member_ids(user=user, person_id=person_id)


def _date(value: Any) -> dt.date | None:
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        return None


def flag_deaths(user: User, record_ids: Sequence[int]) -> list[Death]:
    """The deaths hook: dates of death that open or confirmed deceased flags on the records
    give (a dismissed flag was found wrong), unless the user's clearance hides a flag's
    detail."""
    if "detail" in masked_fields(user=user, model=VerificationFlag):
        return []
    deaths = []
    for flag in linkage.person_flags_for_user(
            user=user, record_ids=list(record_ids),
            states=(FlagState.OPEN, FlagState.CONFIRMED)):
        on = _date((flag.detail or {}).get("date_of_death")) if flag.reason_code in DECEASED \
            and isinstance(flag.detail, dict) else None
        if on is not None:
            deaths.append(Death(on=on, source=_registry_name(flag), flag_id=flag.pk))
    return deaths


def _registry_name(flag: VerificationFlag) -> str:
    return flag.registry.name if flag.registry else _("the registry's own checks")


@dataclass(frozen=True)
class RecordRow:
    person: Person
    current: bool
    reviewable: bool  # the user may say it is not the same person as the page's record


def person_records(page: PersonPage) -> tuple[str, dict[str, Any]] | None:
    """The identity's records the user may see, each with its source and key facts, and how
    many others lie outside the user's scope; nothing when the record is alone."""
    if len(page.records) < 2 and not page.outside:
        return None
    reviewable = linkage.records_in_scope(user=page.user, ids=set(page.record_ids))
    mine = page.person.pk in reviewable
    return "linkage/_person_identity.html", {
        "rows": [RecordRow(person=r, current=r.pk == page.person.pk,
                           reviewable=mine and r.pk != page.person.pk and r.pk in reviewable)
                 for r in page.records],
        "outside": page.outside,
    }


@dataclass(frozen=True)
class FlagNote:
    """An open flag as the banner says it."""

    flag: VerificationFlag
    linked: bool  # the user may open the flag's page
    detail_hidden: bool
    date_of_death: dt.date | None
    source: str
    income_minor: int | None
    threshold_minor: int | None
    currency: str
    income_year: str


def person_flags(page: PersonPage) -> tuple[str, dict[str, Any]] | None:
    """The banner: every open verification flag on the identity's records the user may see,
    naming its fact (the date of death and who says it, the income and the threshold) and
    linking to the flag for those who decide flags."""
    flags = linkage.person_flags_for_user(user=page.user, record_ids=page.record_ids)
    if not flags:
        return None
    hidden = "detail" in masked_fields(user=page.user, model=VerificationFlag)
    notes = []
    for flag in flags:
        detail = {} if hidden or not isinstance(flag.detail, dict) else flag.detail
        currency = flag.scheme.currency if flag.scheme else ""
        notes.append(FlagNote(
            flag=flag, linked=linkage.flag_in_scope(user=page.user, flag_id=flag.pk),
            detail_hidden=hidden, date_of_death=_date(detail.get("date_of_death")),
            source=_registry_name(flag),
            income_minor=_whole(detail.get("annual_income_minor")),
            threshold_minor=_whole(detail.get("threshold_minor")), currency=currency,
            income_year=str(detail.get("income_year") or "")))
    return "linkage/_person_flags.html", {"notes": notes}


def _whole(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def person_history(page: PersonPage) -> tuple[str, dict[str, Any]] | None:
    """The linkage history of the identity's records: the decisions on their pairs (who,
    when) and the runs that linked them; only for those who may see which records a pair
    joins (a link's records are confidential, like the identity itself)."""
    if {"person_l", "person_r"} & masked_fields(user=page.user, model=Link):
        return None
    history = linkage.identity_history_for_user(user=page.user, record_ids=page.record_ids)
    if not history.decisions and not history.runs:
        return None
    states = {code: str(label) for code, label in LinkState.choices}
    return "linkage/_person_history.html", {
        "history": history, "shown": set(page.record_ids),
        "decisions": [(d, states.get(d.was, d.was), states.get(d.became, d.became))
                      for d in history.decisions],
    }
