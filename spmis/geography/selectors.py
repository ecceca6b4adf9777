"""Reads of the area hierarchy."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Q, QuerySet

from spmis.geography.models import Area, AreaBoundary


def area_ids_within(*, paths: Iterable[str]) -> QuerySet[Area, int]:
    """Ids of the areas in the subtrees rooted at ``paths`` (a subquery, not a list)."""
    inside = Q(pk__in=[])
    for path in paths:
        inside |= Q(path__startswith=path)
    return Area.objects.filter(inside).values_list("id", flat=True)


def area_get(*, code: str) -> Area | None:
    return Area.objects.filter(code=code).first()


def ancestor_paths(path: str) -> list[str]:
    """'XY/XY01/XY0101/' -> ['XY/', 'XY/XY01/', 'XY/XY01/XY0101/'] (the area and its ancestors)."""
    parts = path.strip("/").split("/")
    return ["/".join(parts[: i + 1]) + "/" for i in range(len(parts))]


def boundaries_of(*, area_ids: Iterable[int]) -> dict[int, dict[str, object]]:
    """The outlines (GeoJSON geometries) of the given areas that have one, by area id."""
    return dict(AreaBoundary.objects.filter(area_id__in=list(area_ids))
                .values_list("area_id", "geometry"))


def boundary_count() -> int:
    return AreaBoundary.objects.count()
