"""Area boundaries as GeoJSON geometries: read (GeoJSON, shapefile), checked, simplified for
display, and drawn as SVG paths. Pure functions, no database.

Geometries are GeoJSON ``Polygon`` or ``MultiPolygon`` objects in WGS84 (longitude, latitude),
as RFC 7946 says. Reading never half-succeeds: every problem of a file is collected and the
file refused as a whole (:class:`~spmis.core.errors.ValidationFailed` naming them).
"""

from __future__ import annotations

import json
import math
import struct
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from spmis.core.errors import ValidationFailed

Geometry = dict[str, Any]
DIGITS = 5  # decimals kept: 1e-5 degree is about a metre
DEFAULT_TOLERANCE = 0.0005  # degrees (about 50 m): what the eye cannot see on a page's map
MAX_PROBLEMS = 20
POLYGONS = ("Polygon", "MultiPolygon")


@dataclass(frozen=True)
class Feature:
    """One outline as read from a file: its area's P-code and its geometry (as read: checked
    by :func:`check`)."""

    code: str
    geometry: Any
    where: str  # "feature 3", "record 12": for messages


def read_file(path: Path, *, code_field: str) -> list[Feature]:
    """A GeoJSON file (.geojson, .json) or a shapefile (.shp beside its .dbf, or a .zip of
    them), told apart by the extension."""
    suffix = path.suffix.lower()
    if suffix in (".geojson", ".json"):
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise ValidationFailed(f"Cannot read {path.name}: {exc.strerror or exc}.") from exc
        return read_geojson(data, code_field=code_field)
    if suffix in (".shp", ".zip"):
        return read_shapefile(path, code_field=code_field)
    raise ValidationFailed(f"{path.name}: give a GeoJSON file (.geojson or .json) or a "
                           f"shapefile (.shp with its .dbf, or a .zip holding them).")


def read_geojson(data: bytes, *, code_field: str) -> list[Feature]:
    """The features of a GeoJSON FeatureCollection (or one Feature), each area's P-code in
    the property ``code_field``."""
    try:
        doc = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValidationFailed(f"Not a GeoJSON file: {exc}.") from exc
    if not isinstance(doc, dict):
        raise ValidationFailed("Not a GeoJSON file: expected a FeatureCollection object.")
    crs = doc.get("crs")
    if crs is not None and not _wgs84_name(json.dumps(crs)):
        raise ValidationFailed(f"The file declares the coordinate system {json.dumps(crs)}; "
                               f"give longitude and latitude in WGS84 (EPSG:4326).")
    if doc.get("type") == "Feature":
        items = [doc]
    elif doc.get("type") == "FeatureCollection" and isinstance(doc.get("features"), list):
        items = doc["features"]
    else:
        raise ValidationFailed("Not a GeoJSON FeatureCollection (no \"features\" list).")
    features, problems = [], []
    for i, item in enumerate(items, start=1):
        where = f"feature {i}"
        props = item.get("properties") if isinstance(item, dict) else None
        if not isinstance(props, dict) or props.get(code_field) in (None, ""):
            known = ", ".join(sorted(props)) if isinstance(props, dict) else "none"
            problems.append(f"{where}: no property {code_field!r} (its properties: {known}; "
                            f"name the P-code's property with --code-field)")
            continue
        features.append(Feature(str(props[code_field]).strip(), item.get("geometry"), where))
    _refuse(problems)
    return features


def read_shapefile(path: Path, *, code_field: str) -> list[Feature]:
    """The polygons of a shapefile (pyshp: pure Python, no GDAL), each area's P-code in the
    attribute ``code_field``. A ``.prj`` that declares projected coordinates is refused."""
    import shapefile  # type: ignore[import-untyped]

    prj = path.with_suffix(".prj")
    if path.suffix.lower() == ".shp" and prj.exists():
        text = prj.read_text(encoding="utf-8", errors="replace")
        if not _wgs84_name(text):
            raise ValidationFailed(f"{prj.name} declares projected or non-WGS84 coordinates; "
                                   f"reproject the shapefile to WGS84 (EPSG:4326) first.")
    try:
        reader = shapefile.Reader(str(path))
    except (shapefile.ShapefileException, OSError, ValueError) as exc:
        raise ValidationFailed(f"Cannot read the shapefile {path.name}: {exc}.") from exc
    with reader:
        fields = [f[0] for f in reader.fields[1:]]
        if code_field not in fields:
            raise ValidationFailed(f"The shapefile has no attribute {code_field!r} (its "
                                   f"attributes: {', '.join(fields)}; name the P-code's "
                                   f"attribute with --code-field).")
        if reader.shapeType not in (shapefile.POLYGON, shapefile.POLYGONZ, shapefile.POLYGONM):
            raise ValidationFailed(f"The shapefile holds {reader.shapeTypeName} shapes, not "
                                   f"polygons.")
        features, problems = [], []
        try:
            records = list(reader.iterShapeRecords())
        except (shapefile.ShapefileException, struct.error, ValueError) as exc:
            raise ValidationFailed(f"Cannot read the shapefile {path.name}: {exc}.") from exc
        for i, item in enumerate(records, start=1):
            where = f"record {i}"
            code = item.record[code_field]
            if code in (None, ""):
                problems.append(f"{where}: no {code_field}")
                continue
            if item.shape.shapeType == shapefile.NULL:
                problems.append(f"{where} ({code}): no shape")
                continue
            geometry = dict(item.shape.__geo_interface__)
            features.append(Feature(str(code).strip(), _two_d(geometry), where))
    _refuse(problems)
    return features


def _wgs84_name(text: str) -> bool:
    """Whether a declared coordinate system is geographic WGS84 (CRS84, EPSG:4326)."""
    upper = text.upper()
    if "PROJCS" in upper or "PROJCRS" in upper:
        return False
    return any(name in upper for name in ("CRS84", "4326", "WGS_1984", "WGS 84", "WGS84"))


def _two_d(geometry: Geometry) -> Geometry:
    """Drop Z and M values: a shapefile's POLYGONZ gives three numbers per position."""
    def ring(r: Iterable[Any]) -> list[list[float]]:
        return [list(p[:2]) for p in r]

    if geometry.get("type") == "Polygon":
        return {"type": "Polygon", "coordinates": [ring(r) for r in geometry["coordinates"]]}
    if geometry.get("type") == "MultiPolygon":
        return {"type": "MultiPolygon",
                "coordinates": [[ring(r) for r in poly] for poly in geometry["coordinates"]]}
    return geometry


def _refuse(problems: list[str]) -> None:
    if problems:
        shown = problems[:MAX_PROBLEMS]
        more = len(problems) - len(shown)
        raise ValidationFailed("The boundaries were not loaded: " + "; ".join(shown)
                               + (f"; and {more} more problem(s)." if more else "."))


def check(features: list[Feature], known_codes: set[str]) -> None:
    """Every problem of the file at once: unknown or repeated P-codes, and geometries that
    are not valid polygons in WGS84 (rings closed, four positions or more, longitudes within
    ±180 and latitudes within ±90, an area above zero)."""
    problems = []
    seen: dict[str, str] = {}
    unmatched = []
    for feature in features:
        if feature.code in seen:
            problems.append(f"{feature.where}: P-code {feature.code} again (also "
                            f"{seen[feature.code]})")
        seen.setdefault(feature.code, feature.where)
        if feature.code not in known_codes:
            unmatched.append(feature.code)
        problems += [f"{feature.where} ({feature.code}): {p}"
                     for p in geometry_problems(feature.geometry)]
    if unmatched:
        shown = ", ".join(unmatched[:MAX_PROBLEMS])
        more = f" and {len(unmatched) - MAX_PROBLEMS} more" if len(unmatched) > MAX_PROBLEMS \
            else ""
        problems.insert(0, f"{len(unmatched)} P-code(s) match no area: {shown}{more}")
    if not features:
        problems.append("the file holds no features")
    _refuse(problems)


def geometry_problems(geometry: Any) -> list[str]:
    """What makes ``geometry`` unusable as an area's outline (empty: nothing)."""
    if not isinstance(geometry, dict) or geometry.get("type") not in POLYGONS:
        kind = geometry.get("type") if isinstance(geometry, dict) else geometry
        return [f"geometry is {kind!r}, not a Polygon or MultiPolygon"]
    polygons = _polygons(geometry)
    if polygons is None:
        return ["coordinates are not a list of rings of [longitude, latitude] positions"]
    problems = []
    total = 0.0
    for p, polygon in enumerate(polygons, start=1):
        if not polygon:
            problems.append(f"polygon {p} has no ring")
        for r, ring in enumerate(polygon, start=1):
            name = f"polygon {p} ring {r}" if len(polygons) > 1 else f"ring {r}"
            if len(ring) < 4:
                problems.append(f"{name} has {len(ring)} position(s); a ring needs 4 or more")
                continue
            if ring[0] != ring[-1]:
                problems.append(f"{name} is not closed (its last position is not its first)")
            lon = [x for x, _ in ring]
            lat = [y for _, y in ring]
            if not all(math.isfinite(v) for v in lon + lat):
                problems.append(f"{name} has a position that is not a number")
            elif min(lon) < -180 or max(lon) > 180 or min(lat) < -90 or max(lat) > 90:
                problems.append(f"{name} lies outside longitude -180..180 and latitude -90..90 "
                                f"(projected coordinates? give WGS84 degrees)")
            elif r == 1:
                total += abs(_signed_area(np.asarray(ring, dtype=float)))
    if not problems and total == 0:
        problems.append("the outline encloses no area")
    return problems


def _polygons(geometry: Geometry) -> list[list[list[tuple[float, float]]]] | None:
    """The geometry as polygons of rings of (x, y), or None when it is malformed."""
    coords: Any = geometry.get("coordinates")
    raw: Any = [coords] if geometry["type"] == "Polygon" else coords
    try:
        return [[[(float(p[0]), float(p[1])) for p in ring] for ring in polygon]
                for polygon in raw]
    except (TypeError, IndexError, ValueError):
        return None


def _signed_area(ring: np.ndarray) -> float:
    x, y = ring[:, 0], ring[:, 1]
    return float(np.dot(x[:-1], y[1:]) - np.dot(x[1:], y[:-1])) / 2


# --- for display -----------------------------------------------------------------------------

def simplify(geometry: Geometry, tolerance: float = DEFAULT_TOLERANCE) -> Geometry:
    """Fewer positions for drawing (Douglas-Peucker on each ring), rounded to ``DIGITS``
    decimals. A ring that would fall below four positions keeps its own; outer rings run
    counter-clockwise and holes clockwise (RFC 7946). Rings are simplified one by one, so
    neighbours' shared edges may part by up to ``tolerance``: fine for a page's map, not for
    measuring."""
    polygons = []
    for polygon in _polygons(geometry) or []:
        rings = []
        for r, ring in enumerate(polygon):
            points = np.asarray(ring, dtype=float)
            if tolerance > 0:
                kept = points[_douglas_peucker(points, tolerance)]
                if len(kept) >= 4:
                    points = kept
            points = np.round(points, DIGITS)
            if (_signed_area(points) < 0) == (r == 0):
                points = points[::-1]
            rings.append([[float(x), float(y)] for x, y in points])
        polygons.append(rings)
    if len(polygons) == 1:
        return {"type": "Polygon", "coordinates": polygons[0]}
    return {"type": "MultiPolygon", "coordinates": polygons}


def _douglas_peucker(points: np.ndarray, tolerance: float) -> np.ndarray:
    """Indices of the positions a closed ring keeps (first and last included)."""
    n = len(points)
    if n <= 4:
        return np.arange(n)
    keep = np.zeros(n, dtype=bool)
    keep[0] = keep[-1] = True
    # A closed ring's first and last positions coincide: split it at its farthest position.
    far = int(np.argmax(np.hypot(*(points - points[0]).T)))
    keep[far] = True
    stack = [(0, far), (far, n - 1)]
    while stack:
        start, end = stack.pop()
        if end - start < 2:
            continue
        a, b = points[start], points[end]
        inner = points[start + 1:end]
        ab = b - a
        length = math.hypot(*ab)
        if length == 0:
            dist = np.hypot(*(inner - a).T)
        else:
            dist = np.abs(ab[0] * (inner[:, 1] - a[1]) - ab[1] * (inner[:, 0] - a[0])) / length
        i = int(np.argmax(dist))
        if dist[i] > tolerance:
            mid = start + 1 + i
            keep[mid] = True
            stack += [(start, mid), (mid, end)]
    return np.flatnonzero(keep)


def bounds(geometry: Geometry) -> tuple[float, float, float, float]:
    """(west, south, east, north) of a geometry."""
    points = np.asarray([p for polygon in _polygons(geometry) or [] for ring in polygon
                         for p in ring], dtype=float)
    return (float(points[:, 0].min()), float(points[:, 1].min()),
            float(points[:, 0].max()), float(points[:, 1].max()))


def contains(geometry: Geometry, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Which of the points lie inside ``geometry`` (even-odd rule, so holes are outside)."""
    lon, lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    inside = np.zeros(lon.shape, dtype=bool)
    for polygon in _polygons(geometry) or []:
        for ring in polygon:
            r = np.asarray(ring, dtype=float)
            x0, y0, x1, y1 = r[:-1, 0], r[:-1, 1], r[1:, 0], r[1:, 1]
            for ax, ay, bx, by in zip(x0, y0, x1, y1, strict=True):
                if ay == by:
                    continue
                crosses = (ay > lat) != (by > lat)
                x_at = ax + (lat - ay) * (bx - ax) / (by - ay)
                inside ^= crosses & (lon < x_at)
    return inside


@dataclass(frozen=True)
class Drawing:
    """Geometries projected for an SVG: its ``view_box`` and one path per key."""

    view_box: str
    width: float
    height: float
    paths: dict[str, str]


def svg_paths(geometries: dict[str, Geometry], *, width: float = 600.0,
              margin: float = 4.0) -> Drawing:
    """Project geometries onto a plane for drawing: equirectangular, longitudes shrunk by the
    cosine of the middle latitude (true shapes near it), north up, fitted to ``width``."""
    boxes = [bounds(g) for g in geometries.values()]
    west, south = min(b[0] for b in boxes), min(b[1] for b in boxes)
    east, north = max(b[2] for b in boxes), max(b[3] for b in boxes)
    shrink = math.cos(math.radians((south + north) / 2))
    span_x = max((east - west) * shrink, 1e-9)
    span_y = max(north - south, 1e-9)
    # As wide as asked, or narrower for a tall country (at most 1.4 times as high as wide).
    scale = min((width - 2 * margin) / span_x, (1.4 * width - 2 * margin) / span_y)
    width, height = span_x * scale + 2 * margin, span_y * scale + 2 * margin

    def ring_path(ring: list[tuple[float, float]]) -> str:
        xy = [(margin + (x - west) * shrink * scale, margin + (north - y) * scale)
              for x, y in ring[:-1]]
        return "M" + " ".join(f"{x:.1f},{y:.1f}" for x, y in xy) + "Z"

    paths = {key: "".join(ring_path(ring) for polygon in _polygons(g) or [] for ring in polygon)
             for key, g in geometries.items()}
    return Drawing(f"0 0 {width:.0f} {height:.0f}", width, height, paths)
