"""Declaring the eligibility criteria a scheme's administrative errors are measured against."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from spmis.audit.models import AuditEvent
from spmis.cli.main import cli
from spmis.schemes.models import Scheme
from tests import factories
from tests.helpers import logged_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def pension(db):
    return factories.scheme("PENSION", name="Social pension", guarantee="OLD_AGE",
                            means_tested=True, currency="USD")


def test_criteria_are_declared_listed_and_audited(pension):
    runner = CliRunner()
    done = runner.invoke(cli, ["scheme", "criteria", "PENSION", "--age-from", "65",
                               "--income-threshold", "1200.50"])
    assert done.exit_code == 0, done.output
    pension.refresh_from_db()
    assert (pension.eligible_age_from, pension.eligible_age_to) == (65, None)
    assert pension.income_threshold_minor == 120050
    event = AuditEvent.objects.get(action="scheme.criteria_set")
    assert event.detail["before"]["age_from"] is None
    assert event.detail["after"]["income_threshold_minor"] == 120050
    listed = runner.invoke(cli, ["scheme", "list"]).output
    assert "PENSION\tOLD_AGE\tages 65-; yearly income <= 1,200.50 USD" in listed
    # Giving none clears them.
    assert runner.invoke(cli, ["scheme", "criteria", "PENSION"]).exit_code == 0
    assert "no criteria declared" in runner.invoke(cli, ["scheme", "list"]).output


@pytest.mark.parametrize("args, message", [
    (["--age-from", "70", "--age-to", "60"], "after the last"),
    (["--age-from", "200"], "between 0 and 130"),
    (["--income-threshold", "-5"], "cannot be negative"),
])
def test_impossible_criteria_are_refused_and_nothing_changes(pension, args, message):
    done = CliRunner().invoke(cli, ["scheme", "criteria", "PENSION", *args])
    assert done.exit_code != 0 and message in done.output
    pension.refresh_from_db()
    assert pension.eligible_age_from is None
    assert not AuditEvent.objects.filter(action="scheme.criteria_set").exists()


def test_an_unknown_scheme_is_named(db):
    done = CliRunner().invoke(cli, ["scheme", "criteria", "NOPE", "--age-from", "1"])
    assert done.exit_code != 0 and "NOPE" in done.output


def test_the_scheme_page_shows_the_criteria(pension, make_user):
    factories.area_levels(["Country"])
    factories.area("XY", name="Country")
    client = logged_in(make_user("STATISTICIAN"))
    page = client.get("/schemes/PENSION/").content.decode()
    assert "none the registry can check" in page
    Scheme.objects.filter(pk=pension.pk).update(eligible_age_from=65, eligible_disability_from=2)
    page = client.get("/schemes/PENSION/").content.decode()
    assert "ages 65\N{EN DASH}" in page and "disability level at least 2" in page


def test_the_scheme_page_says_whether_it_is_social_assistance_and_covers_injury(pension,
                                                                               make_user):
    factories.area_levels(["Country"])
    factories.area("XY", name="Country")
    Scheme.objects.filter(pk=pension.pk).update(social_assistance=True)
    page = logged_in(make_user("STATISTICIAN")).get("/schemes/PENSION/").content.decode()
    assert "Social assistance</dt><dd>yes" in page
    assert "Covers employment injury</dt><dd>no" in page


def test_the_scheme_page_reports_exits_without_an_end_date(pension, make_user):
    factories.area_levels(["Country"])
    area = factories.area("XY", name="Country")
    source = factories.source("NSR")
    exit_file = factories.submission(source)
    for lineage in (exit_file, exit_file, None):
        factories.enrolment(factories.person(area=area, source=source), pension, source=source,
                            status="EXITED", changed_by_submission=lineage)
    page = logged_in(make_user("STATISTICIAN")).get("/schemes/PENSION/").content.decode()
    assert "2 exited enrolments have no end date" in page
    assert "1 have no end date and no submission either" in page
