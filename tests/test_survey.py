"""Survey-based inclusion and exclusion errors: hand-computed figures, properties of the
maths, the three file formats, the synthetic survey's known truth, refusals, CLI and web."""

from __future__ import annotations

import math
from fractions import Fraction
from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from spmis.audit.models import AuditEvent
from spmis.cli.main import cli
from spmis.core.errors import ValidationFailed
from spmis.core.formatting import interval, percent
from spmis.indicators.models import Survey, SurveyEstimate
from spmis.indicators.survey import (
    SurveyBenchmark,
    SurveyColumns,
    survey_compute,
    survey_estimates,
    survey_read,
)
from spmis.indicators.survey_services import survey_save
from spmis.synth.survey import survey_synthesise, survey_write
from tests.helpers import logged_in

T_975_9 = 2.262157162798205  # Student's t, 97.5th percentile, 9 degrees of freedom (tables)
T_975_3 = 3.182446305284263  # the same, 3 degrees of freedom

# Ten respondents, welfare 10..100, unequal weights (15 persons), five recipients.
TINY = {
    "welfare": [10, 20, 30, 40, 50, 60, 70, 80, 90, 100],
    "weight": [1, 2, 1, 2, 1, 1, 2, 1, 2, 2],
    "benefit": [5, 0, 5, 0, 5, 0, 5, 0, 0, 10],
    "stratum": ["A"] * 5 + ["B"] * 5,
    "psu": ["p1", "p1", "p2", "p3", "p3", "p4", "p4", "p5", "p5", "p5"],
}
PERSON_COLUMNS = SurveyColumns(weight="weight", welfare="welfare", benefit="benefit",
                               household="hhid", strata="stratum", psu="psu")


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.csv"
    pl.DataFrame(TINY).write_csv(path)
    return path


def estimates(path: Path, target: str = "q1", **columns: str) -> dict:
    names = {"weight": "weight", "welfare": "welfare", "benefit": "benefit", **columns}
    result = survey_compute(path, SurveyColumns(**names), SurveyBenchmark.parse(target))
    return result.by_measure


def test_hand_computed_quintiles_coverage_incidence(tiny):
    # Persons strictly poorer, of 15: 0, 1, 3, 4, 6, 7, 8, 10, 11, 13. Quintile k holds the
    # rows whose share is in [(k-1)/5, k/5): Q1 rows 1-2 (3 persons), Q2 rows 3-4 (3),
    # Q3 rows 5-7 (4), Q4 rows 8-9 (3), Q5 row 10 (2).
    found = estimates(tiny)
    for k, persons in enumerate([3, 3, 4, 3, 2], start=1):
        assert found[f"POPULATION_Q{k}"].value == pytest.approx(persons / 15)
    # Recipients: row 1 (1 person), 3 (1), 5 (1), 7 (2), 10 (2).
    for k, share in enumerate([1 / 3, 1 / 3, 3 / 4, 0, 1], start=1):
        assert found[f"COVERAGE_Q{k}"].value == pytest.approx(share)
    assert found["COVERAGE"].value == pytest.approx(7 / 15)
    # Benefit paid, weighted: 5 + 5 + 5 + 2x5 + 2x10 = 45.
    for k, share in enumerate([5 / 45, 5 / 45, 15 / 45, 0, 20 / 45], start=1):
        assert found[f"INCIDENCE_Q{k}"].value == pytest.approx(share)
    assert found["INCIDENCE_Q5"].numerator == pytest.approx(20)
    assert found["INCIDENCE_Q5"].denominator == pytest.approx(45)


def test_hand_computed_errors_with_intervals_per_respondent(tiny):
    found = estimates(tiny)  # no PSU, no household: each respondent is its own PSU
    # Target group: rows 1-2 (3 persons); row 2 (2 persons) receives nothing.
    ee = found["EE"]
    assert (ee.value, ee.numerator, ee.denominator, ee.n) == (pytest.approx(2 / 3), 2, 3, 2)
    # z_i = w_i (y_i - R x_i) / X: row 1 -2/9, row 2 +2/9; Var = 10/9 x 8/81.
    half = T_975_9 * math.sqrt(10 / 9 * 8 / 81)
    assert half > 2 / 3  # so both ends are clipped
    assert (ee.ci_low, ee.ci_high) == (0.0, 1.0)
    # Recipients: 7 persons; outside the target group rows 3, 5, 7, 10 (6 persons).
    ie = found["IE"]
    assert (ie.value, ie.numerator, ie.denominator, ie.n) == (pytest.approx(6 / 7), 6, 7, 5)
    # z: row 1 -6/49, rows 3 and 5 +1/49, rows 7 and 10 +2/49; sum of squares 46/49^2.
    half = T_975_9 * math.sqrt(10 / 9 * 46 / 49**2)
    assert ie.ci_low == pytest.approx(6 / 7 - half)
    assert ie.ci_high == 1.0  # 6/7 + 0.33 clipped


def test_hand_computed_interval_with_psus_within_strata(tiny):
    found = estimates(tiny, strata="stratum", psu="psu")
    # IE's PSU totals of z (x 1/49): stratum A p1 -6, p2 1, p3 1 (mean -4/3); stratum B p4 2,
    # p5 2. Var = 3/2 x ((14/3)^2 + 2 x (7/3)^2) / 49^2 + 0 = 1/49. 5 PSUs - 2 strata = 3 df.
    variance = Fraction(3, 2) * (Fraction(14, 3) ** 2 + 2 * Fraction(7, 3) ** 2) / 49**2
    assert variance == Fraction(1, 49)
    ie = found["IE"]
    assert ie.ci_low == pytest.approx(6 / 7 - T_975_3 / 7)
    assert ie.ci_high == 1.0


def test_poverty_line_benchmark(tiny):
    found = estimates(tiny, target="line=35")
    # Below 35: rows 1-3 (4 persons), row 2 (2) receives nothing; recipients outside: rows 5,
    # 7, 10 (5 of 7).
    assert found["EE"].value == pytest.approx(2 / 4)
    assert found["IE"].value == pytest.approx(5 / 7)


def test_household_weights_and_sizes_give_the_person_figures(tmp_path):
    made = survey_synthesise(households=400, seed=5, with_population=False)
    persons = survey_write(made.sample, tmp_path / "persons")["csv"]
    homes = made.sample.filter(pl.col("person") == 1).drop("weight", "person")
    houses = survey_write(homes, tmp_path / "households")["csv"]
    by_person = survey_compute(persons, PERSON_COLUMNS, SurveyBenchmark.parse("bottom-40"))
    by_home = survey_compute(houses, SurveyColumns(
        weight="hh_weight", household_size="hh_size", welfare="welfare", benefit="benefit",
        household="hhid", strata="stratum", psu="psu"), SurveyBenchmark.parse("bottom-40"))
    assert by_home.respondents < by_person.respondents
    for mine in by_person.estimates:
        theirs = by_home.get(mine.measure)
        assert theirs.value == pytest.approx(mine.value, rel=1e-9), mine.measure
        assert theirs.ci_low == pytest.approx(mine.ci_low, rel=1e-9, abs=1e-12), mine.measure


# --- properties -------------------------------------------------------------------------

ROW = st.tuples(st.integers(0, 60), st.floats(0.1, 50.0), st.sampled_from([0.0, 0.0, 3.0, 8.5]))


def frame(rows: list[tuple[int, float, float]], weights: list[float] | None = None
          ) -> pl.DataFrame:
    return pl.DataFrame({
        "row": list(range(1, len(rows) + 1)),
        "weight": weights or [w for _, w, _ in rows],
        "welfare": [float(x) for x, _, _ in rows],
        "benefit": [b for _, _, b in rows]})


TARGETS = st.sampled_from(["q1", "bottom-40", "bottom-60", "line=20"])


@settings(max_examples=150, deadline=None)
@given(rows=st.lists(ROW, min_size=2, max_size=40), target=TARGETS)
def test_every_estimate_is_a_share_inside_its_interval(rows, target):
    result = survey_estimates(frame(rows), SurveyBenchmark.parse(target))
    for e in result.estimates:
        if e.value is None:
            continue
        assert -1e-12 <= e.value <= 1 + 1e-12, e
        assert e.ci_low is not None and e.ci_high is not None
        assert 0 <= e.ci_low <= e.value + 1e-12 and e.value - 1e-12 <= e.ci_high <= 1, e


@settings(max_examples=150, deadline=None)
@given(rows=st.lists(ROW, min_size=2, max_size=40), target=TARGETS,
       scale=st.sampled_from([0.01, 0.5, 3.0, 1000.0]))
def test_scaling_every_weight_changes_nothing(rows, target, scale):
    benchmark = SurveyBenchmark.parse(target)
    plain = survey_estimates(frame(rows), benchmark)
    scaled = survey_estimates(frame(rows, [w * scale for _, w, _ in rows]), benchmark)
    for a in plain.estimates:
        b = scaled.get(a.measure)
        for left, right in ((a.value, b.value), (a.ci_low, b.ci_low), (a.ci_high, b.ci_high)):
            assert (left is None) == (right is None), a.measure
            if left is not None:
                assert right == pytest.approx(left, rel=1e-9, abs=1e-12), a.measure


@settings(max_examples=150, deadline=None)
@given(rows=st.lists(ROW, min_size=2, max_size=40), target=TARGETS)
def test_with_equal_weights_errors_are_counts(rows, target):
    benchmark = SurveyBenchmark.parse(target)
    result = survey_estimates(frame(rows, [1.0] * len(rows)), benchmark)
    welfare = [x for x, _, _ in rows]
    n = len(rows)
    if benchmark.kind == "line":
        target_rows = [i for i, x in enumerate(welfare) if x < benchmark.value]
    else:  # fewer than P% of the respondents are strictly poorer
        target_rows = [i for i, x in enumerate(welfare)
                       if 100 * sum(1 for y in welfare if y < x) < benchmark.value * n]
    recipients = [i for i, (_, _, b) in enumerate(rows) if b > 0]
    ee, ie = result.get("EE"), result.get("IE")
    if target_rows:
        missed = sum(1 for i in target_rows if i not in recipients)
        assert ee.value == pytest.approx(missed / len(target_rows))
    if recipients:
        leaked = sum(1 for i in recipients if i not in target_rows)
        assert ie.value == pytest.approx(leaked / len(recipients))


@settings(max_examples=100, deadline=None)
@given(welfare=st.lists(st.integers(0, 10_000), min_size=5, max_size=200, unique=True))
def test_equal_weights_distinct_welfare_make_fifths(welfare):
    rows = [(x, 1.0, 0.0) for x in welfare]
    result = survey_estimates(frame(rows), SurveyBenchmark.parse("q1"))
    for k in range(1, 6):
        assert abs(result.get(f"POPULATION_Q{k}").value - 0.2) <= 1 / len(rows) + 1e-12


@settings(max_examples=100, deadline=None)
@given(rows=st.lists(ROW, min_size=2, max_size=40))
def test_incidence_shares_add_up_to_one(rows):
    rows = [*rows, (30, 1.0, 2.5)]  # at least one amount that is not 0 or 1
    result = survey_estimates(frame(rows), SurveyBenchmark.parse("q1"))
    assert sum(result.get(f"INCIDENCE_Q{k}").value for k in range(1, 6)) == pytest.approx(1)
    assert sum(result.get(f"POPULATION_Q{k}").value for k in range(1, 6)) == pytest.approx(1)


# --- formats and known truth ------------------------------------------------------------


def test_csv_stata_and_spss_give_identical_estimates(tmp_path):
    made = survey_synthesise(households=600, seed=3, with_population=False)
    paths = survey_write(made.sample, tmp_path)
    results = [survey_compute(paths[ext], PERSON_COLUMNS, SurveyBenchmark.parse("q1"))
               for ext in ("csv", "dta", "sav")]
    assert {r.respondents for r in results} == {made.sample.height}
    assert len({r.file_sha256 for r in results}) == 3
    assert results[0].estimates == results[1].estimates == results[2].estimates


def true_errors(population: pl.DataFrame, benchmark: SurveyBenchmark) -> tuple[float, float]:
    """EE and IE of the whole synthetic population, counting persons."""
    if benchmark.kind == "line":
        target = pl.col("welfare") < benchmark.value
    else:
        poorer = population.group_by("welfare").len().sort("welfare").select(
            "welfare", poorer=pl.col("len").cum_sum() - pl.col("len"))
        population = population.join(poorer, on="welfare")
        target = pl.col("poorer") * 100 < benchmark.value * population.height
    people = population.select(target=target, got=pl.col("benefit") > 0)
    ee = people.filter("target").select((~pl.col("got")).mean()).item()
    ie = people.filter("got").select((~pl.col("target")).mean()).item()
    return ee, ie


@pytest.mark.parametrize("target", ["q1", "bottom-40", "line=60"])
def test_intervals_cover_the_synthetic_populations_truth(tmp_path, target):
    # Seed 4: every truth lies within a quarter of the half-width of its interval, so the
    # test does not hang on a borderline draw (over 20 seeds, 19 of 20 cover all six).
    made = survey_synthesise(households=2_000, seed=4)
    assert made.population is not None
    benchmark = SurveyBenchmark.parse(target)
    ee_true, ie_true = true_errors(made.population, benchmark)
    path = survey_write(made.sample, tmp_path)["dta"]
    result = survey_compute(path, PERSON_COLUMNS, benchmark)
    ee, ie = result.get("EE"), result.get("IE")
    assert ee.ci_low <= ee_true <= ee.ci_high, (ee, ee_true)
    assert ie.ci_low <= ie_true <= ie.ci_high, (ie, ie_true)
    assert 0.02 < ee.ci_high - ee.ci_low < 0.2  # a real interval, not everything
    assert result.persons == pytest.approx(made.population.height, rel=0.05)


def test_synthetic_survey_is_deterministic_by_seed():
    one = survey_synthesise(households=300, seed=9, with_population=False).sample
    two = survey_synthesise(households=300, seed=9, with_population=False).sample
    assert one.equals(two)
    assert not one.equals(survey_synthesise(households=300, seed=10,
                                            with_population=False).sample)


# --- refusals ---------------------------------------------------------------------------


def refusal(path: Path, columns: SurveyColumns = PERSON_COLUMNS) -> str:
    with pytest.raises(ValidationFailed) as caught:
        survey_read(path, columns)
    return caught.value.message


def test_missing_column_is_named(tiny):
    message = refusal(tiny, SurveyColumns(weight="wgt", welfare="welfare", benefit="benefit"))
    assert "no weight column 'wgt'" in message and "its columns: welfare, weight" in message


def test_negative_weight_and_non_numbers_name_their_rows(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("weight,welfare,benefit\n1,10,0\n-2,20,0\n1,abc,0\n1,40,\n-1,50,1\n")
    message = refusal(path, SurveyColumns(weight="weight", welfare="welfare",
                                          benefit="benefit"))
    assert "column 'weight' (weight) is negative in rows 2, 5" in message
    assert "column 'welfare' (welfare) is missing or not a number in row 3" in message
    assert "column 'benefit' (benefit) is missing or not a number in row 4" in message
    assert "Nothing was stored" in message


def test_unsupported_extension_empty_and_unreadable_files(tmp_path):
    other = tmp_path / "survey.xlsx"
    other.write_bytes(b"PK")
    assert "unsupported file type '.xlsx'" in refusal(other)
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    assert "the file is empty" in refusal(empty)
    header = tmp_path / "header.csv"
    header.write_text("weight,welfare,benefit\n")
    assert "no data rows" in refusal(header)
    broken = tmp_path / "broken.dta"
    broken.write_bytes(b"this is not a Stata file at all")
    assert "cannot read it as Stata" in refusal(broken)


def test_unknown_target_is_explained():
    with pytest.raises(ValidationFailed, match="bottom-P"):
        SurveyBenchmark.parse("q3")


# --- storing, the CLI and the page -----------------------------------------------------

ERRORS = ["survey", "errors", "--weight", "weight", "--welfare", "welfare", "--benefit",
          "benefit", "--household", "hhid", "--psu", "psu", "--strata", "stratum"]


@pytest.fixture
def survey_files(tmp_path: Path) -> dict[str, Path]:
    return survey_write(survey_synthesise(households=400, seed=2, with_population=False).sample,
                        tmp_path)


@pytest.mark.django_db
def test_cli_prints_then_saves_audited(survey_files):
    path = survey_files["sav"]
    result = CliRunner().invoke(cli, [*ERRORS[:2], str(path), *ERRORS[2:], "--target",
                                      "bottom-40", "--save", "--name", "HIES", "--year", "2025"])
    assert result.exit_code == 0, result.output
    assert "benchmark bottom-40: the target group is the poorest 40% of persons" in result.output
    assert "exclusion error (EE)" in result.output and "inclusion error (IE)" in result.output
    assert "Q1 (poorest)" in result.output and "incidence" in result.output
    saved = Survey.objects.get()
    assert f"saved as survey {saved.pk}" in result.output
    assert (saved.name, saved.year, saved.benchmark, saved.file_name) == (
        "HIES", 2025, "bottom-40", "survey.sav")
    assert len(saved.file_sha256) == 64 and saved.columns["psu"] == "psu"
    ee = SurveyEstimate.objects.get(survey=saved, measure="EE")
    assert f"{100 * ee.value:.1f}%" in result.output
    assert SurveyEstimate.objects.filter(survey=saved).count() == 18
    event = AuditEvent.objects.get(action="survey.save")
    assert event.object_id == str(saved.pk) and event.detail["sha256"] == saved.file_sha256
    listed = CliRunner().invoke(cli, ["survey", "list"])
    assert listed.exit_code == 0 and f"{saved.pk}\t" in listed.output and "HIES" in listed.output


@pytest.mark.django_db
def test_cli_refusals_store_nothing(survey_files, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("weight,welfare,benefit,hhid,psu,stratum\n-1,10,0,h,1,1\n")
    for args in ([str(bad), *ERRORS[2:]], [str(survey_files["csv"]), *ERRORS[2:], "--target",
                                            "q9"], [str(tmp_path / "x.xls"), *ERRORS[2:]]):
        result = CliRunner().invoke(cli, [*ERRORS[:2], *args, "--save", "--name", "X",
                                          "--year", "2025"])
        assert result.exit_code == 1 and "Error:" in result.output, result.output
        assert "Traceback" not in result.output
    assert not Survey.objects.exists() and not AuditEvent.objects.filter(
        action="survey.save").exists()
    missing = CliRunner().invoke(cli, [*ERRORS[:2], str(survey_files["csv"]), *ERRORS[2:],
                                       "--save"])
    assert missing.exit_code == 2 and "--name and --year" in missing.output


@pytest.mark.django_db
def test_synth_command_writes_three_formats(tmp_path):
    result = CliRunner().invoke(cli, ["survey", "synth", "--output", str(tmp_path),
                                      "--households", "200", "--seed", "4"])
    assert result.exit_code == 0, result.output
    assert {p.name for p in tmp_path.iterdir()} == {"survey.csv", "survey.dta", "survey.sav"}


def save(path: Path, name: str = "HIES") -> Survey:
    result = survey_compute(path, PERSON_COLUMNS, SurveyBenchmark.parse("q1"))
    return survey_save(actor=None, result=result, name=name, year=2025)


@pytest.mark.django_db
def test_saving_needs_a_name_and_a_year(survey_files):
    result = survey_compute(survey_files["csv"], PERSON_COLUMNS, SurveyBenchmark.parse("q1"))
    with pytest.raises(ValidationFailed):
        survey_save(actor=None, result=result, name=" ", year=2025)
    with pytest.raises(ValidationFailed):
        survey_save(actor=None, result=result, name="HIES", year=25)
    assert not Survey.objects.exists()


def test_page_shows_the_latest_survey(survey_files, country, make_user):
    save(survey_files["csv"], name="Older survey")
    saved = save(survey_files["dta"], name="Household survey 2025")
    user = make_user("STATISTICIAN")
    html = logged_in(user).get("/indicators/survey/").content.decode()
    assert "Household survey 2025" in html and "Older survey" not in html
    assert "the poorest 20% of persons by per-capita welfare" in html
    found = {e.measure: e for e in saved.estimates.all()}
    for measure in ("EE", "IE"):
        e = found[measure]
        assert percent(100 * e.value) in html
        assert interval(100 * e.ci_low, 100 * e.ci_high) in html
    assert html.count("<tr data-quintile=") == 5
    assert 'id="quintile-chart"' in html and "chart-4.6.1.umd.min.js" in html
    dashboard = logged_in(user).get("/indicators/").content.decode()
    assert 'href="/indicators/survey/"' in dashboard


def test_page_without_a_survey_says_how_to_make_one(country, make_user):
    html = logged_in(make_user("STATISTICIAN")).get("/indicators/survey/").content.decode()
    assert "spmis survey errors" in html


def test_page_is_refused_without_the_coverage_permission(survey_files, country, make_user):
    save(survey_files["csv"])
    response = logged_in(make_user("SECURITY_ADMIN")).get("/indicators/survey/")
    assert response.status_code == 403
    assert "Exclusion error" not in response.content.decode()
