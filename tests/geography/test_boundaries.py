"""Loading area boundaries: GeoJSON and shapefiles (written here with pyshp), refused as a
whole with every problem named, simplified for display, audited."""

from __future__ import annotations

import itertools
import json
import math
import zipfile
from pathlib import Path

import pytest
import shapefile
from click.testing import CliRunner

from spmis.audit.models import AuditEvent
from spmis.cli.main import cli
from spmis.core.errors import ValidationFailed
from spmis.geography.boundaries import geometry_problems, simplify
from spmis.geography.models import Area, AreaBoundary
from spmis.geography.services import boundaries_load
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def areas() -> list[Area]:
    factories.area_levels()
    country = factories.area("XY")
    return [country, factories.area("XY01", parent=country), factories.area("XY02", parent=country)]


def square(west: float, south: float, size: float = 1.0, steps: int = 1) -> list[list[float]]:
    """A closed counter-clockwise square ring with ``steps`` positions along each side."""
    corners = [(west, south), (west + size, south), (west + size, south + size),
               (west, south + size)]
    ring = []
    for (ax, ay), (bx, by) in zip(corners, corners[1:] + corners[:1], strict=True):
        ring += [[ax + (bx - ax) * i / steps, ay + (by - ay) * i / steps] for i in range(steps)]
    return [*ring, ring[0]]


def feature(code: str, ring: list[list[float]], **props: object) -> dict:
    return {"type": "Feature", "properties": {"code": code, **props},
            "geometry": {"type": "Polygon", "coordinates": [ring]}}


def write_geojson(path: Path, *features: dict) -> Path:
    path.write_text(json.dumps({"type": "FeatureCollection", "features": list(features)}))
    return path


def test_geojson_boundaries_are_loaded_simplified_and_audited(areas, tmp_path):
    # A side with 200 positions on one straight line: the display keeps the corners.
    path = write_geojson(tmp_path / "regions.geojson",
                         feature("XY01", square(10, -5, steps=50)),
                         feature("XY02", square(11, -5)))
    done = boundaries_load(actor=None, path=path)
    assert (done.areas, done.levels) == (2, {1: 2})
    stored = AreaBoundary.objects.get(area__code="XY01")
    assert stored.geometry["type"] == "Polygon"
    assert len(stored.geometry["coordinates"][0]) == 5  # the four corners, closed
    assert (stored.west, stored.south, stored.east, stored.north) == (10, -5, 11, -4)
    assert done.positions_read == 201 + 5 and done.positions_kept == 10
    event = AuditEvent.objects.get(action="boundaries.load")
    assert event.object_id == "regions.geojson" and event.detail["areas"] == 2
    # Loading again replaces the outline of the areas in the file, and only theirs.
    boundaries_load(actor=None, path=write_geojson(tmp_path / "again.geojson",
                                                   feature("XY01", square(20, -5))))
    assert AreaBoundary.objects.get(area__code="XY01").west == 20
    assert AreaBoundary.objects.get(area__code="XY02").west == 11


def test_shapefile_boundaries_are_loaded_through_the_cli(areas, tmp_path):
    with shapefile.Writer(str(tmp_path / "adm1"), shapeType=shapefile.POLYGON) as shp:
        shp.field("ADM1_PCODE", "C", size=20)
        shp.field("ADM1_EN", "C", size=40)
        # Shapefiles run outer rings clockwise; the second region has a hole (a lake).
        shp.poly([square(10, -5)[::-1]])
        shp.record("XY01", "North")
        shp.poly([square(11, -5, 2)[::-1], square(11.5, -4.5, 0.5)])
        shp.record("XY02", "South")
    result = CliRunner().invoke(cli, ["geography", "boundaries", str(tmp_path / "adm1.shp"),
                                      "--code-field", "ADM1_PCODE"])
    assert result.exit_code == 0, result.output
    assert "2 area(s) (level 1: 2)" in result.output
    south = AreaBoundary.objects.get(area__code="XY02").geometry
    assert south["type"] == "Polygon" and len(south["coordinates"]) == 2  # outer and hole
    # RFC 7946: outer ring counter-clockwise, hole clockwise.
    outer, hole = (ring_area(r) for r in south["coordinates"])
    assert outer > 0 > hole
    # The same files in a .zip.
    with zipfile.ZipFile(tmp_path / "adm1.zip", "w") as z:
        for ext in ("shp", "shx", "dbf"):
            z.write(tmp_path / f"adm1.{ext}", f"adm1.{ext}")
    AreaBoundary.objects.all().delete()
    done = boundaries_load(actor=None, path=tmp_path / "adm1.zip", code_field="ADM1_PCODE")
    assert done.areas == 2


def ring_area(ring: list[list[float]]) -> float:
    return sum(ax * by - bx * ay for (ax, ay), (bx, by) in itertools.pairwise(ring)) / 2


@pytest.mark.parametrize(("features", "said"), [
    ([feature("XY01", square(10, -5)), feature("ZZ99", square(0, 0)),
      feature("ZZ98", square(0, 0))], "2 P-code(s) match no area: ZZ99, ZZ98"),
    ([feature("XY01", square(10, -5)), feature("XY01", square(11, -5))],
     "P-code XY01 again"),
    ([feature("XY01", square(10, -5)[:-1])], "ring 1 is not closed"),
    ([feature("XY01", [[10, -5], [11, -5], [10, -5]])], "a ring needs 4 or more"),
    ([feature("XY01", square(500_000, 4_000_000, 1000))], "outside longitude -180..180"),
    ([{"type": "Feature", "properties": {"code": "XY01"},
       "geometry": {"type": "Point", "coordinates": [10, -5]}}], "not a Polygon"),
    ([{"type": "Feature", "properties": {"name": "North"},
       "geometry": {"type": "Polygon", "coordinates": [square(10, -5)]}}],
     "no property 'code' (its properties: name"),
])
def test_a_bad_file_is_refused_whole_and_nothing_is_loaded(areas, tmp_path, features, said):
    good = feature("XY02", square(11, -5))
    path = write_geojson(tmp_path / "bad.geojson", good, *features)
    with pytest.raises(ValidationFailed) as refused:
        boundaries_load(actor=None, path=path)
    assert said in refused.value.message
    assert not AreaBoundary.objects.exists()
    assert not AuditEvent.objects.filter(action="boundaries.load").exists()


def test_the_cli_names_the_problem_and_loads_nothing(areas, tmp_path):
    path = write_geojson(tmp_path / "bad.geojson", feature("XY01", square(10, -5)),
                         feature("NOPE", square(11, -5)))
    result = CliRunner().invoke(cli, ["geography", "boundaries", str(path)])
    assert result.exit_code == 1
    assert "match no area: NOPE" in result.output and "Traceback" not in result.output
    assert not AreaBoundary.objects.exists()
    (tmp_path / "notes.txt").write_text("hello")
    result = CliRunner().invoke(cli, ["geography", "boundaries", str(tmp_path / "notes.txt")])
    assert result.exit_code == 1 and "GeoJSON" in result.output


def test_a_projected_shapefile_is_refused(areas, tmp_path):
    with shapefile.Writer(str(tmp_path / "utm"), shapeType=shapefile.POLYGON) as shp:
        shp.field("code", "C")
        shp.poly([square(500_000, 4_000_000, 1000)[::-1]])
        shp.record("XY01")
    (tmp_path / "utm.prj").write_text('PROJCS["WGS_1984_UTM_Zone_33N",GEOGCS["GCS_WGS_1984"]]')
    with pytest.raises(ValidationFailed, match="reproject"):
        boundaries_load(actor=None, path=tmp_path / "utm.shp")
    (tmp_path / "utm.prj").unlink()  # without a .prj the coordinates give it away
    with pytest.raises(ValidationFailed, match="outside longitude"):
        boundaries_load(actor=None, path=tmp_path / "utm.shp")
    assert not AreaBoundary.objects.exists()


def test_a_shapefile_of_points_or_without_the_code_attribute_is_refused(areas, tmp_path):
    with shapefile.Writer(str(tmp_path / "towns"), shapeType=shapefile.POINT) as shp:
        shp.field("code", "C")
        shp.point(10, -5)
        shp.record("XY01")
    with pytest.raises(ValidationFailed, match="not polygons"):
        boundaries_load(actor=None, path=tmp_path / "towns.shp")
    with pytest.raises(ValidationFailed, match=r"no attribute 'PCODE'.*its attributes: code"):
        boundaries_load(actor=None, path=tmp_path / "towns.shp", code_field="PCODE")


def test_simplification_keeps_rings_valid():
    circle = [[10 + math.cos(t / 100 * 2 * math.pi), -5 + math.sin(t / 100 * 2 * math.pi)]
              for t in range(100)]
    circle.append(circle[0])
    shown = simplify({"type": "Polygon", "coordinates": [circle]}, 0.01)
    ring = shown["coordinates"][0]
    assert 8 < len(ring) < 60 and ring[0] == ring[-1]
    assert geometry_problems(shown) == []
    # A tiny island smaller than the tolerance keeps its own positions rather than vanishing.
    tiny = simplify({"type": "Polygon", "coordinates": [square(10, -5, 1e-4)]}, 0.01)
    assert len(tiny["coordinates"][0]) == 5
