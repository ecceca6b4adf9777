"""Headline coverage, checked against an independent computation on the generated frames."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from spmis.geography.models import Area, PopulationDenominator
from spmis.schemes.selectors import GUARANTEE_AGES, coverage_headline
from spmis.synth.country import SCHEMES, Country
from tests.conftest import AS_OF

pytestmark = pytest.mark.django_db


def expected_covered(country: Country, as_of: dt.date, *, guarantee: str | None = None,
                     area_ids: list[int] | None = None,
                     scheme_codes: list[str] | None = None) -> dict[str, int]:
    schemes = pl.DataFrame({"scheme_id": range(1, len(SCHEMES) + 1),
                            "guarantee": [s.guarantee for s in SCHEMES],
                            "code": [s.code for s in SCHEMES]})
    low, high = GUARANTEE_AGES[guarantee] if guarantee else (0, None)
    dob = pl.col("date_of_birth")
    birthday_ahead = (dob.dt.month().cast(pl.Int32) * 100 + dob.dt.day()) > (
        as_of.month * 100 + as_of.day)
    age = pl.lit(as_of.year) - dob.dt.year() - birthday_ahead.cast(pl.Int32)
    enrolled = (
        country.enrolments.join(schemes, on="scheme_id")
        .filter((pl.col("status") == "ACTIVE") & (pl.col("start_date") <= as_of)
                & (pl.col("end_date").is_null() | (pl.col("end_date") >= as_of)))
    )
    if guarantee:
        enrolled = enrolled.filter(pl.col("guarantee") == guarantee)
    if scheme_codes:
        enrolled = enrolled.filter(pl.col("code").is_in(scheme_codes))
    persons = country.persons.filter(
        (pl.col("date_of_death").is_null() | (pl.col("date_of_death") > as_of))
        & (age >= low) & ((age <= high) if high is not None else pl.lit(True))
    )
    if area_ids is not None:
        persons = persons.filter(pl.col("area_id").is_in(area_ids))
    covered = persons.join(enrolled.select("person_id").unique(), left_on="id",
                           right_on="person_id")
    return dict(covered.group_by("sex").len().iter_rows())


def test_national_figures_match_an_independent_count(country, make_user):
    user = make_user()
    coverage = coverage_headline(user=user, as_of=AS_OF)
    assert coverage.total.covered == expected_covered(country, AS_OF)
    for figure in coverage.by_guarantee:
        assert figure.covered == expected_covered(country, AS_OF, guarantee=figure.key), figure.key
    assert coverage.total.population == country.population["population"].sum()
    assert coverage.population_year == AS_OF.year


def test_every_group_is_covered_at_most_fully(country, make_user):
    coverage = coverage_headline(user=make_user(), as_of=AS_OF)
    for figure in [coverage.total, *coverage.by_guarantee]:
        assert figure.population is not None
        assert 0 < figure.covered_total <= figure.population
        assert 0 < figure.rate <= 100


def test_children_denominator_is_ages_0_to_17(country, make_user):
    children = next(f for f in coverage_headline(user=make_user(), as_of=AS_OF).by_guarantee
                    if f.key == "CHILDREN")
    frame = country.population.filter(pl.col("age_from") <= 17)
    assert children.population == frame["population"].sum()


def test_district_user_gets_district_figures(country, make_user):
    district = Area.objects.filter(level=2).order_by("code").last()
    ids = list(Area.objects.filter(path__startswith=district.path).values_list("id", flat=True))
    coverage = coverage_headline(user=make_user("REGISTRAR", area=district.code), as_of=AS_OF)
    assert coverage.total.covered == expected_covered(country, AS_OF, area_ids=ids)
    assert coverage.total.population == country.population.filter(
        pl.col("area_id").is_in(ids))["population"].sum()


def test_scheme_scoped_user_counts_only_their_schemes(country, make_user):
    user = make_user("SCHEME_MANAGER", schemes=("CHILD_GRANT",))
    coverage = coverage_headline(user=user, as_of=AS_OF)
    assert coverage.total.covered == expected_covered(country, AS_OF, scheme_codes=["CHILD_GRANT"])
    health = next(f for f in coverage.by_guarantee if f.key == "HEALTH")
    assert health.covered_total == 0


def test_missing_or_unusable_denominators_are_reported_not_invented(country, make_user):
    user = make_user()
    # A band 15-19 straddles the children's upper edge (17): no honest denominator exists.
    PopulationDenominator.objects.filter(age_from__in=[15, 16, 17, 18, 19]).delete()
    commune = Area.objects.filter(level=3).first()
    PopulationDenominator.objects.create(area=commune, year=AS_OF.year, sex="F", age_from=15,
                                         age_to=19, population=10)
    figures = {f.key: f for f in coverage_headline(user=user, as_of=AS_OF).by_guarantee}
    assert figures["CHILDREN"].population is None and figures["CHILDREN"].rate is None
    assert figures["OLD_AGE"].population is not None
    PopulationDenominator.objects.all().delete()
    coverage = coverage_headline(user=user, as_of=AS_OF)
    assert coverage.population_year is None and coverage.total.rate is None
    assert coverage.total.covered_total > 0  # counts stay; only the rate is unknown


def test_user_without_roles_sees_no_figures(country):
    from spmis.access.services import user_create

    nobody = user_create(actor=None, username="nobody", password="a-long-pass-phrase-9")
    coverage = coverage_headline(user=nobody, as_of=AS_OF)
    assert coverage.total.covered_total == 0 and coverage.total.population is None
