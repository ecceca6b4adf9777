"""What a later submission must not change, and what a blank must not become."""

from __future__ import annotations

import datetime as dt

import pytest

from spmis.intake.models import SubmissionStatus
from spmis.intake.services import mapping_save
from spmis.registry.models import Person
from spmis.schemes.models import Enrolment
from tests.intake import helpers
from tests.intake.helpers import HEADER, MAY, csv_bytes, row, submit

pytestmark = pytest.mark.django_db
JUNE = dt.date(2026, 6, 1)


def test_a_later_submission_moves_no_enrolment_start_and_no_registration_date(ngo):
    """The mapping gives no start date: an enrolment starts in the month it first arrives."""
    first = submit(csv_bytes([row(ref="B1")]))
    assert first.status == SubmissionStatus.LOADED, first.message
    enrolment = Enrolment.objects.get(source__code="NGO_X")
    person = Person.objects.get(source__code="NGO_X")
    assert enrolment.start_date == MAY
    june = submit(csv_bytes([row(ref="B1", month="2026-06")]), period="2026-06")
    assert june.status == SubmissionStatus.LOADED, june.message
    enrolment.refresh_from_db()
    assert enrolment.start_date == MAY  # not moved to June
    assert Person.objects.get(pk=person.pk).registered_on == person.registered_on
    assert "persons unchanged: 1" in june.message and "enrolments unchanged: 1" in june.message


def test_a_blank_disability_answer_is_unknown_not_no_difficulty(ngo):
    mapping_save(actor=None, source_code="NGO_X", text=helpers.MAPPING + (
        '  disability_level: {from: "WG", codes: {"0": "0", "1": "1", "2": "2", "3": "3"}}\n'))
    header = HEADER + ";WG"
    data = "\n".join([header, row(ref="B1") + ";2", row(ref="B2", hh="H2") + ";"]) + "\n"
    done = helpers.submission_submit(actor=None, source_code="NGO_X", period=MAY,
                                     filename="list.csv", data=data.encode("cp1252"))
    assert done.status == SubmissionStatus.LOADED, done.message
    levels = dict(Person.objects.filter(source__code="NGO_X").values_list("source_ref",
                                                                          "disability_level"))
    assert levels == {"B1": 2, "B2": None}


def test_a_field_the_mapping_stops_giving_keeps_its_value(ngo):
    """A level sent in May stays when June's file comes without the column."""
    mapping_save(actor=None, source_code="NGO_X", text=helpers.MAPPING + (
        '  disability_level: {from: "WG", codes: {"0": "0", "1": "1", "2": "2", "3": "3"}}\n'))
    data = "\n".join([HEADER + ";WG", row(ref="B1") + ";3"]) + "\n"
    helpers.submission_submit(actor=None, source_code="NGO_X", period=MAY, filename="may.csv",
                              data=data.encode("cp1252"))
    mapping_save(actor=None, source_code="NGO_X", text=helpers.MAPPING)
    june = submit(csv_bytes([row(ref="B1", month="2026-06")]), period="2026-06")
    assert june.status == SubmissionStatus.LOADED, june.message
    assert Person.objects.get(source__code="NGO_X").disability_level == 3


def test_a_file_with_no_valid_row_is_refused_and_supersedes_nothing(ngo):
    good = submit(csv_bytes([row(ref="B1")]))
    assert good.status == SubmissionStatus.LOADED
    bad = submit(csv_bytes([row(ref="B1", sex="X"), row(ref="B2", hh="H2", dob="31/02/1990")]))
    assert bad.status == SubmissionStatus.REFUSED
    assert "None of the 2 rows is valid" in bad.message
    assert bad.rows_rejected == 2 and bad.issues.count() >= 2  # the report is kept
    good.refresh_from_db()
    assert good.status == SubmissionStatus.LOADED and bad.supersedes is None
    assert Person.objects.get(source__code="NGO_X").sex == "F"
