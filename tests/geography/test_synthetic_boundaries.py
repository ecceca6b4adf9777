"""The synthetic country's map: every area has an outline, children tile their parent (each
inside it, together covering it, never overlapping), the same seed gives the same map."""

from __future__ import annotations

import json

import numpy as np
import pytest

from spmis.geography.boundaries import contains, geometry_problems
from spmis.geography.models import Area, AreaBoundary
from spmis.synth.boundaries import area_boundaries
from spmis.synth.country import _areas

SAMPLES = 4000


def outlines(persons: int, seed: int) -> tuple[dict[int, dict], dict[int, list[int]]]:
    areas, _ = _areas(np.random.default_rng(seed), persons)
    frame = area_boundaries(areas, seed=seed)
    geometry = {row["area_id"]: json.loads(row["geometry"]) for row in frame.iter_rows(named=True)}
    children: dict[int, list[int]] = {}
    for area, parent in areas.select("id", "parent_id").iter_rows():
        if parent is not None:
            children.setdefault(parent, []).append(area)
    assert set(geometry) == set(areas["id"])
    return geometry, children


@pytest.mark.parametrize(("persons", "seed"), [(1500, 11), (60_000, 3)])
def test_children_tile_their_parent(persons, seed):
    geometry, children = outlines(persons, seed)
    assert all(geometry_problems(g) == [] for g in geometry.values())
    rng = np.random.default_rng(0)
    for parent, kids in children.items():
        west, south, east, north = bounds(geometry[parent])
        lon = rng.uniform(west, east, SAMPLES)
        lat = rng.uniform(south, north, SAMPLES)
        inside_parent = contains(geometry[parent], lon, lat)
        assert inside_parent.mean() > 0.3  # the sample is not all sea
        hits = np.sum([contains(geometry[k], lon, lat) for k in kids], axis=0)
        # Inside the parent: exactly one child (they cover it and do not overlap); outside
        # it: none (each child lies within its parent).
        assert (hits[inside_parent] == 1).all(), parent
        assert (hits[~inside_parent] == 0).all(), parent
        # Every child is a real part of the parent, not a sliver.
        for kid in kids:
            assert contains(geometry[kid], lon, lat).sum() > 0 or len(kids) > 40


def bounds(geometry: dict) -> tuple[float, float, float, float]:
    rings = geometry["coordinates"] if geometry["type"] == "Polygon" else \
        [r for polygon in geometry["coordinates"] for r in polygon]
    points = np.array([p for ring in rings for p in ring])
    return points[:, 0].min(), points[:, 1].min(), points[:, 0].max(), points[:, 1].max()


def test_the_same_seed_gives_the_same_map_and_another_seed_another():
    a, _ = outlines(3000, 7)
    b, _ = outlines(3000, 7)
    c, _ = outlines(3000, 8)
    assert a == b
    assert a != c


def test_the_map_lies_in_the_open_ocean_in_wgs84():
    geometry, _ = outlines(3000, 1)
    west, south, east, north = bounds(geometry[1])
    assert -32 < west < east < -16 and -27 < south < north < -17


@pytest.mark.django_db
def test_a_synthesised_country_has_an_outline_for_every_area(country):
    assert AreaBoundary.objects.count() == Area.objects.count()
    region = Area.objects.filter(level=1).first()
    stored = AreaBoundary.objects.get(area=region)
    assert stored.source == "synthetic" and stored.geometry["type"] in ("Polygon",
                                                                        "MultiPolygon")
    assert -180 <= stored.west < stored.east <= 180
