"""What a user may see: the union of the area subtrees and schemes of their live roles."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q

from spmis.access.models import RoleAssignment, User
from spmis.core import clock
from spmis.geography.selectors import area_ids_within


@dataclass(frozen=True)
class Scope:
    area_paths: tuple[str, ...]
    all_schemes: bool
    scheme_ids: frozenset[int]

    @property
    def empty(self) -> bool:
        return not self.area_paths

    def area_q(self, field: str = "area") -> Q:
        """A filter on ``field`` (a foreign key to Area) that keeps rows inside the scope.

        The area ids come from a subquery on the small area table, so the big table is read
        through its area index on every database.
        """
        return Q(**{f"{field}__in": area_ids_within(paths=self.area_paths)})

    def scheme_q(self, field: str = "scheme_id") -> Q:
        return Q() if self.all_schemes else Q(**{f"{field}__in": self.scheme_ids})


NO_SCOPE = Scope(area_paths=(), all_schemes=False, scheme_ids=frozenset())


def scope_for_user(*, user: User) -> Scope:
    if not user.is_active:
        return NO_SCOPE
    assignments = (
        RoleAssignment.objects.filter(user=user)
        .filter(Q(valid_until__isnull=True) | Q(valid_until__gte=clock.today()))
        .select_related("area")
        .prefetch_related("schemes")
    )
    paths: set[str] = set()
    scheme_ids: set[int] = set()
    all_schemes = False
    for a in assignments:
        paths.add(a.area.path)
        all_schemes = all_schemes or a.all_schemes
        scheme_ids.update(s.pk for s in a.schemes.all())
    # A path inside another one adds nothing.
    roots = tuple(sorted(p for p in paths if not any(p != o and p.startswith(o) for o in paths)))
    return Scope(area_paths=roots, all_schemes=all_schemes, scheme_ids=frozenset(scheme_ids))


def roles_for_user(*, user: User) -> list[str]:
    return sorted(set(RoleAssignment.objects.filter(user=user).values_list("role", flat=True)))
