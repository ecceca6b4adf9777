"""What a run publishes: units and currency per SDMX, missing values that say why, the SDMX
structure (code lists, concepts, DSD, dataflow) read with the data by two independent SDMX
libraries (pysdmx, sdmx1), and a trend of every month with data."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner

from spmis.cli.main import cli
from spmis.indicators.catalogue import catalogue
from spmis.indicators.export import export, run_values
from spmis.indicators.models import IndicatorRun
from spmis.indicators.services import indicators_run
from spmis.payments.models import BenefitPayment
from tests.helpers import PERIOD

pytestmark = pytest.mark.django_db

DIMENSIONS = ("FREQ", "REF_AREA", "INDICATOR", "SOC", "SEX", "AGE", "DISABILITY_STATUS",
              "SCHEME")
CODED_ATTRIBUTES = ("UNIT_MEASURE", "UNIT_MULT", "OBS_STATUS", "CONF_STATUS")


def sdmx_frame(run: IndicatorRun, fmt: str = "sdmx-csv", min_count: int = 0) -> pl.DataFrame:
    frame = pl.read_csv(export(run, fmt, min_count=min_count).encode(), infer_schema=False)
    return frame.with_columns(pl.all().fill_null(""))


def national(frame: pl.DataFrame, indicator: str) -> dict:
    rows = frame.filter(INDICATOR=indicator, REF_AREA="XY", SEX="_T", AGE="_T",
                        DISABILITY_STATUS="_T", SCHEME="_T")
    assert rows.height == 1, (indicator, rows)
    return rows.row(0, named=True)


# --- 7. Units and currency ----------------------------------------------------------------


def test_units_per_sdmx_percent_currency_and_counts_of_flags(small):
    run = indicators_run(actor=None, period=PERIOD)
    frame = sdmx_frame(run)
    units = {i.code: i.unit for i in catalogue()}
    # Before: PS (persons) for every value, amounts and flags included; no currency anywhere.
    assert national(frame, "COV_ANY")["UNIT_MEASURE"] == "PT"
    assert national(frame, "VERT_MEDIAN_BENEFIT")["UNIT_MEASURE"] == "USD"
    assert national(frame, "VERT_MEAN_BENEFIT")["UNIT_MEASURE"] == "USD"
    assert national(frame, "OPEN_FLAGS")["UNIT_MEASURE"] == "NUMBER"
    for code, unit in units.items():
        published = set(frame.filter(INDICATOR=code)["UNIT_MEASURE"])
        expected = {"PERCENT": {"PT"}, "CURRENCY": {"USD"}, "NUMBER": {"NUMBER"},
                    "PERSONS": {"PS"}}[unit]
        assert published <= expected, (code, published)
    # Amounts are in major units: 15.00 USD, not 1500 cents, and said so.
    assert national(frame, "VERT_MEDIAN_BENEFIT")["OBS_VALUE"] == "15.0"
    assert set(frame["UNIT_MULT"]) == {"0"}
    assert run.lineage["currency"] == "USD"


def test_amounts_in_another_currency_name_it(small):
    BenefitPayment.objects.update(currency="CLP", amount_minor=15000)
    run = indicators_run(actor=None, period=PERIOD)
    frame = sdmx_frame(run, "sdmx-csv2")
    row = national(frame, "VERT_MEDIAN_BENEFIT")
    assert (row["UNIT_MEASURE"], row["OBS_VALUE"]) == ("CLP", "15000.0")  # CLP: no decimals
    assert '"currency": "CLP"' in export(run, "json")


def test_a_run_without_a_kept_currency_reads_it_from_its_payments(small):
    run = indicators_run(actor=None, period=PERIOD)
    run.lineage.pop("currency")
    run.save(update_fields=["lineage"])
    assert national(sdmx_frame(run), "VERT_MEDIAN_BENEFIT")["UNIT_MEASURE"] == "USD"


def test_every_missing_value_says_why(small):
    run = indicators_run(actor=None, period=PERIOD)
    frame = sdmx_frame(run)
    missing = frame.filter(OBS_STATUS="M")
    assert missing.height > 0
    assert (missing["OBS_VALUE"] == "NaN").all()
    # Before: no comment attribute; a reader saw M and had to guess.
    assert (missing["COMMENT_OBS"].str.len_chars() > 10).all(), missing.filter(
        pl.col("COMMENT_OBS").str.len_chars() <= 10)
    note = next(i.missing_denominator for i in catalogue() if i.code == "SOC_CONTIG_DISAB")
    assert national(frame, "SOC_CONTIG_DISAB")["COMMENT_OBS"] == note
    assert "POVERTY_LINE" in national(frame, "VERT_MEDIAN_TO_POVERTY_LINE")["COMMENT_OBS"]
    # C3 has no population cell: the reason names the population tables.
    c3 = frame.filter(INDICATOR="COV_ANY", REF_AREA="C3", SEX="_T", AGE="_T",
                      DISABILITY_STATUS="_T", SCHEME="_T").row(0, named=True)
    assert c3["OBS_STATUS"] == "M" and "population" in c3["COMMENT_OBS"]
    # Values that are there carry no comment; the stored rows keep the same reasons.
    assert (frame.filter(OBS_STATUS="A")["COMMENT_OBS"] == "").all()
    stored = run_values(run).filter(obs_status="M")
    assert stored.height == missing.height and (stored["note"].str.len_chars() > 10).all()


# --- 9. SDMX structure, read by two libraries ----------------------------------------------


@pytest.fixture
def published(small, tmp_path) -> tuple[IndicatorRun, Path]:
    """A run exported through the CLI: SDMX-CSV 1.0 and 2.0 (each with its structure beside
    it), a public release of 2.0, and the structure on its own."""
    run = indicators_run(actor=None, period=PERIOD)
    runner = CliRunner()
    for fmt, name, extra in (("sdmx-csv", "v1.csv", []), ("sdmx-csv2", "v2.csv", []),
                             ("sdmx-csv2", "public.csv", ["--min-count", "3"]),
                             ("sdmx-structure", "structure.xml", [])):
        done = runner.invoke(cli, ["indicators", "export", "--run", str(run.pk), "--format",
                                   fmt, "--output", str(tmp_path / name), *extra])
        assert done.exit_code == 0, done.output
    return run, tmp_path


def test_each_sdmx_file_comes_with_its_structure(published):
    _run, out = published
    for name in ("v1", "v2", "public"):
        beside = out / f"{name}.structure.xml"
        assert beside.exists(), name
        assert "DSD_SP_COVERAGE" in beside.read_text()
    v1 = (out / "v1.csv").read_text().splitlines()[0].split(",")
    v2 = (out / "v2.csv").read_text().splitlines()[0].split(",")
    assert v1[:2] == ["DATAFLOW", "FREQ"]
    assert v2[:4] == ["STRUCTURE", "STRUCTURE_ID", "ACTION", "FREQ"]
    # Dimensions, then the time dimension, the measure and the attributes: the DSD's order.
    assert v1[1:] == v2[3:]
    assert v1[1:11] == [*DIMENSIONS, "TIME_PERIOD", "OBS_VALUE"]


def _expected(run: IndicatorRun) -> dict[tuple[str, ...], float | None]:
    """The run's published values keyed by the SDMX series key, NaN as None."""
    frame = sdmx_frame(run)
    return {tuple(row[d] for d in (*DIMENSIONS, "TIME_PERIOD")):
            None if row["OBS_VALUE"] == "NaN" else float(row["OBS_VALUE"])
            for row in frame.iter_rows(named=True)}


def test_pysdmx_reads_the_structure_and_both_csv_versions_against_it(published):
    from pysdmx.io import get_datasets, read_sdmx

    run, out = published
    # The structure message is validated against the SDMX-ML 2.1 schemas while read.
    message = read_sdmx(out / "structure.xml", validate=True)
    kinds = sorted({type(s).__name__ for s in message.structures})
    assert kinds == ["Codelist", "ConceptScheme", "DataStructureDefinition", "Dataflow"]
    codelists = {c.id: {code.id for code in c.items} for c in message.structures
                 if type(c).__name__ == "Codelist"}
    expected = _expected(run)
    for name in ("v1.csv", "v2.csv"):
        [dataset] = get_datasets(out / name, out / "structure.xml")
        assert dataset.short_urn == "Dataflow=SPMIS:DF_SP_COVERAGE(1.0)"
        schema = dataset.structure
        data = dataset.data
        assert len(data) == len(expected)
        by_id = {c.id: c for c in schema.components}
        for column in (*DIMENSIONS, *CODED_ATTRIBUTES):
            codes = {code.id for code in by_id[column].local_codes.items}
            assert codes == codelists[by_id[column].local_codes.id]
            used = set(data[column].astype(str))
            assert used <= codes, (name, column, used - codes)
        for row in data.itertuples(index=False):
            key = tuple(str(getattr(row, d)) for d in (*DIMENSIONS, "TIME_PERIOD"))
            value = float(row.OBS_VALUE)
            want = expected[key]
            assert (math.isnan(value) and want is None) or value == pytest.approx(want), key


def test_sdmx1_reads_sdmx_csv_2_against_the_structure(published):
    import sdmx

    run, out = published
    message = sdmx.read_sdmx(out / "structure.xml")
    dsd = message.structure["DSD_SP_COVERAGE"]
    assert message.dataflow["DF_SP_COVERAGE"].structure is dsd
    expected = _expected(run)
    for name in ("v2.csv", "public.csv"):
        data = sdmx.read_sdmx(out / name, structure=dsd)
        [dataset] = data.data
        assert len(dataset.obs) == len(expected)
        for obs in dataset.obs:
            key = obs.dimension
            for dim in DIMENSIONS:
                representation = dsd.dimensions.get(dim).local_representation.enumerated
                assert key[dim].value in representation, (name, dim, key[dim].value)
            for attr in CODED_ATTRIBUTES:
                codes = dsd.attributes.get(attr).local_representation.enumerated
                assert obs.attrib[attr].value in codes, (name, attr)
            if name == "v2.csv":
                want = expected[tuple(key[d].value for d in (*DIMENSIONS, "TIME_PERIOD"))]
                got = float(obs.value)
                assert (math.isnan(got) and want is None) or got == pytest.approx(want)
        if name == "public.csv":
            suppressed = [o for o in dataset.obs if o.attrib["CONF_STATUS"].value in "CD"]
            assert suppressed and all(math.isnan(float(o.value)) for o in suppressed)


def test_the_code_lists_cover_the_catalogue_areas_schemes_and_age_bands(small):
    import sdmx

    run = indicators_run(actor=None, period=PERIOD)
    message = sdmx.read_sdmx(_bytes(export(run, "sdmx-structure")))
    lists = {cl.id: {code.id for code in cl} for cl in message.codelist.values()}
    assert {i.code for i in catalogue()} == lists["CL_INDICATOR"]
    assert {"XY", "R1", "D1", "C1", "C2", "C3"} == lists["CL_AREA"]
    assert {"_T", "CHILD", "HEALTH", "PENSION", "DISAB"} <= lists["CL_SCHEME"]
    assert {"_T", "Y0T17", "Y18T64", "Y_GE65"} <= lists["CL_AGE"]
    assert {"PT", "PS", "NUMBER", "USD"} <= lists["CL_UNIT_MEASURE"]
    assert {"SOC_CONTIG_TOTAL", "SOC_CONTIG_VULN", "SOC_CONTIG_INJ"} <= lists["CL_SOC"]


def _bytes(text: str):
    import io

    return io.BytesIO(text.encode())


def test_a_trend_in_one_sdmx_file_read_by_both_libraries(small, tmp_path):
    import sdmx
    from pysdmx.io import get_datasets

    runner = CliRunner()
    assert runner.invoke(cli, ["indicators", "run", "--from", "2026-04", "--to",
                               "2026-06"]).exit_code == 0
    indicators_run(actor=None, period=PERIOD)  # June again: the latest run of it counts
    out = tmp_path / "trend.csv"
    done = runner.invoke(cli, ["indicators", "export", "--from", "2026-04", "--to", "2026-06",
                               "--format", "sdmx-csv2", "--output", str(out)])
    assert done.exit_code == 0, done.output
    latest = IndicatorRun.objects.filter(period=PERIOD).order_by("-id")[0]
    assert f"{latest.pk} (2026-04 to 2026-06)" in done.stderr
    structure = tmp_path / "trend.structure.xml"
    [dataset] = get_datasets(out, structure)
    assert sorted(set(dataset.data["TIME_PERIOD"].astype(str))) == [
        "2026-04", "2026-05", "2026-06"]
    message = sdmx.read_sdmx(structure)
    data = sdmx.read_sdmx(out, structure=message.structure["DSD_SP_COVERAGE"])
    assert len(data.data[0].obs) == len(dataset.data)
    csv = runner.invoke(cli, ["indicators", "export", "--from", "2026-04", "--format", "csv"])
    assert csv.exit_code != 0 and "sdmx-csv" in csv.output  # one period a file in CSV
    none = runner.invoke(cli, ["indicators", "export", "--from", "2001-01", "--to", "2001-02",
                               "--format", "sdmx-csv"])
    assert none.exit_code != 0 and "No indicator run" in none.output


# --- 8. A trend ---------------------------------------------------------------------------


def test_a_range_computes_every_month_with_data(small):
    runner = CliRunner()
    # Enrolments start in January 2020: the three months before have nothing to count.
    done = runner.invoke(cli, ["indicators", "run", "--from", "2019-10", "--to", "2020-02"])
    assert done.exit_code == 0, done.output
    ids = [int(line) for line in done.stdout.splitlines() if line.isdigit()]
    periods = [f"{p:%Y-%m}" for p in IndicatorRun.objects.filter(pk__in=ids).order_by(
        "period").values_list("period", flat=True)]
    assert periods == ["2020-01", "2020-02"]
    assert "2 month(s) with data" in done.stderr
    assert "[1/2] 2020-01" in done.stderr and "[2/2] 2020-02" in done.stderr  # progress


def test_a_bad_range_is_refused_in_words(small):
    runner = CliRunner()
    backwards = runner.invoke(cli, ["indicators", "run", "--from", "2026-06", "--to", "2026-01"])
    assert backwards.exit_code != 0 and "before it starts" in backwards.output
    both = runner.invoke(cli, ["indicators", "run", "--period", "2026-06", "--from", "2026-01"])
    assert both.exit_code != 0 and "not both" in both.output
    bad = runner.invoke(cli, ["indicators", "run", "--from", "2026-13"])
    assert bad.exit_code != 0 and "is not a period" in bad.output
    assert not IndicatorRun.objects.exists()


def test_no_month_with_data_says_so(small):
    done = CliRunner().invoke(cli, ["indicators", "run", "--from", "2001-01", "--to", "2001-03"])
    assert done.exit_code == 0 and "nothing computed" in done.stderr
    assert not IndicatorRun.objects.exists()


def test_each_month_counts_its_own_payments(small):
    before = dt.date(2026, 5, 1)
    runs = {f"{r.period:%Y-%m}": r for r in (indicators_run(actor=None, period=before),
                                              indicators_run(actor=None, period=PERIOD))}
    may, june = (sdmx_frame(runs[m]).filter(INDICATOR="VERT_MEDIAN_BENEFIT", REF_AREA="XY",
                                            SEX="_T") for m in ("2026-05", "2026-06"))
    # Payments were made for June only: June has three recipients, May none (no row, or a
    # missing one).
    assert june.select("NUMERATOR", "OBS_STATUS").rows() == [("3", "A")]
    assert may.height == 0 or may["OBS_STATUS"].to_list() == ["M"]


# --- 8. The page: a period picker, the series, months without a run -----------------------


def _page(client, query: str = "") -> str:
    response = client.get("/indicators/" + query)
    assert response.status_code == 200
    return response.content.decode()


def test_the_page_shows_the_period_asked_for_and_offers_every_period(small, make_user):
    from tests.helpers import logged_in

    april = indicators_run(actor=None, period=dt.date(2026, 4, 1))
    june = indicators_run(actor=None, period=PERIOD)
    client = logged_in(make_user("STATISTICIAN"))
    latest = _page(client)
    assert f"run {june.pk}" in latest and "June 2026" in latest
    asked = _page(client, "?period=2026-04")
    # Before: ?period= was ignored and the latest run shown without a word.
    assert f"run {april.pk}" in asked and "April 2026" in asked
    assert f"run {june.pk}" not in asked
    assert '<option value="2026-04" selected>' in asked and '<option value="2026-06">' in asked
    # Links down the areas and across indicators keep the period.
    assert "period=2026-04" in asked.split('data-testid="drill-down"')[1]
    # May was not computed: the series says so between April and June.
    series = asked.split('data-testid="series"')[1].split("</table>")[0]
    assert series.index("2026-04") < series.index("2026-05") < series.index("2026-06")
    assert series.count('data-testid="no-run-in-series"') == 1


def test_a_period_without_a_run_says_so(small, make_user):
    from tests.helpers import logged_in

    indicators_run(actor=None, period=PERIOD)
    html = _page(logged_in(make_user("STATISTICIAN")), "?period=2026-03")
    assert 'data-testid="no-run-for-period"' in html and "March 2026" in html
    assert "spmis indicators run --period 2026-03" in html
    assert 'data-testid="card-COV_ANY"' not in html  # no figures of another month
    assert 'data-testid="series"' in html  # the months that have been computed


def test_a_bad_period_says_so_and_shows_the_latest(small, make_user):
    from tests.helpers import logged_in

    june = indicators_run(actor=None, period=PERIOD)
    client = logged_in(make_user("STATISTICIAN"))
    for bad in ("2026-13", "June", "1850-01"):
        html = _page(client, f"?period={bad}")
        assert "Type the period as YYYY-MM" in html and "Showing the latest" in html, bad
        assert f"run {june.pk}" in html


# --- 10. The benchmark ----------------------------------------------------------------------


def test_the_benchmark_takes_its_period_from_the_country_and_counts_persons(tmp_path):
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[1]
    done = subprocess.run(
        [sys.executable, str(root / "bench" / "indicators.py"), "--persons", "3000",
         "--as-of", "2025-03-31", "--keep", str(tmp_path)],
        capture_output=True, text=True, check=True, timeout=600)
    import json

    result = json.loads(done.stdout)
    assert result["period"] == "2025-03"  # before: June 2026 whatever the country
    payments = pl.read_parquet(tmp_path / "payments.parquet")
    assert payments["period"].max() == dt.date(2025, 3, 1)
    # Some persons are recorded twice; the yardstick counts them once, as the engine does,
    # in every cell.
    assert result["records"] > result["persons"] == 3000
    assert result["cov_any_cells_compared"] > 100 and result["cov_any_cells_that_differ"] == 0


def test_the_page_gives_the_same_reason_as_the_export(small, make_user):
    from django.utils.html import escape

    from tests.helpers import logged_in

    run = indicators_run(actor=None, period=PERIOD)
    html = _page(logged_in(make_user("STATISTICIAN")))
    sdg = html.split('data-testid="sdg"')[1].split("</table>")[0]
    frame = sdmx_frame(run)
    for code in ("SOC_CONTIG_DISAB", "SOC_CONTIG_INJ"):
        row = national(frame, code)
        assert row["OBS_STATUS"] == "M"
        assert escape(row["COMMENT_OBS"]) in sdg, code


def test_a_month_computed_without_a_denominator_says_why_in_the_series(small, make_user):
    from tests.helpers import logged_in

    # The population tables are for 2026 only: December 2025 has no denominator.
    indicators_run(actor=None, period=dt.date(2025, 12, 1))
    indicators_run(actor=None, period=dt.date(2026, 1, 1))
    html = _page(logged_in(make_user("STATISTICIAN")))
    series = html.split('data-testid="series"')[1].split("</table>")[0]
    december = series.split('data-period="2025-12"')[1].split("</tr>")[0]
    assert 'data-testid="missing-in-series"' in december and "population tables" in december
    january = series.split('data-period="2026-01"')[1].split("</tr>")[0]
    assert "missing-in-series" not in january and "%" in january
