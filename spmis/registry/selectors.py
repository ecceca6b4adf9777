"""Reads of person data. Every one is scoped to the user and leaves an audit trace."""

from __future__ import annotations

from typing import NoReturn

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils.translation import gettext as _

from spmis.access.classification import masked_fields
from spmis.access.models import User
from spmis.access.policy import Permission
from spmis.access.selectors import Scope, scope_for_user
from spmis.audit.actions import AuditAction
from spmis.audit.services import audit_record
from spmis.core.errors import NotFound, ValidationFailed
from spmis.geography.selectors import area_get, area_ids_within
from spmis.registry.models import Household, Person

# A person is found by a few words of their names: more is a mistake or an attack (each word is
# one more condition the database checks on every person in scope).
SEARCH_MAX_WORDS = 10
SEARCH_MAX_CHARS = 200  # of each search field (name words, national ID, area P-code)


def _persons_in_scope(scope: Scope) -> QuerySet[Person]:
    """Persons in the area of one of the scope's roles and, when that role is limited to some
    schemes, enrolled in one of them (through the reverse relation from schemes' enrolments:
    registry does not import them)."""
    def enrolled(ids: frozenset[int]) -> Q:
        return Q(Exists(Person.objects.filter(pk=OuterRef("pk"), enrolments__scheme_id__in=ids)))

    return Person.objects.filter(scope.where("area", enrolled))


def persons_in_scope(*, scope: Scope) -> QuerySet[Person]:
    """Persons inside ``scope``, unaudited: a filter for later apps' reads of person data
    (enrolments, payments) scoped the same way."""
    return _persons_in_scope(scope)


def persons_in_scope_for(*, user: User, permission: Permission) -> QuerySet[Person]:
    """Persons inside ``user``'s scope for ``permission``, unaudited: a filter for other reads
    (e.g. linkage pairs, whose two records must both be in scope)."""
    return _persons_in_scope(scope_for_user(user=user, permission=permission))


def person_list_for_user(*, user: User) -> QuerySet[Person]:
    """Persons the user may see, unaudited: for counting and for further filtering only."""
    return _persons_in_scope(scope_for_user(user=user, permission=Permission.VIEW_PERSONS))


def person_search_for_user(
    *, user: User, text: str = "", national_id: str = "", area_code: str = "", purpose: str = ""
) -> QuerySet[Person]:
    """Search by name words (each must start a given or family name), national ID and area.

    At most ``SEARCH_MAX_WORDS`` name words and ``SEARCH_MAX_CHARS`` characters a field, else
    ``ValidationFailed`` (a 400 at the doors), before anything is read or logged."""
    if len(text.split()) > SEARCH_MAX_WORDS:
        raise ValidationFailed(_("Search by at most %(n)s name words: each word must start a "
                                 "given or family name.") % {"n": SEARCH_MAX_WORDS})
    if max(len(text), len(national_id), len(area_code)) > SEARCH_MAX_CHARS:
        raise ValidationFailed(_("Search terms are limited to %(n)s characters a field: "
                                 "shorten the search.") % {"n": SEARCH_MAX_CHARS})
    # NUL cannot be stored in any text column (PostgreSQL refuses it outright): it matches nothing.
    text, national_id, area_code = (v.replace("\x00", "") for v in (text, national_id, area_code))
    words = list(dict.fromkeys(text.split()))  # the same word twice is one condition
    persons = person_list_for_user(user=user).select_related("area")
    # Searching by a field one may not see would reveal it (does this ID exist?): no match.
    hidden = masked_fields(user=user, model=Person)
    if (national_id.strip() and "national_id" in hidden) or (
            text.strip() and {"given_name", "family_name"} & hidden):
        persons = persons.none()
    if words:
        # One filter holding every word's condition: a filter() per word copies the growing
        # query each time (quadratic in the number of words).
        persons = persons.filter(*(
            Q(given_name__istartswith=word) | Q(family_name__istartswith=word)
            for word in words))
    if national_id.strip():
        persons = persons.filter(national_id=national_id.strip())
    if area_code.strip():
        area = area_get(code=area_code.strip())
        if area is None:
            persons = persons.none()
        else:
            persons = persons.filter(area__in=area_ids_within(paths=[area.path]))
    audit_record(
        actor=user,
        action=AuditAction.PERSON_SEARCH,
        object_type="person",
        purpose=purpose,
        # Which fields were used, never their values: the log holds no personal data.
        detail={"by": [k for k, v in (("name", text), ("national_id", national_id),
                                       ("area", area_code)) if v.strip()]},
    )
    if {"given_name", "family_name"} & hidden:
        return persons.order_by("id")  # an order by hidden names would leak them
    return persons.order_by("family_name", "given_name", "id")


def person_get_for_user(*, user: User, person_id: int, purpose: str = "") -> Person:
    person = (
        person_list_for_user(user=user)
        .select_related("area", "household", "source")
        .filter(pk=person_id)
        .first()
    )
    if person is None:
        _refused(user, "person", person_id, exists=Person.objects.filter(pk=person_id).exists())
    audit_record(actor=user, action=AuditAction.PERSON_VIEW,
                 object_type="person", object_id=person.pk,
                 area_code=person.area.code, purpose=purpose)
    return person


def household_get_for_user(*, user: User, household_id: int, purpose: str = "") -> Household:
    scope = scope_for_user(user=user, permission=Permission.VIEW_PERSONS)
    household = (
        Household.objects.filter(scope.area_q())
        .select_related("area", "source")
        .filter(pk=household_id)
        .first()
    )
    if household is None or not _persons_in_scope(scope).filter(household=household).exists():
        _refused(user, "household", household_id,
                 exists=Household.objects.filter(pk=household_id).exists())
    audit_record(actor=user, action=AuditAction.HOUSEHOLD_VIEW, object_type="household",
                 object_id=household.pk, area_code=household.area.code, purpose=purpose)
    return household


def _refused(user: User, object_type: str, object_id: int, *, exists: bool) -> NoReturn:
    """Log the refused read (out of scope, or guessing ids), then answer plain "not found"."""
    audit_record(actor=user, action=AuditAction.of(f"{object_type}.view_refused"),
                 object_type=object_type, object_id=object_id, detail={"exists": exists})
    raise NotFound(f"No such {object_type}.")


def household_members_for_user(*, user: User, household: Household) -> tuple[list[Person], int]:
    """The members of a household (fetched through ``household_get_for_user``) the user may
    see one by one, and how many others there are: a member living in another district, or
    only in schemes outside the user's roles, is counted but not shown."""
    scope = scope_for_user(user=user, permission=Permission.VIEW_PERSONS)
    members = household.members.order_by("id")
    shown = list(members.filter(pk__in=_persons_in_scope(scope).values("pk")))
    return shown, members.count() - len(shown)


def identity_records_for_user(*, user: User, person: Person,
                              record_ids: list[int]) -> tuple[list[Person], int]:
    """The records of ``person``'s identity (``record_ids``, from the identity hook of
    registry.panels) that the user may see, ``person`` first (read already through
    ``person_get_for_user``), then by id; and how many lie outside the user's scope, a count
    only. Each other record shown is a read of it, audited once with the page's record as its
    purpose; nothing of a record outside the scope is read."""
    others = [pk for pk in record_ids if pk != person.pk]
    if not others:
        return [person], 0
    shown = list(person_list_for_user(user=user).filter(pk__in=others)
                 .select_related("area", "source").order_by("id"))
    for record in shown:
        audit_record(actor=user, action=AuditAction.PERSON_VIEW, object_type="person",
                     object_id=record.pk, area_code=record.area.code,
                     purpose="identity of the person page's record")
    return [person, *shown], len(others) - len(shown)
