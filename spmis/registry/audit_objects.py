"""Persons and households named readably on the audit search (``access.selectors``).

The log holds a keyed hash of a person's or household's id, never the id. A viewer who may see
the person (their roles' areas and schemes) learns which one an entry is about: the hashes of
the persons in scope in the entry's area are computed and compared. The name is shown only when
the viewer's clearance shows names; otherwise the id and area. Nobody else gets a label, so
their page shows the hash as the log holds it. Found by ``access`` by this module's name.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from spmis.access.classification import masked_fields
from spmis.access.models import User
from spmis.access.policy import Permission
from spmis.access.selectors import audit_object_describer_register, scope_for_user
from spmis.audit.services import object_ref
from spmis.registry.models import Household, Person
from spmis.registry.selectors import persons_in_scope

# How many candidates' hashes one page may compute (about 3.6 µs each): the entries' areas are
# searched one by one until every reference is found or this runs out; the objects of the areas
# left over stay references (a national area code would be the whole registry).
MAX_CANDIDATES = 200_000


def _wanted(objects: list[tuple[str, str]]) -> tuple[set[str], set[str]]:
    refs = {ref for ref, _area in objects}
    areas = {area for _ref, area in objects if area}
    return refs, areas


def _match(object_type: str, candidates: QuerySet[Any], areas: set[str],
           refs: set[str]) -> dict[int, str]:
    """The candidates (in the given areas) whose keyed hash is one of ``refs``: id -> hash.
    Area by area, within ``MAX_CANDIDATES`` hashes."""
    found: dict[int, str] = {}
    budget = MAX_CANDIDATES
    for code in sorted(areas):
        ids = list(candidates.filter(area__code=code).values_list("pk", flat=True)[:budget + 1])
        if len(ids) > budget:
            break
        budget -= len(ids)
        for pk in ids:
            ref = object_ref(object_type, pk)
            if ref in refs:
                found[pk] = ref
        if len(found) == len(refs):
            break
    return found


def describe_persons(viewer: User, objects: list[tuple[str, str]]) -> dict[str, str]:
    scope = scope_for_user(user=viewer, permission=Permission.VIEW_PERSONS)
    refs, areas = _wanted(objects)
    if scope.empty or not areas:
        return {}
    found = _match("person", persons_in_scope(scope=scope), areas, refs)
    names = not {"given_name", "family_name"} & masked_fields(user=viewer, model=Person)
    labels = {}
    for person in Person.objects.filter(pk__in=found).select_related("area"):
        where = f"{person.area.name} {person.area.code}"
        if names and (person.given_name or person.family_name):
            short = f"{person.given_name} {person.family_name[:1]}.".strip()
            labels[found[person.pk]] = _("person %(id)s (%(name)s, %(area)s)") % {
                "id": person.pk, "name": short, "area": where}
        else:
            labels[found[person.pk]] = _("person %(id)s (%(area)s)") % {
                "id": person.pk, "area": where}
    return labels


def describe_households(viewer: User, objects: list[tuple[str, str]]) -> dict[str, str]:
    """A household whose members include someone the viewer may see (as its page)."""
    scope = scope_for_user(user=viewer, permission=Permission.VIEW_PERSONS)
    refs, areas = _wanted(objects)
    if scope.empty or not areas:
        return {}
    visible = persons_in_scope(scope=scope).values("household_id")
    candidates = Household.objects.filter(scope.area_q(), pk__in=visible)
    found = _match("household", candidates, areas, refs)
    return {found[h.pk]: _("household %(id)s (%(area)s)") % {
        "id": h.pk, "area": f"{h.area.name} {h.area.code}"}
        for h in Household.objects.filter(pk__in=found).select_related("area")}


audit_object_describer_register(object_type="person", describer=describe_persons)
audit_object_describer_register(object_type="household", describer=describe_households)
