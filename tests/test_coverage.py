"""Headline coverage on the home page: the indicator engine's figures (there is no second way
of counting), checked against an independent computation on the generated frames."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from spmis.core.parameters import parameters_in_force
from spmis.geography.models import Area, PopulationDenominator
from spmis.indicators.selectors import Headline, headline_for_user
from spmis.indicators.services import indicators_run
from spmis.synth.country import SCHEMES, Country
from tests import factories
from tests.helpers import AS_OF

pytestmark = pytest.mark.django_db
GUARANTEES = {"COV_HEALTH": "HEALTH", "COV_CHILDREN": "CHILDREN",
              "COV_WORKING_AGE": "WORKING_AGE", "COV_OLD_AGE": "OLD_AGE"}


def _ages(guarantee: str | None, as_of: dt.date) -> tuple[int, int | None]:
    if guarantee in (None, "HEALTH"):
        return 0, None
    return parameters_in_force(as_of).ages_of(guarantee)


def expected_covered(country: Country, as_of: dt.date, *, guarantee: str | None = None,
                     area_ids: list[int] | None = None,
                     scheme_codes: list[str] | None = None) -> dict[str, int]:
    schemes = pl.DataFrame({"scheme_id": range(1, len(SCHEMES) + 1),
                            "guarantee": [s.guarantee for s in SCHEMES],
                            "code": [s.code for s in SCHEMES]})
    low, high = _ages(guarantee, as_of)
    dob = pl.col("date_of_birth")
    birthday_ahead = (dob.dt.month().cast(pl.Int32) * 100 + dob.dt.day()) > (
        as_of.month * 100 + as_of.day)
    age = pl.lit(as_of.year) - dob.dt.year() - birthday_ahead.cast(pl.Int32)
    # The catalogue's point-in-time reference: enrolled (active) at the period's end, or paid
    # for the period (a benefit received that month covers its recipient).
    in_force = country.enrolments.filter(
        (pl.col("status") == "ACTIVE") & (pl.col("start_date") <= as_of)
        & (pl.col("end_date").is_null() | (pl.col("end_date") >= as_of)))
    paid = country.payments.filter(pl.col("period") == as_of.replace(day=1))
    enrolled = pl.concat([in_force.select("person_id", "scheme_id"),
                          paid.select("person_id", "scheme_id")]).join(
        schemes, on="scheme_id")
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


def headline(user) -> Headline:
    """The user's one headline, after a run for the country's last month."""
    indicators_run(actor=None, period=AS_OF.replace(day=1))
    home = headline_for_user(user=user)
    assert home.run is not None and len(home.headlines) == 1, home
    return home.headlines[0]


def by_sex(line) -> dict[str, int]:
    return {sex: f.numerator for sex, f in (("F", line.women), ("M", line.men))
            if f.numerator}


def lines(h: Headline) -> dict[str, object]:
    return {line.indicator.code: line for line in h.lines}


def test_national_figures_match_an_independent_count(country, make_user):
    h = headline(make_user())
    found = lines(h)
    assert by_sex(found["COV_ANY"]) == expected_covered(country, AS_OF)
    for code, guarantee in GUARANTEES.items():
        assert by_sex(found[code]) == expected_covered(country, AS_OF, guarantee=guarantee), code
    assert found["COV_ANY"].total.denominator == country.population["population"].sum()
    assert headline_for_user(user=make_user("STATISTICIAN")).run.lineage[
        "population_year"] == AS_OF.year


def test_every_group_is_covered_at_most_fully(country, make_user):
    for line in headline(make_user()).lines:
        assert line.total.denominator is not None
        assert 0 < line.total.numerator <= line.total.denominator
        assert 0 < line.total.value <= 100


def test_children_denominator_is_the_childrens_age_group(country, make_user):
    children = lines(headline(make_user()))["COV_CHILDREN"]
    low, high = _ages("CHILDREN", AS_OF)
    frame = country.population.filter(pl.col("age_from").is_between(low, high))
    assert children.total.denominator == frame["population"].sum()


def test_district_user_gets_district_figures(country, make_user):
    district = Area.objects.filter(level=2).order_by("code").last()
    ids = list(Area.objects.filter(path__startswith=district.path).values_list("id", flat=True))
    h = headline(make_user("REGISTRAR", area=district.code))
    assert h.area == district
    total = lines(h)["COV_ANY"]
    assert by_sex(total) == expected_covered(country, AS_OF, area_ids=ids)
    assert total.total.denominator == country.population.filter(
        pl.col("area_id").is_in(ids))["population"].sum()


def test_scheme_scoped_user_counts_only_their_schemes(country, make_user):
    h = headline(make_user("SCHEME_MANAGER", schemes=("CHILD_GRANT",)))
    assert h.scheme is not None and h.scheme.code == "CHILD_GRANT"
    found = lines(h)
    assert by_sex(found["COV_ANY"]) == expected_covered(country, AS_OF,
                                                        scheme_codes=["CHILD_GRANT"])
    assert not found["COV_HEALTH"].total.numerator  # the child grant is not health care


def test_missing_or_unusable_denominators_are_reported_not_invented(country, make_user):
    user = make_user()
    # A band 15-19 straddles the children's upper edge (17): no honest denominator exists.
    PopulationDenominator.objects.filter(age_from__in=[15, 16, 17, 18, 19]).delete()
    commune = Area.objects.filter(level=3).first()
    factories.population(commune, year=AS_OF.year, sex="F", age_from=15, age_to=19,
                         population=10)
    found = lines(headline(user))
    assert found["COV_CHILDREN"].total.denominator is None
    assert found["COV_CHILDREN"].total.value is None and found["COV_CHILDREN"].total.missing
    assert found["COV_OLD_AGE"].total.denominator is not None
    PopulationDenominator.objects.all().delete()
    h = headline(user)
    assert headline_for_user(user=user).run.lineage["population_year"] is None
    total = lines(h)["COV_ANY"].total
    assert total.value is None and total.numerator > 0  # counts stay; only the rate is unknown


def test_user_without_roles_sees_no_figures(country):
    from spmis.access.services import user_create

    nobody = user_create(actor=None, username="nobody", password="a-long-pass-phrase-9")
    indicators_run(actor=None, period=AS_OF.replace(day=1))
    home = headline_for_user(user=nobody)
    assert not home.may_see and home.headlines == [] and home.run is None


def test_before_any_run_the_home_says_so(country, make_user):
    home = headline_for_user(user=make_user())
    assert home.may_see and home.run is None and home.headlines == []
