"""Every published figure by its definition: each defect of the first recomputation from the
export reproduced by hand on a tiny country, and the engine checked against an independent
recomputation (DuckDB SQL over the de-identified export) on random small countries."""

from __future__ import annotations

import datetime as dt

import duckdb
import polars as pl
import pytest

from spmis.core.periods import add_months
from spmis.geography.models import Area
from spmis.indicators.models import IndicatorRun, IndicatorValue
from spmis.indicators.services import indicators_run
from spmis.indicators.snapshot import export_deidentified
from spmis.intake.models import Source
from spmis.linkage.models import PersonIdentity
from spmis.registry.models import Person
from tests import factories
from tests.helpers import PERIOD

pytestmark = pytest.mark.django_db

SDG_SERIES = ("SOC_CONTIG_TOTAL", "SOC_CONTIG_CHILD", "SOC_CONTIG_MAT", "SOC_CONTIG_DISAB",
              "SOC_CONTIG_UNE", "SOC_CONTIG_INJ", "SOC_CONTIG_PENSION", "SOC_CONTIG_VULN",
              "SOC_CONTIG_POOR")


def values(run: IndicatorRun) -> pl.DataFrame:
    return pl.DataFrame(list(IndicatorValue.objects.filter(run=run).values(
        "indicator", "area_code", "area_level", "sex", "age_band", "disability", "scheme",
        "numerator", "denominator", "value", "obs_status", "note")))


def cell(frame: pl.DataFrame, indicator: str, area_code: str = "XY", sex: str = "_T",
         age_band: str = "_T", disability: str = "_T", scheme: str = "_T") -> dict:
    rows = frame.filter(indicator=indicator, area_code=area_code, sex=sex, age_band=age_band,
                        disability=disability, scheme=scheme)
    assert rows.height == 1, (indicator, area_code, sex, age_band, disability, scheme, rows)
    return rows.row(0, named=True)


def counts(frame: pl.DataFrame, indicator: str, **where: str) -> tuple[int | None, int | None]:
    found = cell(frame, indicator, **where)
    return found["numerator"], found["denominator"]


@pytest.fixture
def tiny(db: None) -> Source:
    """XY > C1, C2; population 2026 in single years: in C1 5 girls aged 10, 5 men aged 40,
    5 women aged 70; in C2 5 women aged 40. Returns the source every record comes from."""
    factories.area_levels(("Country", "Commune"))
    country = factories.area("XY")
    c1, c2 = factories.area("C1", parent=country), factories.area("C2", parent=country)
    for commune, sex, age in ((c1, "F", 10), (c1, "M", 40), (c1, "F", 70), (c2, "F", 40)):
        factories.population(commune, year=2026, sex=sex, age_from=age, age_to=age,
                             population=5)
    return factories.source("NSR")


def person(source: Source, sex: str, born: str, commune: str = "C1", **fields) -> Person:
    return factories.person(area=Area.objects.get(code=commune), source=source, sex=sex,
                            born=born, disability_level=fields.pop("disability_level", 0),
                            **fields)


def run_for(period: dt.date) -> pl.DataFrame:
    return values(indicators_run(actor=None, period=period))


# --- 1. In force means in force ------------------------------------------------------------


def test_an_exited_enrolment_counts_until_its_exit_and_never_after(tiny):
    child = factories.scheme("CHILD", guarantee="CHILDREN", function="FAMILY_CHILD")
    exit_file = factories.submission(tiny, period=PERIOD)  # the exit was reported for June

    def girl(**enrolment) -> None:
        factories.enrolment(person(tiny, "F", "2016-01-01"), child, source=tiny, **enrolment)

    girl(status="EXITED", changed_by_submission=exit_file)  # no end date: ends in June
    girl(status="EXITED")  # no end date and no lineage: never in force
    girl(status="EXITED", end_date=dt.date(2026, 5, 15))
    girl(status="ACTIVE")
    run = indicators_run(actor=None, period=PERIOD)
    assert counts(values(run), "COV_CHILDREN") == (1, 5)  # only the active one
    # The registry's own check on exits, kept with the run.
    assert run.lineage["snapshot_rows"]["exits_ended_by_submission"] == 1
    assert run.lineage["snapshot_rows"]["exits_without_end_or_lineage"] == 1
    assert counts(run_for(add_months(PERIOD, -1)), "COV_CHILDREN") == (2, 5)  # May
    assert counts(run_for(add_months(PERIOD, -2)), "COV_CHILDREN") == (3, 5)  # April


def test_the_export_says_in_force_as_the_engine_counts(tiny, tmp_path):
    child = factories.scheme("CHILD", guarantee="CHILDREN", function="FAMILY_CHILD")
    for status in ("EXITED", "ACTIVE", "SUSPENDED"):
        factories.enrolment(person(tiny, "F", "2016-01-01"), child, source=tiny, status=status)
    export_deidentified(tmp_path, PERIOD, "parquet")
    enrolments = pl.read_parquet(tmp_path / "enrolments.parquet")
    assert enrolments.filter("in_force_at_period_end")["status"].to_list() == ["ACTIVE"]
    assert sorted(enrolments["end_date_source"].drop_nulls().to_list()) == ["MISSING"]


# --- 2. Receiving, not enrolled --------------------------------------------------------------


def test_a_person_enrolled_but_unpaid_is_covered_but_not_receiving(tiny):
    works = factories.scheme("WORKS", guarantee="WORKING_AGE", function="UNEMPLOYMENT",
                             periodicity="SEASONAL", social_assistance=True)
    factories.enrolment(person(tiny, "M", "1986-01-01"), works, source=tiny)  # not paid
    frame = run_for(PERIOD)
    assert counts(frame, "COV_WORKING_AGE") == (1, 10)
    assert counts(frame, "SOC_CONTIG_TOTAL") == (0, 20)
    assert counts(frame, "SOC_CONTIG_UNE")[0] == 0


def test_a_quarterly_payment_covers_the_months_of_its_cycle(tiny):
    grant = factories.scheme("QUARTERLY", guarantee="CHILDREN", function="FAMILY_CHILD",
                             periodicity="QUARTERLY")
    girl = person(tiny, "F", "2016-01-01")
    factories.enrolment(girl, grant, source=tiny, paid=dt.date(2026, 4, 1))  # April-June
    assert counts(run_for(PERIOD), "SOC_CONTIG_CHILD") == (1, 5)
    assert counts(run_for(add_months(PERIOD, 1)), "SOC_CONTIG_CHILD")[0] == 0  # July


# --- 3. The two missing series ---------------------------------------------------------------


def test_a_vulnerable_group_person_by_hand(tiny):
    """VULN = vulnerable persons paid social assistance / vulnerable persons, where the
    denominator is the population less those the registry knows are not vulnerable."""
    child = factories.scheme("CHILD", guarantee="CHILDREN", function="FAMILY_CHILD",
                             social_assistance=True)
    social = factories.scheme("SOCPEN", guarantee="OLD_AGE", social_assistance=True)
    pension = factories.scheme("CPEN", guarantee="OLD_AGE", contributory=True)
    insurance = factories.scheme("NHI", guarantee="HEALTH", cash=False, contributory=True)
    factories.enrolment(person(tiny, "F", "2016-01-01"), child, source=tiny, paid=PERIOD)
    factories.enrolment(person(tiny, "M", "1986-01-01"), insurance, source=tiny)  # protected
    person(tiny, "M", "1986-01-01")  # vulnerable, receives nothing
    both = person(tiny, "F", "1956-01-01")  # a contributory pension: not vulnerable
    factories.enrolment(both, pension, source=tiny, paid=PERIOD)
    factories.enrolment(both, social, source=tiny, paid=PERIOD)
    factories.enrolment(person(tiny, "F", "1956-01-01"), social, source=tiny, paid=PERIOD)
    factories.enrolment(person(tiny, "F", "1956-01-01"), pension, source=tiny)  # not paid
    frame = run_for(PERIOD)
    # Vulnerable and paid social assistance: the girl and the woman with the social pension
    # only. Not vulnerable: the insured man, the woman with a contributory pension.
    assert counts(frame, "SOC_CONTIG_VULN") == (2, 20 - 2)
    assert counts(frame, "SOC_CONTIG_VULN", sex="F") == (2, 15 - 1)
    assert counts(frame, "SOC_CONTIG_VULN", sex="M") == (0, 5 - 1)
    assert counts(frame, "SOC_CONTIG_VULN", area_code="C1") == (2, 15 - 2)
    # The poor series counts every social assistance recipient (no poverty line here).
    assert counts(frame, "SOC_CONTIG_POOR")[0] == 3


def test_employment_injury_cover_is_published_missing_until_a_labour_force_is_loaded(tiny):
    injury = factories.scheme("INJURY", guarantee="WORKING_AGE", function="EMPLOYMENT_INJURY",
                              contributory=True, covers_employment_injury=True)
    factories.enrolment(person(tiny, "M", "1986-01-01"), injury, source=tiny)
    found = cell(run_for(PERIOD), "SOC_CONTIG_INJ")
    assert (found["numerator"], found["denominator"], found["obs_status"]) == (1, None, "M")
    assert "employed persons" in found["note"]


def test_all_nine_sdg_series_are_published_each_missing_one_saying_why(tiny):
    frame = run_for(PERIOD)  # no scheme at all
    for code in SDG_SERIES:
        found = cell(frame, code)
        assert found["numerator"] == 0, code
        assert (found["obs_status"] == "M") == (found["denominator"] is None), code
        assert (found["note"] != "") == (found["obs_status"] == "M"), code
    assert cell(frame, "SOC_CONTIG_TOTAL")["obs_status"] == "A"


# --- 4. Identity -----------------------------------------------------------------------------


def test_a_death_on_a_second_record_removes_the_person(tiny):
    scheme = factories.scheme("CHILD", guarantee="CHILDREN", function="FAMILY_CHILD")
    first = person(tiny, "F", "2016-01-01")
    second = person(tiny, "F", "2016-01-01", died="2026-03-01")
    for record in (first, second):
        PersonIdentity.objects.create(person=record, identity=first.pk)
    factories.enrolment(first, scheme, source=tiny, paid=PERIOD)
    frame = run_for(PERIOD)
    assert counts(frame, "COV_CHILDREN") == (0, 5)
    assert counts(frame, "SOC_CONTIG_TOTAL")[0] == 0


def test_demographics_come_from_the_most_complete_then_most_recent_record(tiny):
    scheme = factories.scheme("ANY", guarantee="WORKING_AGE", function="UNEMPLOYMENT")
    old = person(tiny, "M", "1986-01-01", "C1", registered_on="2020-01-01")
    new = person(tiny, "F", "1986-01-01", "C2", registered_on="2026-01-01")
    sparse = person(tiny, "M", "1986-01-01", "C1", registered_on="2026-05-01",
                    disability_level=None)  # the newest, but missing its disability level
    for record in (old, new, sparse):
        PersonIdentity.objects.create(person=record, identity=old.pk)
    factories.enrolment(old, scheme, source=tiny)
    frame = run_for(PERIOD)
    assert counts(frame, "COV_ANY", area_code="C2", sex="F") == (1, 5)
    assert counts(frame, "COV_ANY", area_code="C1")[0] == 0


# --- 5. The export ---------------------------------------------------------------------------


def _small_registry(source: Source) -> None:
    child = factories.scheme("CHILD", guarantee="CHILDREN", function="FAMILY_CHILD",
                             social_assistance=True)
    works = factories.scheme("WORKS", guarantee="WORKING_AGE", function="UNEMPLOYMENT")
    girl, again = person(source, "F", "2016-01-01"), person(source, "F", "2016-01-01")
    for record in (girl, again):
        PersonIdentity.objects.create(person=record, identity=girl.pk)
    factories.enrolment(again, child, source=source, paid=PERIOD)
    factories.enrolment(person(source, "M", "1986-01-01"), works, source=source)
    factories.enrolment(person(source, "F", "1986-01-01", "C2"), works, source=source,
                        paid=PERIOD)
    factories.enrolment(person(source, "F", "1956-01-01", died="2026-01-01"), works,
                        source=source, paid=PERIOD)


def test_the_exports_keys_join_every_file_and_are_new_each_time(tiny, tmp_path):
    _small_registry(tiny)
    export_deidentified(tmp_path / "a", PERIOD, "parquet")
    export_deidentified(tmp_path / "b", PERIOD, "parquet")
    a = {name: pl.read_parquet(tmp_path / "a" / f"{name}.parquet")
         for name in ("persons", "enrolments", "payments")}
    persons = a["persons"].select("person_id", "identity")
    assert persons["person_id"].n_unique() == persons.height == Person.objects.count()
    for name in ("enrolments", "payments"):
        joined = a[name].join(persons, on="person_id", how="left", suffix="_person")
        assert joined["identity_person"].null_count() == 0, name
        assert (joined["identity"] == joined["identity_person"]).all(), name
    # The girl's two records share one identity; her payment is on the second record.
    assert persons["identity"].n_unique() == persons.height - 1
    b = pl.read_parquet(tmp_path / "b" / "persons.parquet")
    assert not set(b["person_id"]) & set(a["persons"]["person_id"])
    assert not set(b["identity"]) & set(a["persons"]["identity"])
    assert a["persons"]["person_id"].str.len_chars().unique().to_list() == [64]
    assert a["persons"]["reference_record"].sum() == persons["identity"].n_unique()


def test_three_indicators_recomputed_by_joining_every_file_of_the_export(tiny, tmp_path):
    _small_registry(tiny)
    frame = run_for(PERIOD)
    export_deidentified(tmp_path, PERIOD, "csv")
    con = duckdb.connect()
    for name in ("persons", "enrolments", "payments", "population", "schemes"):
        con.execute(f"CREATE VIEW {name} AS SELECT * FROM read_csv_auto("
                    f"'{tmp_path / name}.csv')")
    # Living identities, once each, with their reference record's sex and age.
    people = """SELECT identity, sex, age_at_period_end AS age FROM persons
                WHERE reference_record AND alive_at_period_end AND born_by_period_end"""

    def one(sql: str) -> int:
        return int(con.execute(sql).fetchone()[0])

    cov_any = one(f"""SELECT count(*) FROM ({people}) p WHERE identity IN (
        SELECT identity FROM enrolments WHERE in_force_at_period_end
        UNION SELECT identity FROM payments WHERE for_period)""")
    receiving = one(f"""SELECT count(*) FROM ({people}) p WHERE identity IN (
        SELECT b.identity FROM payments b JOIN schemes s USING (scheme_id)
        WHERE b.receiving_in_period AND s.cash)""")
    children = one(f"""SELECT count(*) FROM ({people}) p WHERE age <= 17 AND identity IN (
        SELECT b.identity FROM payments b JOIN schemes s USING (scheme_id)
        WHERE b.receiving_in_period AND s.cash AND s.function = 'FAMILY_CHILD')""")
    population = one("SELECT sum(population) FROM population")
    assert counts(frame, "COV_ANY") == (cov_any, population) == (3, 20)
    assert counts(frame, "SOC_CONTIG_TOTAL") == (receiving, population) == (2, 20)
    assert counts(frame, "SOC_CONTIG_CHILD") == (children, 5) == (1, 5)


# --- 6. Missing means missing ----------------------------------------------------------------


def test_no_benchmark_means_no_numerator_and_a_reason(tiny):
    scheme = factories.scheme("CHILD", guarantee="CHILDREN", function="FAMILY_CHILD")
    factories.enrolment(person(tiny, "F", "2016-01-01"), scheme, source=tiny, paid=PERIOD)
    frame = run_for(PERIOD)
    for code in ("VERT_ABOVE_POVERTY_LINE", "VERT_MEDIAN_TO_POVERTY_LINE"):
        found = cell(frame, code)
        assert (found["numerator"], found["value"], found["obs_status"]) == (None, None, "M")
        assert "POVERTY_LINE" in found["note"]
    assert cell(frame, "VERT_MEDIAN_BENEFIT")["note"] == ""
    by_disability = cell(frame, "COV_ANY", disability="NOT_SEVERE")
    assert by_disability["denominator"] is None and "disability" in by_disability["note"]
    assert cell(frame, "SOC_CONTIG_DISAB")["note"].startswith("Needs the number")
