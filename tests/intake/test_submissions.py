"""Submissions end to end: a messy file, a mapping, validation, atomic idempotent loads."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from spmis.audit.models import AuditEvent
from spmis.cli.main import cli
from spmis.intake.models import Source, Submission, SubmissionStatus
from spmis.payments.models import BenefitPayment
from spmis.registry.models import Household, Person
from spmis.schemes.models import Enrolment
from tests.intake.helpers import HEADER, csv_bytes, row, submit

pytestmark = pytest.mark.django_db

# ``ngo`` (tests/intake/conftest.py): NGO X and its mapping (tests/intake/helpers.py).


def test_messy_csv_loads_with_lineage(ngo):
    data = csv_bytes([row(), row(ref="B2", given="Théo", sex="H", dob="01/02/2015", rel="EN")])
    done = submit(data)
    assert done.status == SubmissionStatus.LOADED, done.message
    assert (done.rows_total, done.rows_loaded, done.rows_rejected) == (2, 2, 0)
    people = Person.objects.filter(source=ngo).order_by("source_ref")
    assert [(p.source_ref, p.given_name, p.sex) for p in people] == [
        ("B1", "Amélie", "F"), ("B2", "Théo", "M")]
    assert {p.created_by_submission_id for p in people} == {done.pk}
    assert people[1].household == people[0].household
    assert Household.objects.get(source=ngo).created_by_submission_id == done.pk
    assert Enrolment.objects.filter(source=ngo, scheme__code="CHILD_GRANT").count() == 2
    assert sorted(BenefitPayment.objects.filter(source=ngo).values_list(
        "amount_minor", flat=True)) == [1500, 1500]
    assert AuditEvent.objects.filter(action="submission.load", object_id=str(done.pk)).exists()


def test_same_content_again_changes_nothing(ngo):
    data = csv_bytes([row()])
    first = submit(data)
    events = AuditEvent.objects.count()
    again = submit(data)
    assert again.pk == first.pk
    assert Submission.objects.count() == 1 and AuditEvent.objects.count() == events


def test_correction_supersedes_and_history_keeps_both(ngo):
    first = submit(csv_bytes([row(), row(ref="B2", rel="EN", dob="01/02/2015")]))
    fixed = submit(csv_bytes([row(family="Dubois-Martin"),
                              row(ref="B2", rel="EN", dob="01/02/2015")]))
    first.refresh_from_db()
    assert first.status == SubmissionStatus.SUPERSEDED and fixed.supersedes == first
    b1 = Person.objects.get(source=ngo, source_ref="B1")
    b2 = Person.objects.get(source=ngo, source_ref="B2")
    assert b1.family_name == "Dubois-Martin"
    assert (b1.created_by_submission_id, b1.changed_by_submission_id) == (first.pk, fixed.pk)
    assert b2.changed_by_submission_id == first.pk  # the correction left it unchanged


def test_invalid_rows_are_quarantined_with_an_error_report(ngo):
    data = csv_bytes([row(), row(ref="B2", sex="X"), row(ref="B3", dob="31/02/2010"),
                      row(ref="B4", commune="ZZ999")])
    done = submit(data)
    assert done.status == SubmissionStatus.PARTIAL
    assert (done.rows_loaded, done.rows_rejected) == (1, 3)
    assert list(Person.objects.filter(source=ngo).values_list("source_ref", flat=True)) == ["B1"]
    issues = {(i.row, i.rule) for i in done.issues.all()}
    assert {(3, "code_list"), (4, "date"), (5, "area")} <= issues
    report = CliRunner().invoke(cli, ["intake", "errors", str(done.pk), "--format", "csv"])
    assert report.exit_code == 0 and "ZZ999" in report.output
    assert report.output.splitlines()[0] == "row,column,value,rule,message"


def test_above_the_threshold_the_whole_submission_is_refused(ngo):
    ngo.policy = "REJECT"
    ngo.error_threshold = 10
    ngo.save()
    done = submit(csv_bytes([row(), row(ref="B2", sex="X")]))
    assert done.status == SubmissionStatus.REFUSED and "50.0%" in done.message
    assert not Person.objects.filter(source=ngo).exists()


@pytest.mark.parametrize("data,name,words", [
    (b"", "x.csv", "empty"),
    (HEADER.encode("cp1252") + b"\n", "x.csv", "header"),
    (b"PK\x03\x04garbage", "x.xlsx", "damaged"),
    # Colons are no separator anyone should use: say so rather than guess.
    (csv_bytes([row()]).replace(b";", b":"), "x.csv", "not separated by"),
    # Semicolons in the header, commas in the rows: the rows do not fit the header.
    (csv_bytes([row().replace(";", ",")]), "x.csv", "values but the header has"),
    (b"\x81\x8d\x8f\x90\x9d;x\n", "x.csv", "cannot read the file as text"),
])
def test_bad_files_are_refused_with_a_reason_and_nothing_loaded(ngo, data, name, words):
    done = submit(data, name=name)
    assert done.status == SubmissionStatus.REFUSED
    assert words in done.message.lower()
    assert not Person.objects.filter(source=ngo).exists()


def test_columns_missing_from_the_file_are_named(ngo):
    done = submit("Code bénéficiaire;Nom\nB1;Dubois\n".encode())
    assert done.status == SubmissionStatus.REFUSED and "Naissance" in done.message


def test_cli_submit_sources_and_status(ngo, tmp_path):
    path = tmp_path / "may.csv"
    path.write_bytes(csv_bytes([row()]))
    runner = CliRunner()
    assert "NGO_X" in runner.invoke(cli, ["intake", "sources"]).output
    done = runner.invoke(cli, ["intake", "submit", "--source", "NGO_X", "--period", "2026-05",
                               str(path)])
    assert done.exit_code == 0, done.output
    sid = done.stdout.split()[1].rstrip(":")  # stderr tells the stages
    assert "LOADED" in runner.invoke(cli, ["intake", "status", sid]).output
    path.write_bytes(b"")
    refused = runner.invoke(cli, ["intake", "submit", "--source", "NGO_X", "--period",
                                  "2026-05", str(path)])
    assert refused.exit_code == 1 and "REFUSED" in refused.output


def test_cli_refuses_an_oversized_file_before_reading_it(ngo, tmp_path):
    from spmis.intake import parsers

    big = tmp_path / "huge.csv"
    with big.open("wb") as handle:  # sparse: 2 GB on paper, nothing on disk
        handle.truncate(parsers.MAX_BYTES + 1)
    done = CliRunner().invoke(cli, ["intake", "submit", "--source", "NGO_X", "--period",
                                    "2026-05", str(big)])
    assert done.exit_code == 1 and "the limit is 512 MB" in done.output
    assert not Submission.objects.exists()


def test_a_new_synthetic_country_replaces_intake_history_too(ngo):
    import datetime as dt

    from spmis.synth.services import country_synthesise

    assert submit(csv_bytes([row()])).status == SubmissionStatus.LOADED
    country_synthesise(actor=None, persons=200, seed=2, as_of=dt.date(2026, 6, 30),
                       replace=True)
    assert not Submission.objects.exists() and not Source.objects.filter(code="NGO_X").exists()
    assert Person.objects.count() == 200
