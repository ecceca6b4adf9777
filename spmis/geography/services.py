"""Writes to the area hierarchy: loading area boundaries (all of a file or none), audited."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from django.contrib.auth.base_user import AbstractBaseUser
from django.db import transaction

from spmis.audit.actions import AuditAction
from spmis.audit.services import audit_record
from spmis.geography import boundaries
from spmis.geography.models import Area, AreaBoundary


@dataclass(frozen=True)
class BoundariesLoaded:
    areas: int
    levels: dict[int, int]  # level -> areas given an outline
    positions_read: int
    positions_kept: int  # after simplification for display


def boundaries_load(*, actor: AbstractBaseUser | None, path: Path, code_field: str = "code",
                    tolerance: float = boundaries.DEFAULT_TOLERANCE) -> BoundariesLoaded:
    """Load the outlines of a GeoJSON file or shapefile, matched to areas by P-code.

    The file is refused as a whole, with every problem named, when a P-code matches no area
    (or comes twice) or a geometry is not a valid WGS84 polygon; nothing is stored then. An
    area that already had an outline gets the new one; other areas keep theirs (so one file
    per level can be loaded in turn). Outlines are simplified for display (``tolerance``
    degrees, Douglas-Peucker). One audit entry in the same transaction.
    """
    features = boundaries.read_file(path, code_field=code_field)
    areas = {a.code: a for a in Area.objects.filter(code__in={f.code for f in features})}
    boundaries.check(features, set(areas))
    rows: list[AreaBoundary] = []
    levels: dict[int, int] = {}
    read = kept = 0
    for feature in features:
        shown = boundaries.simplify(feature.geometry, tolerance)
        read += _positions(feature.geometry)
        kept += _positions(shown)
        west, south, east, north = boundaries.bounds(shown)
        area = areas[feature.code]
        levels[area.level] = levels.get(area.level, 0) + 1
        rows.append(AreaBoundary(area=area, geometry=shown, west=west, south=south, east=east,
                                 north=north, source=path.name[:255]))
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    with transaction.atomic():
        AreaBoundary.objects.filter(area__in=[r.area for r in rows]).delete()
        AreaBoundary.objects.bulk_create(rows, batch_size=500)
        audit_record(actor=actor, action=AuditAction.BOUNDARIES_LOAD,
                     object_type="area_boundaries", object_id=path.name[:200],
                     detail={"sha256": digest, "areas": len(rows),
                             "levels": {str(k): v for k, v in sorted(levels.items())},
                             "code_field": code_field, "tolerance": tolerance,
                             "positions_read": read, "positions_kept": kept})
    return BoundariesLoaded(len(rows), dict(sorted(levels.items())), read, kept)


def _positions(geometry: boundaries.Geometry) -> int:
    coords = geometry["coordinates"]
    polygons = [coords] if geometry["type"] == "Polygon" else coords
    return sum(len(ring) for polygon in polygons for ring in polygon)
