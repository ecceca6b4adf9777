"""The drill-down's map: fills follow the values and the scale, missing cells hatched, worst
areas first where lower is better, amounts with their currency; the catalogue says which way
is better for every indicator."""

from __future__ import annotations

import datetime as dt
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

from spmis.geography.models import Area, AreaBoundary
from spmis.indicators.catalogue import CatalogueError, catalogue, load
from spmis.indicators.choropleth import VIRIDIS, palette
from spmis.indicators.models import IndicatorValue
from spmis.indicators.services import indicators_run
from tests.helpers import logged_in

pytestmark = pytest.mark.django_db
PERIOD = dt.date(2026, 6, 1)
SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture
def run(country):
    return indicators_run(actor=None, period=PERIOD)


def page(user, query: str) -> str:
    response = logged_in(user).get("/indicators/" + query)
    assert response.status_code == 200
    return response.content.decode()


def svg_areas(html: str) -> dict[str, dict[str, str]]:
    """Each area the map draws: its link, fill, value and label, read from the SVG itself."""
    match = re.search(r"<svg viewBox=.*?</svg>", html, re.S)
    assert match, "no map"
    root = ET.fromstring(match.group(0).replace("<svg ", f'<svg xmlns="{SVG[1:-1]}" ', 1))
    drawn = {}
    for link in root.iter(f"{SVG}a"):
        path = link.find(f"{SVG}path")
        assert path is not None and path.get("d", "").startswith("M")
        drawn[link.get("data-area")] = {"href": link.get("href"), "fill": path.get("fill"),
                                        "value": path.get("data-value"),
                                        "label": link.get("aria-label"),
                                        "title": link.findtext(f"{SVG}title")}
    return drawn


def legend(html: str) -> list[tuple[str, float, float]]:
    return [(fill, float(low), float(high)) for fill, low, high in re.findall(
        r'<li data-fill="(#[0-9a-f]{6})" data-low="([^"]+)" data-high="([^"]+)"', html)]


def value(run, indicator: str, area: str) -> IndicatorValue:
    return IndicatorValue.objects.get(run=run, indicator=indicator, area_code=area, sex="_T",
                                      age_band="_T", disability="_T", scheme="_T")


def test_every_indicator_says_which_way_is_better():
    text = (Path(__file__).parents[2] / "spmis/indicators/catalogue.yaml").read_text()
    for item in yaml.safe_load(text):
        assert item.get("direction") in ("higher", "lower"), item["code"]
    lower = {i.code for i in catalogue() if i.direction == "lower"}
    assert {"ADMIN_EXCLUSION_ERROR", "ADMIN_INCLUSION_ERROR", "OPEN_FLAGS"} <= lower
    assert "COV_ANY" not in lower
    with pytest.raises(CatalogueError, match="direction"):
        load("- {code: X, name: n, population: {ages: [0, null]}, unit: PERCENT, "
             "reference: point_in_time}")


def test_the_map_shades_each_region_by_its_value_on_the_scale(run, make_user):
    html = page(make_user("STATISTICIAN"), "?area=XY&indicator=COV_ANY")
    drawn = svg_areas(html)
    regions = {a.code: a for a in Area.objects.filter(parent__code="XY")}
    assert set(drawn) == set(regions)
    classes = legend(html)
    assert 1 <= len(classes) <= 5
    assert [fill for fill, _, _ in classes] == palette(len(classes))  # darkest (worst) lowest
    assert set(palette(len(classes))) <= set(VIRIDIS)
    for code, area in drawn.items():
        stored = value(run, "COV_ANY", code).value
        assert float(area["value"]) == pytest.approx(stored)
        # The fill is the colour of the one legend class whose range holds the value.
        held = [fill for fill, low, high in classes if low <= stored <= high]
        assert held == [area["fill"]], (code, stored, classes)
        assert area["href"] == f"?area={code}&indicator=COV_ANY"
        name = regions[code].name
        assert area["label"].startswith(f"{name}: ") and area["label"].endswith("%")
        assert area["title"] == area["label"]
    # Higher values never get a darker colour.
    by_value = sorted(drawn.values(), key=lambda a: float(a["value"]))
    ranks = [VIRIDIS.index(a["fill"]) for a in by_value]
    assert ranks == sorted(ranks)
    # Beside the table: map and table in one two-column block.
    block = html.split('<div class="map-table">')[1]
    assert block.index('data-testid="map"') < block.index('data-testid="drill-down"')


def test_a_cell_without_a_value_is_hatched_with_its_legend_entry(run, make_user):
    region = Area.objects.filter(parent__code="XY").order_by("code").first()
    IndicatorValue.objects.filter(run=run, indicator="COV_ANY", area_code=region.code).update(
        obs_status="M", value=None, denominator=None, note="No population table for 2026.")
    html = page(make_user("STATISTICIAN"), "?area=XY&indicator=COV_ANY")
    drawn = svg_areas(html)
    assert drawn[region.code]["fill"] == "url(#map-hatch)"
    assert drawn[region.code]["value"] == ""
    assert "no data (No population table for 2026.)" in drawn[region.code]["label"]
    assert all(a["fill"].startswith("#") for code, a in drawn.items() if code != region.code)
    missing = re.search(r'data-testid="map-legend-missing">(.*?)</li>', html, re.S).group(1)
    assert "No data" in missing and "(1 area)" in missing
    assert 'id="map-hatch"' in html


def test_an_error_indicator_lists_and_shades_the_worst_areas_first(run, make_user):
    statistician = make_user("STATISTICIAN")
    html = page(statistician, "?area=XY&indicator=ADMIN_EXCLUSION_ERROR")
    shown = re.findall(r'<tr data-area="([^"]+)">', html)
    values = [value(run, "ADMIN_EXCLUSION_ERROR", code).value for code in shown]
    assert None not in values and len(set(values)) > 1
    assert values == sorted(values, reverse=True)  # the highest error first
    assert "highest (worst) first" in html and "darkest: highest, the worst" in html
    drawn = svg_areas(html)
    worst = max(drawn.values(), key=lambda a: float(a["value"]))
    best = min(drawn.values(), key=lambda a: float(a["value"]))
    assert worst["fill"] == VIRIDIS[0] and best["fill"] != VIRIDIS[0]
    # Coverage still lists the lowest first.
    html = page(statistician, "?area=XY&indicator=COV_ANY")
    shown = re.findall(r'<tr data-area="([^"]+)">', html)
    values = [value(run, "COV_ANY", code).value for code in shown]
    assert values == sorted(values) and "lowest (worst) first" in html


def test_amounts_are_shown_with_their_currency(run, make_user):
    html = page(make_user("STATISTICIAN"), "?area=XY&indicator=VERT_MEDIAN_BENEFIT")
    table = re.search(r'data-testid="drill-down">(.*?)</table>', html, re.S).group(1)
    for code in re.findall(r'<tr data-area="([^"]+)">', table):
        row = re.search(rf'<tr data-area="{code}">(.*?)</tr>', table, re.S).group(1)
        cells = re.findall(r'<td class="num">(.*?)</td>', row, re.S)
        assert all(c.endswith(" USD") for c in cells[:3]), cells  # total, women, men
        stored = value(run, "VERT_MEDIAN_BENEFIT", code).value
        assert f"{stored:,.2f} USD" == cells[0] or stored is None
    assert all(a["label"].endswith(" USD") for a in svg_areas(html).values())
    shown = re.search(r'data-testid="map-legend">(.*?)</ul>', html, re.S).group(1)
    assert shown.count(" USD") >= 1
    series = re.search(r'data-testid="series">(.*?)</table>', html, re.S).group(1)
    assert "USD" in series
    assert 'data-label="Median cash benefit per recipient (vertical coverage) (USD)"' in html


def test_without_boundaries_the_table_stands_alone_and_says_how_to_load_them(run, make_user):
    region = Area.objects.filter(parent__code="XY").order_by("code").first()
    AreaBoundary.objects.filter(area=region).delete()
    statistician = make_user("STATISTICIAN")
    html = page(statistician, "?area=XY&indicator=COV_ANY")
    assert region.code not in svg_areas(html)
    assert region.name in re.search(r'data-testid="map-unmapped">(.*?)</p>', html,
                                    re.S).group(1)
    AreaBoundary.objects.all().delete()
    html = page(statistician, "?area=XY&indicator=COV_ANY")
    assert 'data-testid="map"' not in html and "spmis geography boundaries FILE" in html
    assert 'data-testid="drill-down"' in html


def test_an_officer_s_map_shows_only_their_district_s_communes(run, make_user):
    district = Area.objects.filter(level=2).order_by("code").first()
    html = page(make_user("STATISTICIAN", area=district.code), "")
    assert set(svg_areas(html)) == {a.code for a in Area.objects.filter(parent=district)}


def test_a_scheme_s_means_test_is_an_amount_with_its_currency(country, make_user):
    from spmis.schemes.models import Scheme

    scheme = Scheme.objects.get(code="CHILD_GRANT")
    assert scheme.income_threshold_minor == 300_000 and scheme.currency == "USD"
    html = logged_in(make_user("STATISTICIAN")).get(f"/schemes/{scheme.code}/").content.decode()
    shown = re.search(r'data-testid="income-threshold">(.*?)</span>', html).group(1)
    assert shown == "3,000.00 USD"  # not 300000 "minor units"


def test_the_legend_s_breaks_are_in_the_reader_s_number_format(run, make_user):
    from django.utils import translation

    from spmis.access.models import User
    from spmis.core.formatting import percent

    statistician = make_user("STATISTICIAN")
    User.objects.filter(pk=statistician.pk).update(language="fr")
    html = page(statistician, "?area=XY&indicator=COV_ANY")
    assert '<html lang="fr">' in html
    shown = re.search(r'data-testid="map-legend">(.*?)</ul>', html, re.S).group(1)
    with translation.override("fr"):
        for _fill, low, high in legend(html):
            assert percent(low, 1) in shown and percent(high, 1) in shown
            assert "," in percent(low, 1)  # 49,4 %, not 49.4%
