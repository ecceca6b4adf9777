"""Reads of linkage pairs for clerical review: only pairs whose two records are both inside
the reviewer's scope for registering persons. Every read leaves an audit trace."""

from __future__ import annotations

from django.db.models import QuerySet

from spmis.access.models import User
from spmis.access.policy import Permission
from spmis.audit.services import audit_record
from spmis.core.errors import NotFound
from spmis.linkage.models import Link, LinkState
from spmis.registry.selectors import persons_in_scope_for

REVIEW_PERMISSION = Permission.REGISTER_PERSONS


def _links_in_scope(user: User) -> QuerySet[Link]:
    persons = persons_in_scope_for(user=user, permission=REVIEW_PERMISSION)
    return Link.objects.filter(person_l__in=persons, person_r__in=persons).select_related(
        "person_l__area", "person_l__source", "person_r__area", "person_r__source",
        "run__model", "decided_by")


def link_list_for_user(*, user: User, state: str = LinkState.REVIEW) -> QuerySet[Link]:
    """Pairs in ``state`` whose two records the user may review, most probable first."""
    if state not in LinkState.values:
        raise NotFound(f"No link state {state!r}.")
    audit_record(actor=user, action="linkage.review_list", object_type="link",
                 detail={"state": state})
    return _links_in_scope(user).filter(state=state).order_by("-match_probability", "id")


def link_get_for_user(*, user: User, link_id: int) -> Link:
    """One pair, if both its records are in scope; else (logged) not found."""
    link = _links_in_scope(user).filter(pk=link_id).first()
    if link is None:
        audit_record(actor=user, action="linkage.view_refused", object_type="link",
                     object_id=link_id,
                     detail={"exists": Link.objects.filter(pk=link_id).exists()})
        raise NotFound("No such pair.")
    audit_record(actor=user, action="linkage.view", object_type="link", object_id=link.pk,
                 area_code=link.person_l.area.code)
    return link
