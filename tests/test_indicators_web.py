"""The indicators dashboard: cards, drill-down lowest first, scope, series, no run, no access."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from spmis.core.formatting import percent
from spmis.geography.models import Area
from spmis.indicators.models import IndicatorValue
from spmis.indicators.services import indicators_run, target_set
from tests.helpers import logged_in

pytestmark = pytest.mark.django_db
PERIOD = dt.date(2026, 6, 1)


@pytest.fixture
def run(country):
    return indicators_run(actor=None, period=PERIOD)


def value(run, indicator: str, area: str, sex: str = "_T") -> IndicatorValue:
    return IndicatorValue.objects.get(run=run, indicator=indicator, area_code=area, sex=sex,
                                      age_band="_T", disability="_T", scheme="_T")


def card(html: str, code: str) -> str:
    match = re.search(rf'data-testid="card-{code}">(.*?)</div>\s*</div>', html, re.S)
    assert match, code
    return match.group(1)


def test_cards_show_the_run_by_sex(run, make_user):
    html = logged_in(make_user("STATISTICIAN")).get("/indicators/").content.decode()
    assert f"run {run.pk}" in html and "June 2026" in html
    for code in ("COV_ANY", "COV_HEALTH", "COV_CHILDREN", "COV_WORKING_AGE", "COV_OLD_AGE"):
        text = card(html, code)
        for sex in ("_T", "F", "M"):
            cell = value(run, code, "XY", sex)
            assert cell.obs_status == "A"
            assert percent(cell.value) in text, (code, sex)
        assert "Women" in text and "Men" in text


def test_missing_denominator_is_never_a_number(run, make_user):
    IndicatorValue.objects.filter(run=run, indicator="COV_HEALTH", area_code="XY").update(
        obs_status="M", denominator=None, value=None)
    html = logged_in(make_user("STATISTICIAN")).get("/indicators/").content.decode()
    text = card(html, "COV_HEALTH")
    assert "no denominator" in text and "%" not in text
    sdg = re.search(r'data-testid="sdg">(.*?)</table>', html, re.S).group(1)
    missing = IndicatorValue.objects.filter(run=run, area_code="XY", sex="_T", age_band="_T",
                                            disability="_T", scheme="_T", obs_status="M",
                                            indicator__startswith="SOC_CONTIG_")
    for cell in missing:
        assert f'data-indicator="{cell.indicator}"' in sdg
    if missing:
        assert "no denominator:" in sdg


def test_drill_down_lists_child_areas_lowest_first(run, make_user):
    client = logged_in(make_user("STATISTICIAN"))
    html = client.get("/indicators/?area=XY&indicator=COV_ANY").content.decode()
    regions = list(Area.objects.filter(parent__code="XY"))
    shown = re.findall(r'<tr data-area="([^"]+)">', html)
    assert sorted(shown) == sorted(r.code for r in regions)
    values = [value(run, "COV_ANY", code).value for code in shown]
    assert values == sorted(values)
    assert 'id="areas-chart"' in html and "chart-4.6.1.umd.min.js" in html
    # One level down: the region's districts, with breadcrumbs back up.
    region = Area.objects.get(code=shown[0])
    html = client.get(f"/indicators/?area={region.code}&indicator=COV_ANY").content.decode()
    assert set(re.findall(r'<tr data-area="([^"]+)">', html)) == {
        a.code for a in Area.objects.filter(parent=region)}
    crumbs = re.search(r'data-testid="breadcrumbs">(.*?)</nav>', html, re.S).group(1)
    assert "?area=XY&amp;indicator=COV_ANY" in crumbs and region.name in crumbs


def test_area_outside_scope_is_not_found(run, make_user):
    home, away = Area.objects.filter(level=2).order_by("code")[:2]
    client = logged_in(make_user("STATISTICIAN", area=home.code))
    assert client.get(f"/indicators/?area={away.code}").status_code == 404
    assert client.get("/indicators/?area=XY").status_code == 404
    assert client.get("/indicators/?area=NOWHERE").status_code == 404
    assert client.get("/indicators/?indicator=NO_SUCH").status_code == 404


def test_district_user_sees_their_district_only(run, make_user):
    home, away = Area.objects.filter(level=2).order_by("code")[:2]
    html = logged_in(make_user("STATISTICIAN", area=home.code)).get(
        "/indicators/").content.decode()
    assert f'data-area-code="{home.code}"' in html
    crumbs = re.search(r'data-testid="breadcrumbs">(.*?)</nav>', html, re.S).group(1)
    assert home.name in crumbs and home.parent.name not in crumbs
    assert f"area={away.code}&amp;" not in html
    assert f"area={home.parent.code}&amp;" not in html
    cell = value(run, "COV_ANY", home.code)
    assert percent(cell.value) in card(html, "COV_ANY")
    for child in Area.objects.filter(parent=home):
        assert f'data-area="{child.code}"' in html


def test_series_table_shows_the_periods_and_targets(country, make_user):
    indicators_run(actor=None, period=dt.date(2026, 4, 1))
    latest = indicators_run(actor=None, period=PERIOD)
    target_set(actor=None, indicator="COV_ANY", area_code="XY", year=2030, value=60.0,
               source="National social protection strategy")
    html = logged_in(make_user("STATISTICIAN")).get("/indicators/").content.decode()
    table = re.search(r'data-testid="series">(.*?)</table>', html, re.S).group(1)
    assert "2026-04" in table and "2026-06" in table
    assert table.index("2026-04") < table.index("2026-06")
    assert percent(value(latest, 'COV_ANY', 'XY').value) in table
    targets = re.search(r'data-testid="targets">(.*?)</table>', html, re.S).group(1)
    assert "2030" in targets and "60.0%" in targets and "National social protection" in targets
    assert 'id="series-chart"' in html


def test_indicator_selector_lists_the_catalogue(run, make_user):
    html = logged_in(make_user("STATISTICIAN")).get(
        "/indicators/?indicator=COV_CHILDREN").content.decode()
    assert '<option value="COV_CHILDREN" selected>' in html
    assert '<option value="SOC_CONTIG_TOTAL"' in html


def test_no_run_says_how_to_make_one(country, make_user):
    response = logged_in(make_user("STATISTICIAN")).get("/indicators/")
    assert response.status_code == 200
    assert "spmis indicators run" in response.content.decode()


def test_without_coverage_permission_is_forbidden(country, make_user):
    client = logged_in(make_user("SECURITY_ADMIN"))
    assert client.get("/indicators/").status_code == 403
    assert 'href="/indicators/"' not in client.get("/").content.decode()


def test_menu_links_to_indicators(country, make_user):
    html = logged_in(make_user("STATISTICIAN")).get("/").content.decode()
    assert 'href="/indicators/"' in html


def scheme_value(run, indicator: str, area: str, scheme: str) -> IndicatorValue:
    return IndicatorValue.objects.get(run=run, indicator=indicator, area_code=area, sex="_T",
                                      age_band="_T", disability="_T", scheme=scheme)


def test_each_scheme_on_its_own_and_its_drill_down(run, make_user):
    client = logged_in(make_user("STATISTICIAN"))
    html = client.get("/indicators/?area=XY&indicator=COV_OLD_AGE").content.decode()
    table = re.search(r'data-testid="by-scheme">(.*?)</table>', html, re.S).group(1)
    shown = re.findall(r'data-scheme="([^"]+)"', table)
    assert set(shown) == {"SOCIAL_PENSION", "CONTRIB_PENSION"}
    values = [scheme_value(run, "COV_OLD_AGE", "XY", code).value for code in shown]
    assert values == sorted(values, reverse=True)
    assert percent(values[0]) in table
    # Following a scheme: the drill-down shows that scheme's figures in each region.
    html = client.get("/indicators/?area=XY&indicator=COV_OLD_AGE&scheme=SOCIAL_PENSION"
                      ).content.decode()
    assert 'data-testid="scheme-filter"' in html
    drill = re.search(r'data-testid="drill-down">(.*?)</table>', html, re.S).group(1)
    region = Area.objects.filter(parent__code="XY").order_by("code").first()
    cell = scheme_value(run, "COV_OLD_AGE", region.code, "SOCIAL_PENSION")
    row = re.search(rf'<tr data-area="{region.code}">(.*?)</tr>', drill, re.S).group(1)
    assert percent(cell.value) in row
    assert "scheme=SOCIAL_PENSION" in row


def test_a_scheme_manager_sees_their_schemes_only(run, make_user):
    client = logged_in(make_user("SCHEME_MANAGER", schemes=("SOCIAL_PENSION",)))
    html = client.get("/indicators/?area=XY&indicator=COV_ANY").content.decode()
    table = re.search(r'data-testid="by-scheme">(.*?)</table>', html, re.S).group(1)
    assert re.findall(r'data-scheme="([^"]+)"', table) == ["SOCIAL_PENSION"]
    assert client.get("/indicators/?indicator=COV_ANY&scheme=CHILD_GRANT").status_code == 404
    assert client.get("/indicators/?indicator=COV_ANY&scheme=SOCIAL_PENSION"
                      ).status_code == 200


def test_administrative_errors_by_scheme(run, make_user):
    html = logged_in(make_user("STATISTICIAN")).get(
        "/indicators/?area=XY&indicator=ADMIN_EXCLUSION_ERROR").content.decode()
    table = re.search(r'data-testid="by-scheme">(.*?)</table>', html, re.S).group(1)
    shown = set(re.findall(r'data-scheme="([^"]+)"', table))
    # The synthetic schemes that declare criteria the registry can check.
    assert shown == {"CHILD_GRANT", "SOCIAL_PENSION", "DISABILITY_GRANT", "PUBLIC_WORKS",
                     "HEALTH_EQUITY"}
    cell = scheme_value(run, "ADMIN_EXCLUSION_ERROR", "XY", "CHILD_GRANT")
    assert 0 < cell.value < 100 and percent(cell.value) in table


def test_a_missing_denominators_note_is_in_the_readers_language(run, make_user):
    """The note is stored in English when the run computes it; the page says it in the
    reader's language."""
    from spmis.indicators.catalogue import catalogue

    indicator = next(i for i in catalogue() if i.code == "COV_HEALTH")
    note = "Needs the number of unemployed persons (labour force survey)."
    assert note in (i.missing_denominator for i in catalogue())
    IndicatorValue.objects.filter(run=run, indicator=indicator.code, area_code="XY").update(
        obs_status="M", denominator=None, value=None, note=note)
    client = logged_in(make_user("STATISTICIAN"))
    english = client.get("/indicators/").content.decode()
    assert note in english
    client.cookies["spmis_language"] = "fr"
    french = client.get("/indicators/").content.decode()
    assert '<html lang="fr">' in french
    assert note not in french and "Nécessite le nombre de chômeurs" in french
