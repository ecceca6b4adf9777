"""The synthetic country: reproducible, plausible and internally consistent once loaded."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from django.db import connection
from django.db.models import Count, F, Sum
from hypothesis import given, settings
from hypothesis import strategies as st

from spmis.audit.models import AuditEvent
from spmis.core.errors import Conflict
from spmis.geography.models import Area, PopulationDenominator
from spmis.payments.models import BenefitPayment
from spmis.registry.models import Household, Person
from spmis.schemes.models import Enrolment, Guarantee, Scheme
from spmis.synth.country import _national_ids, generate_country, luhn_valid
from spmis.synth.services import country_synthesise
from tests.helpers import AS_OF


def test_same_seed_same_country_other_seed_other_country():
    a = generate_country(persons=2000, seed=5, as_of=AS_OF, months=3)
    b = generate_country(persons=2000, seed=5, as_of=AS_OF, months=3)
    c = generate_country(persons=2000, seed=6, as_of=AS_OF, months=3)
    for name in ("areas", "households", "persons", "enrolments", "payments", "population"):
        assert getattr(a, name).equals(getattr(b, name)), name
    assert not a.persons.equals(c.persons)


@given(persons=st.integers(100, 5000), seed=st.integers(0, 2**32 - 1))
@settings(max_examples=15, deadline=None)
def test_exact_person_count_and_valid_structure(persons, seed):
    country = generate_country(persons=persons, seed=seed, as_of=AS_OF, months=2)
    people = country.persons
    assert people.height == persons
    assert people["id"].is_unique().all()
    ids = people["national_id"].drop_nulls()
    assert ids.is_unique().all()
    assert all(luhn_valid(x) for x in ids.to_list())
    heads = people.filter(pl.col("relationship_to_head") == "HEAD")
    assert heads["household_id"].is_unique().all()
    assert heads.height == country.households.height
    assert (people["date_of_birth"] <= AS_OF).all()
    died = people.filter(pl.col("date_of_death").is_not_null())
    assert (died["date_of_death"] >= died["date_of_birth"]).all()
    assert (died["date_of_death"] <= AS_OF).all()


@given(st.integers(0, 10**6))
def test_national_ids_carry_a_luhn_check_digit(index):
    import numpy as np

    number = str(_national_ids(np.array([index]))[0])
    assert len(number) == 10 and luhn_valid(number)
    wrong = number[:-1] + str((int(number[-1]) + 1) % 10)
    assert not luhn_valid(wrong)


def test_age_sex_pyramid_is_that_of_a_young_country():
    persons = generate_country(persons=20000, seed=3, as_of=AS_OF).truth["persons"]
    children = (persons["age"] < 15).mean()
    old = (persons["age"] >= 65).mean()
    assert 0.25 < children < 0.45, children
    assert 0.02 < old < 0.10, old
    # Each older age band is smaller than the one before, past 20.
    bands = persons.filter(pl.col("age") >= 20).group_by(pl.col("age") // 10).len().sort("age")
    assert bands["len"].is_sorted(descending=True)


@pytest.mark.django_db
def test_loaded_country_is_consistent(country):
    counts = country.counts()
    assert Person.objects.count() == counts["persons"] == 1500
    assert Household.objects.count() == counts["households"]
    assert Enrolment.objects.count() == counts["enrolments"]
    assert BenefitPayment.objects.count() == counts["payments"] > 0
    # Three levels below the country, every area's path extends its parent's.
    assert sorted(set(Area.objects.values_list("level", flat=True))) == [0, 1, 2, 3]
    for area in Area.objects.exclude(parent=None).select_related("parent"):
        assert area.path == f"{area.parent.path}{area.code}/"
    # At least six schemes spanning the four guarantees, cash and not.
    assert Scheme.objects.count() >= 6
    assert set(Scheme.objects.values_list("guarantee", flat=True)) == set(Guarantee.values)
    # Persons live in communes; a few have died.
    assert not Person.objects.exclude(area__level=3).exists()
    assert Person.objects.filter(date_of_death__isnull=False).exists()
    # Every payment is for a person enrolled in that scheme.
    orphan = BenefitPayment.objects.exclude(
        person__enrolments__scheme=F("scheme"),
    )
    assert not orphan.exists()
    # Overlaps and gaps: some persons hold two schemes, many hold none.
    per_person = Enrolment.objects.values("person").annotate(n=Count("scheme", distinct=True))
    assert per_person.filter(n__gte=2).exists()
    assert Person.objects.filter(enrolments__isnull=True).exists()


@pytest.mark.django_db
def test_denominators_cover_every_covered_person_per_cell(country):
    """In each commune x sex x single-year cell, population >= living covered persons."""
    as_of = country.as_of
    covered = (
        country.persons.join(country.enrolments.filter(pl.col("status") == "ACTIVE"),
                             left_on="id", right_on="person_id")
        .filter(pl.col("date_of_death").is_null())
        .with_columns(age_from=pl.min_horizontal(
            ((pl.lit(as_of) - pl.col("date_of_birth")).dt.total_days() // 365.25).cast(pl.Int64),
            pl.lit(100)))
        .group_by("area_id", "sex", "age_from").agg(pl.col("id").n_unique().alias("covered"))
    )
    rows = PopulationDenominator.objects.values_list("area_id", "sex", "age_from", "population")
    population = pl.DataFrame(list(rows), schema=["area_id", "sex", "age_from", "population"],
                              orient="row")
    cells = covered.join(population, on=["area_id", "sex", "age_from"], how="left")
    assert cells["population"].null_count() == 0
    short = cells.filter(pl.col("population") < pl.col("covered"))
    assert short.height == 0, short
    total_alive = Person.objects.filter(date_of_death__isnull=True).count()
    assert PopulationDenominator.objects.aggregate(n=Sum("population"))["n"] >= total_alive


@pytest.mark.django_db
def test_synthesise_refuses_to_mix_and_replace_starts_afresh(country):
    with pytest.raises(Conflict):
        country_synthesise(actor=None, persons=300, seed=1, as_of=AS_OF)
    country_synthesise(actor=None, persons=300, seed=1, as_of=AS_OF, replace=True)
    assert Person.objects.count() == 300
    assert AuditEvent.objects.filter(action="country.synthesise").count() == 2


@pytest.mark.django_db(transaction=True)
def test_replace_after_intake_and_linkage_starts_afresh(tmp_path):
    """A demo database that was used -- office files taken in, linked, cross-checked -- can
    be replaced: nothing of the old country refers to the new one's rows."""
    from spmis.intake.models import ChangedRow, Submission
    from spmis.linkage.crosscheck import crosscheck_run
    from spmis.linkage.models import Link, PersonIdentity, VerificationFlag
    from spmis.linkage.services import linkage_run
    from spmis.synth.services import office_files_ingest

    files = tmp_path / "offices"
    country_synthesise(actor=None, persons=1500, seed=4, as_of=AS_OF, office_files=files)
    office_files_ingest(actor=None, directory=files)
    linkage_run(actor=None)
    crosscheck_run(actor=None, registry_code="CRVS")
    assert Link.objects.exists() and Submission.objects.exists()
    country_synthesise(actor=None, persons=300, seed=1, as_of=AS_OF, replace=True)
    assert Person.objects.count() == 300
    for model in (Link, PersonIdentity, VerificationFlag, Submission, ChangedRow):
        assert not model.objects.exists(), model


@pytest.mark.django_db
def test_new_rows_get_fresh_ids_after_a_bulk_load(country):
    """Sequences move past the explicit ids of the load (PostgreSQL would collide otherwise)."""
    area = Area.objects.get(code="XY")
    assert Area.objects.create(code="NEW", name="New", level=1, parent=area,
                               path="XY/NEW/").pk > country.areas.height
    with connection.cursor() as cursor:
        cursor.execute("SELECT MAX(id) FROM registry_person")
        assert cursor.fetchone()[0] == 1500


def test_bad_parameters_are_refused():
    with pytest.raises(ValueError):
        generate_country(persons=10, seed=1, as_of=AS_OF)
    with pytest.raises(ValueError):
        generate_country(persons=1000, seed=1, as_of=dt.date(2026, 1, 31), months=0)
