"""Indicators on a small constructed country whose figures are computed by hand."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spmis.geography.models import Area
from spmis.indicators.models import IndicatorValue
from spmis.indicators.services import indicators_run
from spmis.intake.models import Source
from spmis.payments.models import BenefitPayment
from spmis.registry.models import Person
from spmis.schemes.models import Scheme
from tests import factories
from tests.helpers import PERIOD, cell

pytestmark = pytest.mark.django_db


# ``small`` (tests/conftest.py): the hand-made country whose figures are computed by hand.


def values() -> pl.DataFrame:
    """The latest run's values."""
    latest = IndicatorValue.objects.order_by("-run_id").values_list("run_id", flat=True)[0]
    return pl.DataFrame(list(IndicatorValue.objects.filter(run_id=latest).values(
        "indicator", "area_code", "area_level", "sex", "age_band", "disability", "scheme",
        "numerator", "denominator", "value", "obs_status")))



def test_hand_computed_figures(small):
    run = indicators_run(actor=None, period=PERIOD)
    frame = values()
    # Covered: the boy (two records, counted once), the living pensioner, the woman with a
    # disability, the woman in C3. The dead pensioner is not. Population: 15.
    total = cell(frame, "COV_ANY")
    assert (total["numerator"], total["denominator"]) == (4, 15)
    assert total["value"] == pytest.approx(100 * 4 / 15, abs=1e-4)
    c1 = cell(frame, "COV_ANY", "C1")
    assert (c1["numerator"], c1["denominator"], c1["area_level"]) == (2, 10, 3)
    c3 = cell(frame, "COV_ANY", "C3")
    assert (c3["numerator"], c3["denominator"], c3["obs_status"]) == (1, None, "M")
    children = cell(frame, "COV_CHILDREN")
    assert (children["numerator"], children["denominator"]) == (1, 8)
    pension = cell(frame, "SOC_CONTIG_PENSION")
    assert (pension["numerator"], pension["denominator"], pension["value"]) == (1, 2, 50.0)
    # Health is not cash: the boy counts for SOC_CONTIG_TOTAL through his child grant only.
    assert cell(frame, "SOC_CONTIG_TOTAL")["numerator"] == 3
    disab = cell(frame, "SOC_CONTIG_DISAB")
    assert (disab["numerator"], disab["denominator"], disab["obs_status"]) == (1, None, "M")
    assert cell(frame, "SOC_CONTIG_DISAB", disability="SEVERE")["numerator"] == 1
    assert run.lineage["population_year"] == 2026
    # Vertical: the boy, the living pensioner and the woman each received 15.00; no poverty
    # line is loaded yet, so the ratios to it are missing, not invented.
    median = cell(frame, "VERT_MEDIAN_BENEFIT")
    assert (median["numerator"], median["value"]) == (3, 15.0)
    assert cell(frame, "VERT_MEDIAN_TO_POVERTY_LINE")["obs_status"] == "M"
    # Process: only the boy's two records were linked (2 records, 1 identity); no flags;
    # every payment on time.
    duplicates = cell(frame, "DUPLICATE_RECORD_RATE")
    assert (duplicates["numerator"], duplicates["denominator"]) == (1, 2)
    assert cell(frame, "OPEN_FLAGS")["value"] == 0
    assert cell(frame, "PAYMENTS_ON_TIME")["value"] == 100.0


def test_every_scheme_counted_on_its_own_and_each_person_once_across_them(small):
    indicators_run(actor=None, period=PERIOD)
    frame = values()
    # The boy has the child grant and (in his other record) health care; the woman in C3
    # health care.
    assert cell(frame, "COV_ANY", scheme="CHILD")["numerator"] == 1
    health = cell(frame, "COV_ANY", scheme="HEALTH")
    assert (health["numerator"], health["denominator"]) == (2, 15)
    assert cell(frame, "COV_ANY")["numerator"] == 4
    # Every scheme that passes the filter has a row in every area with a population, even
    # with nobody covered: the lowest areas must show.
    assert cell(frame, "COV_ANY", "C2", scheme="CHILD")["numerator"] == 0
    assert cell(frame, "COV_OLD_AGE", scheme="PENSION")["value"] == 50.0
    assert frame.filter(indicator="COV_OLD_AGE", scheme="CHILD").is_empty()


def test_administrative_errors_against_declared_criteria(small):
    from spmis.schemes.models import IncompatibleSchemes

    Scheme.objects.filter(code="CHILD").update(eligible_age_from=0, eligible_age_to=17,
                                               income_threshold_minor=100_000)
    Scheme.objects.filter(code="PENSION").update(eligible_age_from=65)
    Scheme.objects.filter(code="DISAB").update(eligible_age_from=18, eligible_age_to=64,
                                               eligible_disability_from=2)
    boy, _again, girl = Person.objects.filter(date_of_birth__year=2016).order_by("id")
    Person.objects.filter(pk__in=[boy.pk, girl.pk]).update(annual_income_minor=50_000)
    nsr = Source.objects.get(code="NSR")
    man = factories.person(area=boy.area, source=nsr, source_ref="MAN", given_name="C",
                           family_name="D", sex="M", born="1986-01-01", registered_on=PERIOD,
                           disability_level=0)
    kid = factories.person(area=boy.area, source=nsr, source_ref="KID", given_name="E",
                           family_name="F", sex="F", born="2018-01-01",
                           registered_on=PERIOD)  # no declared income: cannot be judged
    for who, code in ((man, "DISAB"), (kid, "CHILD")):
        factories.enrolment(who, Scheme.objects.get(code=code), source=nsr)
    indicators_run(actor=None, period=PERIOD)
    frame = values()

    def counts(code: str, scheme: str = "_T") -> tuple[int, int]:
        row = cell(frame, code, scheme=scheme)
        return row["numerator"], row["denominator"]

    # Eligible: the boy and the girl (child grant), the living pensioner, the woman with a
    # severe disability. The girl is not covered.
    assert counts("ADMIN_EXCLUSION_ERROR", "CHILD") == (1, 2)
    assert counts("ADMIN_EXCLUSION_ERROR", "PENSION") == (0, 1)
    assert counts("ADMIN_EXCLUSION_ERROR") == (1, 4)
    # Covered and judged: the man without a disability has the disability grant; the kid
    # with no declared income is in neither count.
    assert counts("ADMIN_INCLUSION_ERROR", "DISAB") == (1, 2)
    assert counts("ADMIN_INCLUSION_ERROR", "CHILD") == (0, 1)
    assert counts("ADMIN_INCLUSION_ERROR") == (1, 4)
    assert frame.filter(indicator="ADMIN_INCLUSION_ERROR", scheme="HEALTH").is_empty()
    # A scheme one may not receive with another: the boy also has health care.
    health = Scheme.objects.get(code="HEALTH")
    IncompatibleSchemes.objects.create(scheme_a=health, scheme_b=Scheme.objects.get(
        code="CHILD"), reason="test")
    indicators_run(actor=None, period=PERIOD)
    frame = values()
    assert counts("ADMIN_INCLUSION_ERROR", "CHILD") == (1, 1)
    assert counts("ADMIN_EXCLUSION_ERROR", "CHILD") == (1, 1)


def test_vertical_coverage_against_an_effective_dated_poverty_line(small):
    from spmis.indicators.models import Benchmark

    Benchmark.objects.create(code="POVERTY_LINE", name="Poverty line", amount_minor=1000,
                             currency="USD", valid_from=dt.date(2020, 1, 1),
                             valid_to=dt.date(2025, 12, 31))
    Benchmark.objects.create(code="POVERTY_LINE", name="Poverty line", amount_minor=2000,
                             currency="USD", valid_from=dt.date(2026, 1, 1))
    indicators_run(actor=None, period=PERIOD)
    frame = values()
    above = cell(frame, "VERT_ABOVE_POVERTY_LINE")
    assert (above["numerator"], above["denominator"], above["value"]) == (0, 3, 0.0)
    assert cell(frame, "VERT_MEDIAN_TO_POVERTY_LINE")["value"] == 75.0
    assert cell(frame, "VERT_MEDIAN_BENEFIT", sex="F")["numerator"] == 1


def test_benefit_levels_in_the_payments_currency_minor_unit(small):
    """Chilean pesos have no minor unit: 1500 paid is 1,500 pesos, not 15.00."""
    BenefitPayment.objects.update(currency="CLP")
    indicators_run(actor=None, period=PERIOD)
    assert cell(values(), "VERT_MEDIAN_BENEFIT")["value"] == 1500.0
    BenefitPayment.objects.update(currency="USD")
    indicators_run(actor=None, period=PERIOD)
    assert cell(values(), "VERT_MEDIAN_BENEFIT")["value"] == 15.0


def test_totals_are_the_sums_of_their_disjoint_parts(small):
    indicators_run(actor=None, period=PERIOD)
    frame = values()
    from spmis.indicators.catalogue import catalogue

    counts = [i.code for i in catalogue() if i.statistic is None and i.process is None]
    # Counts of persons add up across sexes, ages, disability and areas (not across schemes:
    # one person may have two).
    frame = frame.filter(pl.col("indicator").is_in(counts), scheme="_T")
    national = frame.filter(area_code="XY")
    for dim, parts in (("sex", ["M", "F"]), ("age_band", ["0-17", "18-64", "65+"]),
                       ("disability", ["SEVERE", "NOT_SEVERE"])):
        others = [d for d in ("sex", "age_band", "disability") if d != dim]
        totals = national.filter(pl.col(dim) == "_T", *[pl.col(o) == "_T" for o in others])
        sums = (national.filter(pl.col(dim).is_in(parts), *[pl.col(o) == "_T" for o in others])
                .group_by("indicator").agg(pl.col("numerator").sum()))
        joined = totals.join(sums, on="indicator", how="left", suffix="_parts")
        assert (joined["numerator"] == joined["numerator_parts"].fill_null(0)).all(), dim
    # Every commune's numerators add up to the national one.
    communes = frame.filter(area_level=3, sex="_T", age_band="_T", disability="_T").group_by(
        "indicator").agg(pl.col("numerator").sum())
    joined = national.filter(sex="_T", age_band="_T", disability="_T").join(
        communes, on="indicator", suffix="_communes")
    assert (joined["numerator"] == joined["numerator_communes"]).all()
    # A rate never exceeds 100% where the population table covers the cell.
    assert (frame.filter(pl.col("value").is_not_null())["value"] <= 100).all()


def test_cli_run_exports_and_a_recomputation_from_the_deidentified_registry(small, tmp_path):
    from click.testing import CliRunner

    from spmis.cli.main import cli

    runner = CliRunner()
    done = runner.invoke(cli, ["indicators", "run", "--period", "2026-06"])
    assert done.exit_code == 0, done.output
    run_id = next(line for line in done.stdout.splitlines() if line.isdigit())
    sdmx = runner.invoke(cli, ["indicators", "export", "--run", run_id, "--format", "sdmx-csv"])
    assert sdmx.exit_code == 0
    header = sdmx.stdout.splitlines()[0].split(",")
    assert header[0] == "DATAFLOW" and "OBS_VALUE" in header and "UNIT_MEASURE" in header
    published = pl.read_csv(sdmx.stdout.encode(), infer_schema=False)
    national = published.filter(INDICATOR="COV_ANY", REF_AREA="XY", SEX="_T", AGE="_T",
                                DISABILITY_STATUS="_T", SCHEME="_T")
    assert national["NUMERATOR"].to_list() == ["4"]
    assert "NaN" in published.filter(INDICATOR="SOC_CONTIG_DISAB")["OBS_VALUE"].to_list()
    out = runner.invoke(cli, ["registry", "export", "--format", "parquet", "--output",
                              str(tmp_path), "--period", "2026-06"])
    assert out.exit_code == 0, out.output
    persons = pl.read_parquet(tmp_path / "persons.parquet")
    assert not {"given_name", "national_id", "date_of_birth"} & set(persons.columns)
    # Recompute COV_ANY independently: living identities with an enrolment in force or a
    # payment for the period, counted once (by their reference record), over the population.
    enrolled = pl.read_parquet(tmp_path / "enrolments.parquet").filter(
        "in_force_at_period_end")["person_id"]
    paid = pl.read_parquet(tmp_path / "payments.parquet").filter("for_period")["person_id"]
    covered = persons.filter(pl.col("person_id").is_in(pl.concat([enrolled, paid]).implode()))
    anchors = persons.filter("reference_record", "alive_at_period_end")
    numerator = anchors.filter(pl.col("identity").is_in(covered["identity"].implode())).height
    population = pl.read_parquet(tmp_path / "population.parquet")["population"].sum()
    assert (numerator, population) == (4, 15)
    # And one scheme's figure: identities covered by health care, from the exported schemes.
    health = pl.read_parquet(tmp_path / "schemes.parquet").filter(code="HEALTH")["scheme_id"]
    by_health = pl.read_parquet(tmp_path / "enrolments.parquet").filter(
        pl.col("scheme_id").is_in(health.implode()))["person_id"]
    identities = persons.filter(pl.col("person_id").is_in(by_health.implode()))["identity"]
    recomputed = anchors.filter(pl.col("identity").is_in(identities.implode())).height
    published_health = published.filter(INDICATOR="COV_ANY", REF_AREA="XY", SEX="_T", AGE="_T",
                                        DISABILITY_STATUS="_T", SCHEME="HEALTH")
    assert published_health["NUMERATOR"].to_list() == [str(recomputed)] == ["2"]
    assert runner.invoke(cli, ["indicators", "export", "--run", "999"]).exit_code == 1


def test_targets_and_catalogue_through_the_cli(small):
    from click.testing import CliRunner

    from spmis.audit.models import AuditEvent
    from spmis.cli.main import cli
    from spmis.indicators.selectors import series, targets_for

    runner = CliRunner()
    listed = runner.invoke(cli, ["indicators", "list"])
    assert "SOC_CONTIG_DISAB\tPERCENT" in listed.output and "no denominator" in listed.output
    done = runner.invoke(cli, ["indicators", "target", "COV_ANY", "--area", "XY", "--year",
                               "2030", "--value", "60", "--source", "National SP strategy"])
    assert done.exit_code == 0, done.output
    assert [t.value for t in targets_for(indicator="COV_ANY", area_code="XY")] == [60.0]
    assert AuditEvent.objects.filter(action="indicators.target_set").exists()
    bad = runner.invoke(cli, ["indicators", "target", "NOPE", "--area", "XY", "--year", "2030",
                              "--value", "1"])
    assert bad.exit_code != 0 and "NOPE" in bad.output
    indicators_run(actor=None, period=PERIOD)
    indicators_run(actor=None, period=dt.date(2026, 5, 1))
    points = series(indicator="COV_ANY", area_code="XY")
    assert [p.period for p in points] == ["2026-05", "2026-06"]


def test_a_catalogue_with_bad_codes_or_filters_is_refused_with_every_problem_named():
    from spmis.indicators.catalogue import CatalogueError, load

    text = """
- {code: "X'; DROP", name: n, population: {ages: [0, null]}, unit: PERCENT,
   reference: point_in_time}
- {code: OK, name: n, population: {ages: [0, null]}, benefits: {colour: red},
   unit: PERCENT, reference: point_in_time}
"""
    with pytest.raises(CatalogueError) as refused:
        load(text)
    assert "capital letters" in str(refused.value) and "colour" in str(refused.value)


def write_snapshot(snap, recipients, schemes: int):
    """A snapshot of persons in areas A, B, C (0, 1, 2) of country XY, each paid one amount
    by one scheme (1..schemes) for PERIOD: (area, sex, scheme, amount) per person."""
    areas = pl.DataFrame({"area_id": [1, 2, 3, 4], "code": ["XY", "A", "B", "C"],
                          "level": [0, 1, 1, 1], "path": ["XY/", "XY/A/", "XY/B/", "XY/C/"]})
    n = len(recipients)
    persons = pl.DataFrame({
        "person_id": range(1, n + 1), "identity": range(1, n + 1),
        "sex": [sex for _, sex, _, _ in recipients],
        "date_of_birth": [dt.date(1980, 1, 1)] * n, "date_of_death": [None] * n,
        "disability_level": [0] * n, "annual_income_minor": [None] * n,
        "area_id": [2 + area for area, _, _, _ in recipients]},
        schema_overrides={"date_of_death": pl.Date, "annual_income_minor": pl.Int64})
    payments = pl.DataFrame({"person_id": range(1, n + 1), "identity": range(1, n + 1),
                             "scheme_id": [scheme for _, _, scheme, _ in recipients],
                             "period": [PERIOD] * n,
                             "amount_minor": [amount for _, _, _, amount in recipients]})
    catalogue = pl.DataFrame({
        "scheme_id": range(1, schemes + 1), "code": [f"S{i}" for i in range(1, schemes + 1)],
        "guarantee": ["OLD_AGE"] * schemes, "function": ["OLD_AGE"] * schemes,
        "cash": [True] * schemes, "contributory": [False] * schemes,
        "eligible_age_from": [None] * schemes, "eligible_age_to": [None] * schemes,
        "eligible_sex": [""] * schemes, "eligible_disability_from": [None] * schemes,
        "income_threshold_minor": [None] * schemes},
        schema_overrides={c: pl.Int64 for c in (
            "eligible_age_from", "eligible_age_to", "eligible_disability_from",
            "income_threshold_minor")})
    tables = {"persons": persons, "payments": payments, "schemes": catalogue, "areas": areas,
              "enrolments": pl.DataFrame(schema={
                  "person_id": pl.Int64, "identity": pl.Int64, "scheme_id": pl.Int64,
                  "status": pl.String, "start_date": pl.Date, "end_date": pl.Date}),
              "incompatible": pl.DataFrame(schema={"scheme_a": pl.Int64,
                                                   "scheme_b": pl.Int64}),
              "population": pl.DataFrame(schema={"area_id": pl.Int64, "sex": pl.String,
                                                 "age": pl.Int64, "population": pl.Int64}),
              "benchmarks": pl.DataFrame({"code": ["POVERTY_LINE"], "amount_minor": [2000]})}
    for name, frame in tables.items():
        frame.write_parquet(snap / f"{name}.parquet")
    return persons, payments, areas


def test_more_schemes_than_64_bits_hold(tmp_path):
    """Past 63 schemes a person's set of schemes needs 128 bits; beyond 127 the engine says
    so rather than miscount."""
    from spmis.indicators import engine
    from spmis.indicators.catalogue import catalogue

    cov_any = [i for i in catalogue() if i.code == "COV_ANY"]
    # Person k is paid by scheme k; the last two by scheme 100, in area B.
    recipients = [(0, "F", k, 100) for k in range(1, 98)] + [(1, "M", 100, 100)] * 2
    write_snapshot(tmp_path, recipients, schemes=100)
    frame = engine.compute(tmp_path, PERIOD, cov_any)
    assert cell(frame, "COV_ANY")["numerator"] == 99
    assert cell(frame, "COV_ANY", scheme="S100")["numerator"] == 2
    assert cell(frame, "COV_ANY", "B", scheme="S100")["numerator"] == 2
    assert cell(frame, "COV_ANY", "A", scheme="S64")["numerator"] == 1
    write_snapshot(tmp_path, recipients, schemes=128)
    with pytest.raises(ValueError, match="up to 127 schemes"):
        engine.compute(tmp_path, PERIOD, cov_any)


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 2), st.sampled_from("MF"),
                          st.sampled_from([500, 1500, 1500, 2000, 4000, 12000])),
                min_size=1, max_size=40))
def test_medians_from_counts_equal_medians_of_the_rows(tmp_path_factory, recipients):
    """Vertical statistics are computed from counts per amount; they must equal quantile_cont
    and avg over the per-person rows, in every area and for each sex."""
    import duckdb

    from spmis.indicators import engine
    from spmis.indicators.catalogue import catalogue

    snap = tmp_path_factory.mktemp("snap")
    persons, payments, areas = write_snapshot(
        snap, [(area, sex, 1, amount) for area, sex, amount in recipients], schemes=1)
    vertical = [i for i in catalogue() if i.statistic]
    got = engine.compute(snap, PERIOD, vertical)
    con = duckdb.connect()
    con.register("rows", persons.join(payments, on="person_id").join(
        areas, on="area_id").select("code", "sex", "amount_minor").to_arrow())
    expected = con.sql("""
        SELECT area, sex, quantile_cont(amount_minor, 0.5) / 100.0 AS median,
               avg(amount_minor) / 100.0 AS mean,
               100.0 * count(*) FILTER (WHERE amount_minor >= 2000) / count(*) AS above
        FROM (SELECT code AS area, sex, amount_minor FROM rows
              UNION ALL SELECT 'XY', sex, amount_minor FROM rows)
        GROUP BY GROUPING SETS ((area), (area, sex))""").pl()
    for area, sex, median, mean, above in expected.iter_rows():
        sex = sex or "_T"
        assert cell(got, "VERT_MEDIAN_BENEFIT", area, sex)["value"] == pytest.approx(median)
        assert cell(got, "VERT_MEAN_BENEFIT", area, sex)["value"] == pytest.approx(mean,
                                                                                  abs=1e-4)
        assert cell(got, "VERT_ABOVE_POVERTY_LINE", area, sex)["value"] == pytest.approx(
            above, abs=1e-4)


def test_benchmarks_are_set_through_the_service_and_audited(db):
    from click.testing import CliRunner

    from spmis.audit.models import AuditEvent
    from spmis.cli.main import cli
    from spmis.indicators.models import Benchmark

    runner = CliRunner()
    done = runner.invoke(cli, ["indicators", "benchmark", "poverty_line", "--amount", "1,000",
                               "--currency", "CLP", "--from", "2026-01-01",
                               "--name", "Línea de pobreza"])
    assert done.exit_code == 0, done.output
    assert "1,000 CLP" in done.output
    again = runner.invoke(cli, ["indicators", "benchmark", "POVERTY_LINE", "--amount", "1200",
                                "--currency", "CLP", "--from", "2026-01-01"])
    assert again.exit_code == 0, again.output
    line = Benchmark.objects.get(code="POVERTY_LINE")  # the same start changes it
    assert (line.amount_minor, line.currency, line.name) == (1200, "CLP", "Línea de pobreza")
    assert AuditEvent.objects.filter(action="benchmark.set").count() == 2
    for bad in (["--amount", "10.5", "--currency", "JPY"],       # yen have no minor unit
                ["--amount", "ten", "--currency", "USD"],
                ["--amount", "5", "--currency", "US"],
                ["--amount", "-5", "--currency", "USD"]):
        refused = runner.invoke(cli, ["indicators", "benchmark", "X", *bad, "--from",
                                      "2026-01-01"])
        assert refused.exit_code != 0 and "Traceback" not in refused.output, bad
    assert Benchmark.objects.count() == 1


def test_age_bands_and_guarantee_ages_come_from_the_national_parameters(small, tmp_path,
                                                                        settings):
    """A country whose children are under 10 and whose bands are 0-29, 30-69, 70+."""
    path = tmp_path / "parameters.yaml"
    path.write_text("""
- valid_from: 2000-01-01
  age_groups: {CHILDREN: [0, 9], WORKING_AGE: [10, 69], OLD_AGE: [70, null]}
  age_bands:
    - {label: "0-29", ages: [0, 29], sdmx: Y0T29}
    - {label: "30-69", ages: [30, 69], sdmx: Y30T69}
    - {label: "70+", ages: [70, null], sdmx: Y_GE70}
""")
    settings.SPMIS_PARAMETERS_FILE = str(path)
    run = indicators_run(actor=None, period=PERIOD)
    frame = values()
    assert set(frame["age_band"].unique()) <= {"_T", "0-29", "30-69", "70+"}
    young = cell(frame, "COV_ANY", age_band="0-29")  # the boy, of 8 aged 10
    assert (young["numerator"], young["denominator"]) == (1, 8)
    old = cell(frame, "COV_ANY", age_band="70+")  # the living pensioner, of 2 aged 70
    assert (old["numerator"], old["denominator"]) == (1, 2)
    # The boy is 10: no child here, and no population under 10: the series is still
    # published, as missing (no denominator), not left out.
    children = cell(frame, "COV_CHILDREN")
    assert (children["numerator"], children["denominator"], children["obs_status"]) == (
        0, None, "M")
    assert run.lineage["parameters"]["age_bands"] == ["0-29", "30-69", "70+"]
    from spmis.indicators.export import export

    sdmx = pl.read_csv(export(run, "sdmx-csv").encode(), infer_schema=False)
    assert {"Y0T29", "Y30T69", "Y_GE70", "_T"} >= set(sdmx["AGE"].unique())
    public = pl.read_csv(export(run, "sdmx-csv", min_count=3).encode(), infer_schema=False)
    assert set(public["CONF_STATUS"].unique()) >= {"C"}  # small cells hidden with these bands


def test_a_population_band_across_an_age_edge_gives_no_denominator_not_a_guess(small):
    """Population counted 15-19 in one commune: children (0-17) and the 0-17 and 18-64 bands
    there and above have no honest denominator; everything else keeps its own."""
    c2 = Area.objects.get(code="C2")
    factories.population(c2, year=2026, sex="M", age_from=15, age_to=19, population=7)
    factories.population(c2, year=2026, sex="F", age_from=90, age_to=None,
                         population=1)  # 90+: inside 65+
    indicators_run(actor=None, period=PERIOD)
    frame = values()
    for area_code in ("C2", "D1", "XY"):
        children = cell(frame, "COV_CHILDREN", area_code) if area_code != "C2" else None
        if children is not None:
            assert (children["denominator"], children["obs_status"]) == (None, "M")
        young = frame.filter(indicator="COV_ANY", area_code=area_code, sex="_T",
                             age_band="0-17", disability="_T", scheme="_T")
        assert young.height == 0 or young["denominator"][0] is None
    # Not straddled: C1 knows its children, everyone counts everyone, the old are 65+.
    assert cell(frame, "COV_CHILDREN", "C1")["denominator"] == 8
    assert cell(frame, "COV_ANY")["denominator"] == 15 + 7 + 1
    assert cell(frame, "COV_OLD_AGE")["denominator"] == 2 + 1
