"""Every published figure by its definition: each defect of the first recomputation from the
export reproduced by hand on a tiny country, and the engine checked against an independent
recomputation (DuckDB SQL over the de-identified export) on random small countries."""

from __future__ import annotations

import datetime as dt
import itertools

import duckdb
import polars as pl
import pytest
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st

from spmis.core.periods import add_months
from spmis.geography.models import Area
from spmis.indicators.models import IndicatorRun, IndicatorValue
from spmis.indicators.services import indicators_run
from spmis.indicators.snapshot import export_deidentified
from spmis.intake.models import Source
from spmis.linkage.models import PersonIdentity
from spmis.registry.models import Person
from tests import factories
from tests.helpers import PERIOD, cell

pytestmark = pytest.mark.django_db

SDG_SERIES = ("SOC_CONTIG_TOTAL", "SOC_CONTIG_CHILD", "SOC_CONTIG_MAT", "SOC_CONTIG_DISAB",
              "SOC_CONTIG_UNE", "SOC_CONTIG_INJ", "SOC_CONTIG_PENSION", "SOC_CONTIG_VULN",
              "SOC_CONTIG_POOR")


def values(run: IndicatorRun) -> pl.DataFrame:
    return pl.DataFrame(list(IndicatorValue.objects.filter(run=run).values(
        "indicator", "area_code", "area_level", "sex", "age_band", "disability", "scheme",
        "numerator", "denominator", "value", "obs_status", "note")))



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


# --- Every indicator x disaggregation, recomputed independently from the export ------------

SCHEMES = (  # code, guarantee, function, cash, contributory, flags and criteria
    ("CHILD", "CHILDREN", "FAMILY_CHILD", True, False,
     {"social_assistance": True, "eligible_age_to": 17, "income_threshold_minor": 5000}),
    ("SOCPEN", "OLD_AGE", "OLD_AGE", True, False,
     {"social_assistance": True, "eligible_age_from": 65}),
    ("CPEN", "OLD_AGE", "OLD_AGE", True, True, {"periodicity": "QUARTERLY"}),
    ("DISAB", "WORKING_AGE", "DISABILITY", True, False,
     {"social_assistance": True, "eligible_disability_from": 2}),
    ("WORKS", "WORKING_AGE", "UNEMPLOYMENT", True, False,
     {"social_assistance": True, "periodicity": "SEASONAL"}),
    ("MATERN", "WORKING_AGE", "MATERNITY", True, True, {"eligible_sex": "F"}),
    ("INJURY", "WORKING_AGE", "EMPLOYMENT_INJURY", True, True,
     {"covers_employment_injury": True, "periodicity": "ANNUAL"}),
    ("HEALTH", "HEALTH", "HEALTH", False, True, {}),
)
COMMUNES = ("C1", "C2", "C3")
_example = itertools.count()
END = add_months(PERIOD, 1) - dt.timedelta(days=1)

records = st.fixed_dictionaries({
    "sex": st.sampled_from("MF"),
    "age": st.one_of(st.sampled_from([4, 17, 18, 40, 64, 65, 80]), st.integers(0, 90)),
    "commune": st.sampled_from(COMMUNES), "disability": st.sampled_from([None, 0, 1, 2, 3]),
    "income": st.sampled_from([None, 1000, 9000]),
    "died": st.sampled_from([None, -400, -1, 0, 20]),  # days from the period's end
    "registered": st.integers(0, 3),  # years before the period
    "same_as": st.integers(0, 30),  # > own index: its own identity
    "enrolments": st.lists(st.tuples(
        st.sampled_from(range(len(SCHEMES))),
        st.sampled_from(["ACTIVE", "SUSPENDED", "EXITED"]),
        st.sampled_from([-700, -40, -5, 0, 3]),  # start, days from the period's end
        st.sampled_from([None, 0, 1, 30, 800]),  # days from start to end
        st.sampled_from([None, -1, 0, 1])), max_size=2),  # exit submitted: months from PERIOD
    "payments": st.lists(st.tuples(
        st.sampled_from(range(len(SCHEMES))), st.sampled_from([0, 0, -1, -2, -3, -11]),
        st.sampled_from([500, 1500, 2000, 4000])), max_size=2),
})
countries = st.fixed_dictionaries({
    "records": st.lists(records, min_size=1, max_size=10),
    "population": st.lists(st.tuples(st.sampled_from(COMMUNES), st.sampled_from("MF"),
                                     st.sampled_from([4, 17, 18, 40, 64, 65, 80]),
                                     st.integers(0, 6)), max_size=12),
    "poverty_line": st.sampled_from([None, 1500, 3000]),
    "incompatible": st.booleans(),
})


def _build(country: dict, source: Source) -> None:
    """The country through the factories (the synthetic generator is not used here)."""
    from spmis.indicators.services import benchmark_set
    from spmis.schemes.models import IncompatibleSchemes

    factories.area_levels(("Country", "Region", "Commune"))
    top = factories.area("XY")
    regions = factories.area("R1", parent=top), factories.area("R2", parent=top)
    communes = {code: factories.area(code, parent=regions[k > 0])
                for k, code in enumerate(COMMUNES)}
    cells = {(c, s, a): n for c, s, a, n in country["population"]}  # one row per cell
    for (commune, sex, age), n in cells.items():
        factories.population(communes[commune], year=2026, sex=sex, age_from=age, age_to=age,
                             population=n)
    schemes = [factories.scheme(code, guarantee=g, function=f, cash=cash, contributory=contrib,
                                **fields)
               for code, g, f, cash, contrib, fields in SCHEMES]
    if country["incompatible"]:
        IncompatibleSchemes.objects.create(scheme_a=schemes[1], scheme_b=schemes[2], reason="x")
    if country["poverty_line"]:
        benchmark_set(actor=None, code="POVERTY_LINE", name="Poverty line",
                      amount_minor=country["poverty_line"], currency="USD",
                      valid_from=dt.date(2020, 1, 1))
    identities: list[int] = []
    for k, rec in enumerate(country["records"]):
        born = END.replace(year=END.year - rec["age"]) - dt.timedelta(days=k % 3)
        died = None if rec["died"] is None else END + dt.timedelta(days=rec["died"])
        record = factories.person(
            area=communes[rec["commune"]], source=source, sex=rec["sex"], born=born,
            died=died if died is None or died >= born else born,
            disability_level=rec["disability"], annual_income_minor=rec["income"],
            registered_on=dt.date(2026 - rec["registered"], 1, 1))
        # Linked to an earlier record's identity (named by its lowest record id), or its own.
        identities.append(identities[rec["same_as"]] if rec["same_as"] < k else record.pk)
        PersonIdentity.objects.create(person=record, identity=identities[-1])
        for scheme, status, start, length, exit_month in rec["enrolments"]:
            begins = END + dt.timedelta(days=start)
            lineage = None if exit_month is None else factories.submission(
                source, period=add_months(PERIOD, exit_month))
            factories.enrolment(record, schemes[scheme], source=source, status=status,
                                start=begins, changed_by_submission=lineage,
                                end_date=None if length is None
                                else begins + dt.timedelta(days=length))
        for scheme, months, amount in rec["payments"]:
            factories.payment(record, schemes[scheme], period=add_months(PERIOD, months),
                              amount_minor=amount, source=source)


RECOMPUTE_VIEWS = """
    -- Alive: no record of the identity dies by the period's end (recomputed, not read).
    CREATE TABLE people AS
    SELECT p.identity, p.sex, p.age_at_period_end AS age, p.area_path,
           coalesce(p.disability_level >= 2, FALSE) AS severe, p.disability_level,
           p.annual_income_minor AS income
    FROM persons p
    WHERE p.reference_record AND p.born_by_period_end
      AND p.identity NOT IN (SELECT identity FROM persons WHERE record_died_by_period_end);
    CREATE TABLE held AS  -- enrolled at the period's end, from status and dates
    SELECT identity, scheme_id FROM enrolments
    WHERE status <> 'SUSPENDED' AND start_date <= $end
      AND (end_date >= $end OR (end_date IS NULL AND status <> 'EXITED'));
    CREATE TABLE paid AS  -- paid for the month, or for a cycle that covers it
    SELECT b.identity, b.scheme_id, b.period = $start AS this_month, b.amount_minor
    FROM payments b JOIN schemes s USING (scheme_id)
    WHERE b.period <= $start
      AND b.period > $start - to_months(CAST(s.cycle_months AS INTEGER));
"""


def _expected(con: duckdb.DuckDBPyConnection, ind, bands) -> pl.DataFrame:
    """One indicator's cells, recomputed by plain SQL: every area x sex x age band x
    disability (x scheme), counts of living identities and the population."""
    filters = " AND ".join([f"s.{key} = {value!r}" if isinstance(value, str) else
                            f"s.{key} = {str(value).upper()}"
                            for key, value in ind.benefits.items()] or ["TRUE"])
    matching = con.execute(f"SELECT scheme_id, code FROM schemes s WHERE {filters} "
                           "ORDER BY scheme_id").fetchall()
    targets = [("_T", [m[0] for m in matching])] + (
        [(code, [sid]) for sid, code in matching] if ind.by_scheme else [])
    band_sql = "CASE " + " ".join(
        f"WHEN age <= {b.age_to} THEN '{b.label}'" for b in bands if b.age_to is not None) \
        + f" ELSE '{bands[-1].label}' END"
    high = 999 if ind.age_to is None else ind.age_to
    who = f"age BETWEEN {ind.age_from} AND {high}" + (
        f" AND sex = '{ind.sex}'" if ind.sex else "") + (
        " AND severe" if ind.severe_disability else "")
    contributory = "SELECT scheme_id FROM schemes WHERE contributory"
    protected = "FALSE"
    if ind.vulnerable:  # children always vulnerable; these two unless protected
        (w0, w1), (o0, _) = ind.vulnerable[1], ind.vulnerable[2]
        protected = (
            f"(age BETWEEN {w0} AND {w1} AND identity IN (SELECT identity FROM held "
            f"WHERE scheme_id IN ({contributory}) UNION SELECT identity FROM paid "
            f"WHERE this_month AND scheme_id IN ({contributory}))) OR "
            f"(age >= {o0} AND identity IN (SELECT identity FROM paid "
            f"WHERE scheme_id IN ({contributory})))")
    frames = []
    for code, ids in targets:
        listed = ", ".join(map(str, ids)) or "NULL"
        if ind.coverage == "receiving":
            covered = f"SELECT identity FROM paid WHERE scheme_id IN ({listed})"
        else:
            covered = (f"SELECT identity FROM held WHERE scheme_id IN ({listed}) UNION "
                       f"SELECT identity FROM paid WHERE this_month AND scheme_id IN ({listed})")
        frames.append(con.sql(f"""
            WITH cells AS (
                SELECT a.code AS area_code, a.level AS area_level, a.path, x.sex, b.band, d.dis
                FROM areas a, (VALUES ('M'), ('F'), ('_T')) x(sex),
                     (SELECT DISTINCT {band_sql} AS band FROM range(0, 120) r(age)
                      UNION SELECT '_T') b,
                     (VALUES ('SEVERE'), ('NOT_SEVERE'), ('_T')) d(dis)),
            persons_in AS (
                SELECT *, {band_sql} AS band,
                       CASE WHEN severe THEN 'SEVERE' ELSE 'NOT_SEVERE' END AS dis,
                       identity IN ({covered}) AS covered, ({protected}) AS protected
                FROM people WHERE {who}),
            pop AS (SELECT p.*, {band_sql.replace('age', 'p.age')} AS band
                    FROM population p)
            SELECT c.area_code, c.area_level, c.sex, c.band AS age_band, c.dis AS disability,
                   '{code}' AS scheme,
                   (SELECT count(*) FROM persons_in p
                    WHERE p.area_path LIKE c.path || '%' AND c.sex IN ('_T', p.sex)
                      AND c.band IN ('_T', p.band) AND c.dis IN ('_T', p.dis)
                      AND p.covered AND NOT p.protected) AS numerator,
                   (SELECT coalesce(sum(population), 0) FROM pop p
                    WHERE p.area_path LIKE c.path || '%' AND c.sex IN ('_T', p.sex)
                      AND c.band IN ('_T', p.band)
                      AND p.age BETWEEN {ind.age_from} AND {high}
                      {f"AND p.sex = '{ind.sex}'" if ind.sex else ""})
                   - (SELECT count(*) FROM persons_in p
                      WHERE p.area_path LIKE c.path || '%' AND c.sex IN ('_T', p.sex)
                        AND c.band IN ('_T', p.band) AND p.protected) AS population
            FROM cells c""").pl())
    found = pl.concat(frames)
    missing = ind.missing_denominator is not None
    return found.with_columns(denominator=pl.when(
        pl.lit(missing) | (pl.col("disability") != "_T") | (pl.col("population") <= 0))
        .then(None).otherwise(pl.col("population"))).filter(
        (pl.col("numerator") > 0) | (pl.col("denominator") > 0)
        | ((pl.col("area_level") == 0) & (pl.col("sex") == "_T") & (pl.col("age_band") == "_T")
           & (pl.col("disability") == "_T"))).select(
        "area_code", "sex", "age_band", "disability", "scheme", "numerator", "denominator")


def _record(sex: str, age: int, commune: str, *, disability: int | None = 0,
            died: int | None = None, same_as: int = 99, enrolments: tuple = (),
            payments: tuple = ()) -> dict:
    return {"sex": sex, "age": age, "commune": commune, "disability": disability,
            "income": 1000, "died": died, "registered": 1, "same_as": same_as,
            "enrolments": list(enrolments), "payments": list(payments)}


# One country where every scheme, status and kind of person appears (0 CHILD, 1 SOCPEN,
# 2 CPEN quarterly, 3 DISAB, 4 WORKS, 5 MATERN, 6 INJURY annual, 7 HEALTH).
EVERYTHING = {
    "records": [
        _record("F", 10, "C1", enrolments=[(0, "ACTIVE", -700, None, None)],
                payments=[(0, 0, 1500)]),
        _record("M", 30, "C2", enrolments=[(4, "ACTIVE", -40, None, None),
                                           (6, "ACTIVE", -700, None, None)],
                payments=[(6, -11, 4000)]),
        _record("F", 30, "C3", disability=3, enrolments=[(3, "ACTIVE", -5, 800, None)],
                payments=[(3, 0, 2000), (5, 0, 4000)]),
        _record("F", 70, "C1", enrolments=[(1, "ACTIVE", -700, None, None),
                                           (2, "EXITED", -700, None, 1)],
                payments=[(2, -1, 4000), (1, 0, 1500)]),
        _record("M", 80, "C2", disability=None, same_as=3),  # the same woman, less complete
        _record("M", 40, "C3", died=-1, same_as=1),  # the man's other record: dead
        _record("F", 12, "C2", enrolments=[(0, "EXITED", -700, None, 0),
                                           (7, "EXITED", -700, None, None),
                                           (7, "SUSPENDED", -700, None, None)]),
        _record("F", 40, "C1", enrolments=[(7, "ACTIVE", -700, None, None),
                                           (5, "ACTIVE", -40, None, None),
                                           (6, "ACTIVE", -700, None, None)],
                payments=[(4, 0, 4000)]),
    ],
    "population": [("C1", "F", 10, 4), ("C1", "F", 70, 2), ("C2", "M", 30, 3),
                   ("C3", "F", 30, 2), ("C2", "F", 12, 2), ("C1", "F", 40, 3)],
    "poverty_line": 3000, "incompatible": True,
}


# No shrinking: each example loads a country and runs the engine (about a second), and the
# examples are small enough to read as they fail.
@settings(max_examples=12, deadline=None, phases=[Phase.explicit, Phase.reuse, Phase.generate],
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                                 HealthCheck.data_too_large])
@given(country=countries)
@example(country=EVERYTHING)
def test_the_engine_equals_an_independent_recomputation_from_the_export(db, tmp_path,
                                                                       country):
    from django.db import transaction

    from spmis.core.parameters import parameters_in_force
    from spmis.indicators import engine
    from spmis.indicators.catalogue import catalogue
    from spmis.indicators.snapshot import population_year, snapshot_write

    with transaction.atomic():
        _build(country, factories.source(f"S{next(_example)}"))
        here = tmp_path / f"x{next(_example)}"
        snapshot_write(here / "snapshot", PERIOD, population_year(PERIOD))
        bands = parameters_in_force(END).age_bands
        indicators = [i for i in catalogue(END) if i.process is None]
        got = engine.compute(here / "snapshot", PERIOD, indicators, bands)
        export_deidentified(here / "export", PERIOD, "parquet")
        transaction.set_rollback(True)
    con = duckdb.connect()
    for name in ("persons", "enrolments", "payments", "population", "schemes", "areas",
                 "incompatible"):
        con.execute(f"CREATE TABLE {name} AS SELECT * FROM "
                    f"read_parquet('{here / 'export' / name}.parquet')")
    con.execute(RECOMPUTE_VIEWS.replace("$end", f"DATE '{END}'")
                .replace("$start", f"DATE '{PERIOD}'"))
    keys = ["area_code", "sex", "age_band", "disability", "scheme"]
    for ind in indicators:
        if ind.statistic is not None:
            continue
        expected = (_expected_error(con, ind, bands) if ind.admin_error
                    else _expected(con, ind, bands)).sort(keys)
        engine_rows = got.filter(indicator=ind.code).select(
            *keys, "numerator", "denominator").sort(keys)
        assert engine_rows.to_dicts() == expected.to_dicts(), ind.code
    _check_vertical(con, got, country["poverty_line"])


def _bands(bands) -> str:
    return "CASE " + " ".join(
        f"WHEN age <= {b.age_to} THEN '{b.label}'" for b in bands if b.age_to is not None) \
        + f" ELSE '{bands[-1].label}' END"


JUDGED = """
    -- Each living person against each scheme declaring a criterion: three-valued (NULL when
    -- the record cannot answer: no income for a means test, no disability level).
    WITH covered AS (SELECT identity, scheme_id FROM held
                     UNION SELECT identity, scheme_id FROM paid WHERE this_month),
    judged AS (
        SELECT p.identity, s.scheme_id,
               (p.age >= coalesce(s.eligible_age_from, 0))
               AND (s.eligible_age_to IS NULL OR p.age <= s.eligible_age_to)
               AND (coalesce(s.eligible_sex, '') = '' OR p.sex = s.eligible_sex)
               AND (s.eligible_disability_from IS NULL
                    OR p.disability_level >= s.eligible_disability_from)
               AND (s.income_threshold_minor IS NULL
                    OR p.income <= s.income_threshold_minor) AS meets,
               EXISTS (SELECT 1 FROM covered c WHERE c.identity = p.identity
                       AND c.scheme_id = s.scheme_id) AS covered,
               EXISTS (SELECT 1 FROM incompatible i JOIN covered c
                         ON c.scheme_id = CASE WHEN i.scheme_a = s.scheme_id THEN i.scheme_b
                                               ELSE i.scheme_a END
                       WHERE s.scheme_id IN (i.scheme_a, i.scheme_b)
                         AND c.identity = p.identity) AS conflict
        FROM people p, schemes s
        WHERE s.eligible_age_from IS NOT NULL OR s.eligible_age_to IS NOT NULL
           OR coalesce(s.eligible_sex, '') <> '' OR s.eligible_disability_from IS NOT NULL
           OR s.income_threshold_minor IS NOT NULL)
    SELECT *, meets IS TRUE AND NOT conflict AS eligible,
           meets IS FALSE OR conflict AS not_eligible FROM judged"""


def _expected_error(con: duckdb.DuckDBPyConnection, ind, bands) -> pl.DataFrame:
    """Administrative exclusion (eligible for one of the schemes, covered by none of those)
    or inclusion (covered by one whose record can be judged, failing at least one), per
    assessed scheme and across them; the registry is the denominator."""
    con.execute(f"CREATE OR REPLACE TABLE judged AS {JUDGED}")
    ids = [row[0] for row in con.execute(
        "SELECT DISTINCT scheme_id FROM judged ORDER BY 1").fetchall()]
    codes = dict(con.execute("SELECT scheme_id, code FROM schemes").fetchall())
    frames = []
    for code, group in [("_T", ids)] + [(codes[i], [i]) for i in ids] if ids else []:
        listed = ", ".join(map(str, group))
        mine = f"SELECT * FROM judged j WHERE j.identity = p.identity AND j.scheme_id IN ({listed})"
        if ind.admin_error == "exclusion":
            den = f"EXISTS ({mine} AND j.eligible)"
            num = f"{den} AND NOT EXISTS ({mine} AND j.eligible AND j.covered)"
        else:
            den = f"EXISTS ({mine} AND j.covered AND (j.eligible OR j.not_eligible))"
            num = f"{den} AND EXISTS ({mine} AND j.covered AND j.not_eligible)"
        frames.append(con.sql(f"""
            WITH cells AS (
                SELECT a.code AS area_code, a.path, x.sex, b.band, d.dis
                FROM areas a, (VALUES ('M'), ('F'), ('_T')) x(sex),
                     (SELECT DISTINCT {_bands(bands)} AS band FROM range(0, 120) r(age)
                      UNION SELECT '_T') b,
                     (VALUES ('SEVERE'), ('NOT_SEVERE'), ('_T')) d(dis)),
            judged_people AS (
                SELECT p.area_path, p.sex, {_bands(bands).replace('age', 'p.age')} AS band,
                       CASE WHEN p.severe THEN 'SEVERE' ELSE 'NOT_SEVERE' END AS dis,
                       {num} AS num, {den} AS den
                FROM people p)
            SELECT c.area_code, c.sex, c.band AS age_band, c.dis AS disability,
                   '{code}' AS scheme, count(*) FILTER (WHERE j.num) AS numerator,
                   count(*) FILTER (WHERE j.den) AS denominator
            FROM cells c LEFT JOIN judged_people j
              ON j.area_path LIKE c.path || '%' AND c.sex IN ('_T', j.sex)
             AND c.band IN ('_T', j.band) AND c.dis IN ('_T', j.dis)
            GROUP BY ALL""").pl())
    if not frames:
        return pl.DataFrame(schema={"area_code": pl.String, "sex": pl.String,
                                    "age_band": pl.String, "disability": pl.String,
                                    "scheme": pl.String, "numerator": pl.Int64,
                                    "denominator": pl.Int64})
    return pl.concat(frames).filter((pl.col("numerator") > 0) | (pl.col("denominator") > 0)) \
        .with_columns(denominator=pl.when(pl.col("denominator") > 0)
                      .then(pl.col("denominator")))


def _check_vertical(con: duckdb.DuckDBPyConnection, got: pl.DataFrame,
                    line: int | None) -> None:
    """Cash received for the month per recipient (summed across cash schemes), per area x
    sex: median, mean, share reaching the poverty line, median over it."""
    expected = con.sql(f"""
        WITH received AS (
            SELECT p.identity, p.sex, p.area_path, sum(b.amount_minor) AS total
            FROM people p JOIN paid b USING (identity) JOIN schemes s USING (scheme_id)
            WHERE b.this_month AND s.cash GROUP BY ALL)
        SELECT a.code AS area_code, x.sex, count(*) AS n,
               quantile_cont(total, 0.5) / 100 AS median,
               avg(total) / 100 AS mean,
               count(*) FILTER (WHERE total >= {line or 0}) AS above,
               100.0 * quantile_cont(total, 0.5) / {line or 1} AS ratio
        FROM areas a, (VALUES ('M'), ('F'), ('_T')) x(sex), received r
        WHERE r.area_path LIKE a.path || '%' AND x.sex IN ('_T', r.sex)
        GROUP BY ALL""").pl()
    for row in expected.iter_rows(named=True):
        cells = got.filter(area_code=row["area_code"], sex=row["sex"], age_band="_T",
                           disability="_T", scheme="_T")
        values = {r["indicator"]: r for r in cells.iter_rows(named=True)
                  if r["indicator"].startswith("VERT_")}
        assert values["VERT_MEDIAN_BENEFIT"]["value"] == pytest.approx(row["median"])
        assert values["VERT_MEAN_BENEFIT"]["value"] == pytest.approx(row["mean"], abs=1e-4)
        assert values["VERT_MEDIAN_BENEFIT"]["numerator"] == row["n"]
        above = values["VERT_ABOVE_POVERTY_LINE"]
        if line is None:
            assert (above["numerator"], above["value"], above["obs_status"]) == (None, None, "M")
        else:
            assert above["numerator"] == row["above"]
            assert above["value"] == pytest.approx(100 * row["above"] / row["n"], abs=1e-4)
            assert values["VERT_MEDIAN_TO_POVERTY_LINE"]["value"] == pytest.approx(
                row["ratio"], abs=1e-4)
    vertical = got.filter(pl.col("indicator") == "VERT_MEDIAN_BENEFIT")
    assert vertical.height == expected.height

