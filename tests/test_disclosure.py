"""Disclosure control of a public release: the threshold rule and secondary suppression."""

from __future__ import annotations

import polars as pl
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from spmis.indicators.disclosure import suppress
from spmis.indicators.engine import COLUMNS
from tests.helpers import PERIOD

REGIONS = ["R1", "R2", "R3"]
PARENTS = {"XY": None, **dict.fromkeys(REGIONS, "XY")}


def cube(counts: dict[tuple[str, str], int]) -> pl.DataFrame:
    """COV_ANY by region x sex with every total, from counts per region and sex."""
    rows = []
    for area in ["XY", *REGIONS]:
        for sex in ["M", "F", "_T"]:
            n = sum(v for (region, s), v in counts.items()
                    if area in ("XY", region) and sex in ("_T", s))
            rows.append({"indicator": "COV_ANY", "area_code": area,
                         "area_level": 0 if area == "XY" else 1, "sex": sex, "age_band": "_T",
                         "disability": "_T", "scheme": "_T", "numerator": n,
                         "denominator": None, "value": None, "obs_status": "M"})
    return pl.DataFrame(rows, schema={c: pl.Float64 if c == "value" else pl.Int64
                                      if c in ("numerator", "denominator", "area_level")
                                      else pl.String for c in COLUMNS})


@settings(max_examples=80, deadline=None)
@given(st.lists(st.integers(0, 12), min_size=6, max_size=6), st.integers(2, 6))
def test_no_small_cell_is_published_nor_recoverable_by_subtraction(numbers, k):
    counts = {(r, s): numbers[i * 2 + j] for i, r in enumerate(REGIONS)
              for j, s in enumerate(["M", "F"])}
    original = cube(counts)
    safe = suppress(original, PARENTS, k, {"COV_ANY"})
    published = safe.filter(conf_status="F")
    assert not published.filter(pl.col("numerator").is_between(1, k - 1)).height
    hidden = set(safe.filter(pl.col("conf_status") != "F")
                 .select(pl.concat_str("area_code", "sex", separator="/"))["area_code"])
    # Every additive relation hides none or at least two of its cells.
    relations = [[f"{a}/{s}" for s in ("M", "F", "_T")] for a in ["XY", *REGIONS]]
    relations += [[f"{a}/{s}" for a in ["XY", *REGIONS]] for s in ("M", "F", "_T")]
    for cells in relations:
        assert len(hidden & set(cells)) != 1, (cells, hidden)
    # What is published is what was computed.
    kept = original.join(published.select("area_code", "sex", "numerator"),
                         on=["area_code", "sex"], suffix="_published")
    assert (kept["numerator"] == kept["numerator_published"]).all()


def test_a_minimum_of_one_or_zero_publishes_everything():
    frame = cube({("R1", "M"): 1, ("R1", "F"): 2})
    assert (suppress(frame, PARENTS, 0, {"COV_ANY"})["conf_status"] == "F").all()


@pytest.fixture
def small_country_run(request):
    from spmis.indicators.services import indicators_run

    request.getfixturevalue("small")  # the hand-made country (tests/conftest.py)
    return indicators_run(actor=None, period=PERIOD)


@pytest.mark.django_db
def test_a_public_export_through_the_cli(small_country_run):
    from spmis.cli.main import cli

    done = CliRunner().invoke(cli, [
        "indicators", "export", "--format", "sdmx-csv", "--min-count", "5"])
    assert done.exit_code == 0, done.output
    published = pl.read_csv(done.stdout.encode(), infer_schema=False)
    assert set(published["CONF_STATUS"]) <= {"F", "C", "D"}
    people = published.filter(~pl.col("INDICATOR").is_in(
        ["REPORTING_RATE", "REPORTING_RATE_ON_TIME", "DUPLICATE_RECORD_RATE", "OPEN_FLAGS",
         "OVERDUE_FLAGS", "PAYMENTS_ON_TIME"]), pl.col("CONF_STATUS") == "F")
    counts = people["NUMERATOR"].cast(pl.Int64, strict=False)
    assert not counts.is_between(1, 4).any()
    # The small country's national coverage (4 persons) is suppressed; process figures stay.
    national = published.filter(INDICATOR="COV_ANY", REF_AREA="XY", SEX="_T", AGE="_T",
                                DISABILITY_STATUS="_T", SCHEME="_T")
    assert national["CONF_STATUS"].to_list() == ["C"]
    assert national["OBS_VALUE"].to_list() == ["NaN"]
    assert published.filter(INDICATOR="PAYMENTS_ON_TIME")["CONF_STATUS"].to_list() == ["F"]
