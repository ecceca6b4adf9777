"""Plausible nested boundaries for the synthetic country (no Django here).

The land is tiled by small Voronoi cells ("atoms") of a jittered grid (scipy.spatial), inside
an island with a wavy coast in the open South Atlantic, where no real country lies. Each area's
atoms are split among its children by a few Lloyd (k-means) steps on the atoms' centres, so
every child is compact, and its outline is the union of its atoms: the edges its atoms do not
share with each other. Children therefore tile their parent exactly — same vertices, no gap,
no overlap — and borders zig-zag like real ones. Everything is drawn from a generator seeded
with ``[seed, 2]``: the same country always gets the same map, and the other draws of
:func:`spmis.synth.country.generate_country` are untouched.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict

import numpy as np
import polars as pl
from scipy.spatial import Voronoi, cKDTree

CENTRE = (-24.0, -22.0)  # longitude, latitude: open ocean, far from any real coast
RADIUS_DEGREES = 3.0  # the island's mean radius, in degrees of latitude (about 330 km)
ATOMS_PER_LEAF = 20  # cells per commune, about: enough for a border that wanders
MIN_ATOMS, MAX_ATOMS = 800, 150_000
LLOYD_STEPS = 8
DIGITS = 5
SOURCE = "synthetic"


def area_boundaries(areas: pl.DataFrame, *, seed: int) -> pl.DataFrame:
    """One outline per area of ``areas`` (columns id, parent_id, level): the frame of
    ``geography.AreaBoundary`` (area_id, geometry as GeoJSON text, its bounds, source)."""
    rng = np.random.default_rng([seed, 2])
    ids = areas["id"].to_list()
    parents = areas["parent_id"].to_list()
    levels = dict(zip(ids, areas["level"].to_list(), strict=True))
    children: dict[int, list[int]] = defaultdict(list)
    for area, parent in zip(ids, parents, strict=True):
        if parent is not None:
            children[parent].append(area)
    leaves = sum(1 for a in ids if not children[a])
    wanted = min(max(leaves * ATOMS_PER_LEAF, MIN_ATOMS), MAX_ATOMS)
    vertices, cells, centres = _atoms(rng, max(wanted, 3 * leaves))

    # Which area each atom belongs to at each level, from the root down.
    root = next(a for a, p in zip(ids, parents, strict=True) if p is None)
    owner: dict[int, np.ndarray] = {0: np.full(len(cells), root)}
    for level in range(1, max(levels.values()) + 1):
        above, here = owner[level - 1], np.full(len(cells), -1)
        for area in np.unique(above[above >= 0]):
            kids = children[int(area)]
            if not kids:
                continue
            atoms = np.flatnonzero(above == area)
            if len(atoms) < len(kids):
                raise ValueError(f"area {area} has {len(kids)} children but {len(atoms)} cells")
            labels = _split(rng, centres[atoms], len(kids))
            here[atoms] = np.asarray(kids)[labels]
        owner[level] = here

    starts, ends, cell_of = _edges(cells)
    rows = []
    for labels in owner.values():
        for area, polygons in _outlines(vertices, starts, ends, labels[cell_of]).items():
            geometry, (west, south, east, north) = _geojson(vertices, polygons)
            rows.append({"area_id": area, "geometry": json.dumps(geometry, separators=(",", ":")),
                         "west": west, "south": south, "east": east, "north": north,
                         "source": SOURCE})
    return pl.DataFrame(rows, schema={"area_id": pl.Int64, "geometry": pl.Utf8,
                                      "west": pl.Float64, "south": pl.Float64,
                                      "east": pl.Float64, "north": pl.Float64,
                                      "source": pl.Utf8}).sort("area_id")


def _atoms(rng: np.random.Generator,
           land: int) -> tuple[np.ndarray, list[np.ndarray], np.ndarray]:
    """About ``land`` Voronoi cells covering an island: the vertices (in units of the
    island's radius), each land cell's vertex indices counter-clockwise, and its centre."""
    # The island: a radius that wanders with the angle (a few low harmonics), star-shaped.
    harmonics = np.arange(2, 7)
    amplitude = rng.uniform(0.04, 0.12, len(harmonics)) * 2 / harmonics
    phase = rng.uniform(0, 2 * math.pi, len(harmonics))

    def coast(theta: np.ndarray) -> np.ndarray:
        return 0.85 * (1 + (amplitude * np.cos(np.outer(theta, harmonics) + phase)).sum(1))

    area = 0.5 * np.mean(coast(np.linspace(0, 2 * math.pi, 720, endpoint=False)) ** 2) \
        * 2 * math.pi
    step = math.sqrt(area / (land * math.sqrt(3) / 2))  # a hexagonal grid's spacing
    rows = np.arange(-1.4, 1.4, step * math.sqrt(3) / 2)
    cols = np.arange(-1.4, 1.4, step)
    gx, gy = np.meshgrid(cols, rows)
    gx = gx + (np.arange(len(rows)) % 2)[:, None] * step / 2  # every other row shifted
    grid = np.column_stack([gx.ravel(), gy.ravel()])
    sites = grid + rng.uniform(-0.35, 0.35, grid.shape) * step
    theta = np.arctan2(sites[:, 1], sites[:, 0])
    reach = np.hypot(sites[:, 0], sites[:, 1]) - coast(theta)
    sites = sites[reach < 3 * step]  # the land and a strip of sea that bounds its cells
    on_land = reach[reach < 3 * step] < 0
    # Far points so that every cell of the grid (sea included) is bounded.
    ring = np.linspace(0, 2 * math.pi, 48, endpoint=False)
    guard = 6 * np.column_stack([np.cos(ring), np.sin(ring)])
    diagram = Voronoi(np.vstack([sites, guard]))
    cells = []
    xs, ys = diagram.vertices[:, 0].tolist(), diagram.vertices[:, 1].tolist()
    for site in np.flatnonzero(on_land).tolist():
        cell = diagram.regions[diagram.point_region[site]]
        twice_area = sum(xs[a] * ys[b] - xs[b] * ys[a]
                         for a, b in zip(cell, cell[1:] + cell[:1], strict=True))
        cells.append(np.asarray(cell if twice_area > 0 else cell[::-1]))
    return diagram.vertices, cells, sites[on_land]


def _split(rng: np.random.Generator, points: np.ndarray, k: int) -> np.ndarray:
    """Labels 0..k-1 for ``points``: compact groups (Lloyd's k-means from k random points),
    none empty."""
    if k == 1:
        return np.zeros(len(points), dtype=int)
    seeds = points[rng.choice(len(points), k, replace=False)].copy()
    for _ in range(LLOYD_STEPS):
        labels = cKDTree(seeds).query(points)[1]
        counts = np.bincount(labels, minlength=k)
        filled = counts > 0
        for axis in (0, 1):
            sums = np.bincount(labels, weights=points[:, axis], minlength=k)
            seeds[filled, axis] = sums[filled] / counts[filled]
    labels = cKDTree(seeds).query(points)[1]
    counts = np.bincount(labels, minlength=k)
    for empty in np.flatnonzero(counts == 0):  # give it the nearest point another can spare
        for point in np.argsort(np.hypot(*(points - seeds[empty]).T)):
            if counts[labels[point]] > 1:
                counts[labels[point]] -= 1
                labels[point], counts[empty] = empty, 1
                break
    return np.asarray(labels)


def _edges(cells: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every cell's directed edges (counter-clockwise): start vertex, end vertex, cell."""
    starts = np.concatenate(cells)
    ends = np.concatenate([np.concatenate([c[1:], c[:1]]) for c in cells])
    cell_of = np.repeat(np.arange(len(cells)), [len(c) for c in cells])
    return starts, ends, cell_of


def _outlines(vertices: np.ndarray, starts: np.ndarray, ends: np.ndarray,
              owner: np.ndarray) -> dict[int, list[list[list[int]]]]:
    """Each owner's outline as polygons of rings of vertex indices: the edges whose twin (the
    same edge the other way round) belongs to another owner or to no land cell, chained."""
    n = len(vertices)
    key = starts.astype(np.int64) * n + ends
    twin = ends.astype(np.int64) * n + starts
    order = np.argsort(key)
    found = np.searchsorted(key[order], twin)
    found = np.minimum(found, len(key) - 1)
    has_twin = key[order][found] == twin
    twin_owner = np.where(has_twin, owner[order][found], -2)
    border = (twin_owner != owner) & (owner >= 0)
    result: dict[int, list[list[list[int]]]] = {}
    edges = np.flatnonzero(border)
    edges = edges[np.argsort(owner[edges], kind="stable")]
    areas, first_edge = np.unique(owner[edges], return_index=True)
    for area, mine in zip(areas, np.split(edges, first_edge[1:]), strict=True):
        following: dict[int, list[int]] = defaultdict(list)
        for a, b in zip(starts[mine].tolist(), ends[mine].tolist(), strict=True):
            following[a].append(b)
        rings = []
        while following:
            first = next(iter(following))
            ring, at = [first], first
            while True:
                nxt = following[at].pop()
                if not following[at]:
                    del following[at]
                if nxt == first:
                    break
                ring.append(nxt)
                at = nxt
            rings.append(ring)
        outer = [r for r in rings if _area(vertices[r]) > 0]
        holes = [r for r in rings if _area(vertices[r]) <= 0]
        polygons = [[r] for r in outer]
        for hole in holes:
            x, y = vertices[hole[0]]
            for polygon in polygons:
                if _inside(vertices[polygon[0]], x, y):
                    polygon.append(hole)
                    break
        result[int(area)] = polygons
    return result


def _area(ring: np.ndarray) -> float:
    x, y = ring[:, 0], ring[:, 1]
    return float(np.dot(x, np.roll(y, -1)) - np.dot(np.roll(x, -1), y)) / 2


def _inside(ring: np.ndarray, x: float, y: float) -> bool:
    inside = False
    for (ax, ay), (bx, by) in zip(ring, np.roll(ring, -1, axis=0), strict=True):
        if (ay > y) != (by > y) and x < ax + (y - ay) * (bx - ax) / (by - ay):
            inside = not inside
    return inside


def _geojson(vertices: np.ndarray, polygons: list[list[list[int]]]
             ) -> tuple[dict[str, object], tuple[float, float, float, float]]:
    """Rings of vertex indices as a GeoJSON geometry in degrees (closed, rounded), and its
    bounds (west, south, east, north)."""
    lon0, lat0 = CENTRE
    stretch = RADIUS_DEGREES / math.cos(math.radians(lat0))
    used = vertices[[i for polygon in polygons for r in polygon for i in r]]
    lon = np.round(lon0 + used[:, 0] * stretch, DIGITS)
    lat = np.round(lat0 + used[:, 1] * RADIUS_DEGREES, DIGITS)

    def ring(indices: list[int]) -> list[list[float]]:
        xy = vertices[indices + indices[:1]]
        return [[round(lon0 + x * stretch, DIGITS), round(lat0 + y * RADIUS_DEGREES, DIGITS)]
                for x, y in xy.tolist()]

    coords = [[ring(r) for r in polygon] for polygon in polygons]
    bounds = (float(lon.min()), float(lat.min()), float(lon.max()), float(lat.max()))
    if len(coords) == 1:
        return {"type": "Polygon", "coordinates": coords[0]}, bounds
    return {"type": "MultiPolygon", "coordinates": coords}, bounds
