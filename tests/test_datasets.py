"""The synthetic countries are built once per session: each test gets its own copy, whatever
the test before it did to its copy. The tests of each pair run in the order written."""

from __future__ import annotations

import pytest
from django.db.models import Max

from spmis.access.models import User
from spmis.audit.models import AuditEvent
from spmis.intake.models import Source
from spmis.registry.models import Person
from tests import factories


def _change_everything() -> None:
    """Rows changed, added (through sequences) and deleted, and an audit entry written."""
    Person.objects.filter(pk__lte=100).update(family_name="CHANGED")
    factories.source("LEAK")
    factories.user("REGISTRAR", username="leak")
    Source.objects.filter(code="LEAK").delete()


def _assert_as_built(expected_persons: int) -> None:
    assert Person.objects.count() == expected_persons
    assert not Person.objects.filter(family_name="CHANGED").exists()
    assert not User.objects.exists()
    assert list(AuditEvent.objects.values_list("action", flat=True)) == ["country.synthesise"]
    # Sequences too: a new row takes the number after the last one built, not after the rows
    # an earlier test added (a rollback does not put PostgreSQL's sequences back).
    last = Source.objects.aggregate(last=Max("pk"))["last"]
    assert factories.source("NEXT").pk == last + 1


@pytest.mark.django_db
def test_a_test_changes_its_country(country):
    _change_everything()
    assert Person.objects.filter(family_name="CHANGED").count() == 100


@pytest.mark.django_db
def test_the_next_test_gets_the_country_as_built(country):
    _assert_as_built(1500)


@pytest.mark.django_db
def test_a_test_without_a_country_gets_an_empty_database():
    assert not Person.objects.exists() and not Source.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_test_commits_changes_to_its_country(country):
    _change_everything()
    assert Person.objects.filter(family_name="CHANGED").count() == 100


@pytest.mark.django_db(transaction=True)
def test_the_next_committing_test_gets_the_country_as_built(country):
    _assert_as_built(1500)


@pytest.mark.django_db(transaction=True)
def test_after_a_committing_test_the_database_is_empty():
    assert not Person.objects.exists() and not Source.objects.exists()
