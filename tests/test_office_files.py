"""Synthetic district offices: messy files written by `synth --office-files`, taken in by intake."""

from __future__ import annotations

import datetime as dt

import pytest
from click.testing import CliRunner

from spmis.cli.main import cli
from spmis.core.errors import ValidationFailed
from spmis.intake.models import Source, Submission, SubmissionStatus
from spmis.intake.parsers import parse_file
from spmis.intake.rates import late_or_missing
from spmis.intake.services import submission_submit
from spmis.registry.models import Person
from spmis.schemes.models import Enrolment
from spmis.synth.services import office_files_ingest
from tests.datasets import OFFICE_PERSONS as PERSONS
from tests.helpers import AS_OF

pytestmark = pytest.mark.django_db

# ``offices`` (tests/conftest.py): the country synthesised with ``office_files``, and the folder
# of files written; built once per session, a copy of the database for each test.


def test_held_back_districts_are_written_in_three_formats(offices):
    country, files = offices
    held = country.truth["offices"]
    assert held.height > 0 and held["office_area"].n_unique() == 3
    surveyed = held.filter("surveyed").height  # also in the national registry
    assert 0 < surveyed < held.height
    assert Person.objects.count() == PERSONS - held.height + surveyed
    names = sorted(p.name for p in files.iterdir())
    assert len([n for n in names if n.endswith(".yaml")]) == 5  # offices, CRVS, tax
    formats = {}
    for path in files.iterdir():
        if path.suffix in (".csv", ".xlsx") and path.name.startswith("CSW_"):
            parsed = parse_file(path.read_bytes(), filename=path.name)
            formats[path.name.split("_2026")[0]] = (parsed.format, parsed.encoding,
                                                    parsed.delimiter)
    assert sorted(formats.values(), key=str) == sorted(
        [("csv", "cp1252", ";"), ("xlsx", None, None), ("odk", "utf-8-sig", ",")], key=str)


def test_ingest_loads_each_office_once_with_errors_reported(offices):
    country, files = offices
    everything = office_files_ingest(actor=None, directory=files)
    registries = {s.source.code: s.status for s in everything if not s.source.code.startswith(
        "CSW_")}
    assert registries == {"CRVS": SubmissionStatus.LOADED, "TAX": SubmissionStatus.LOADED}
    done = [s for s in everything if s.source.code.startswith("CSW_")]
    assert len(done) == 8  # three months from three offices, one never sent
    assert {s.status for s in done} == {SubmissionStatus.PARTIAL}
    assert all(0 < s.rows_rejected < s.rows_total * 0.02 for s in done)
    rejected = Submission.objects.get(pk=done[0].pk).issues.values_list("rule", flat=True)
    # The odd sex code, and so the person's rows no longer agreeing with each other.
    assert "code_list" in set(rejected) <= {"code_list", "duplicate_id"}
    held = country.truth["offices"]
    for code in Source.objects.filter(code__startswith="CSW_").values_list("code", flat=True):
        people = Person.objects.filter(source__code=code)
        # One record per person however many months and schemes the files repeat them in.
        assert people.count() == people.values("source_ref").distinct().count()
    loaded = Person.objects.filter(source__code__startswith="CSW_").count()
    assert 0.95 * held.height <= loaded <= held.height
    assert Enrolment.objects.filter(source__code__startswith="CSW_").exists()
    again = office_files_ingest(actor=None, directory=files)
    assert [s.pk for s in again] == [s.pk for s in everything]  # the same files: no change
    from spmis.audit.models import AuditEvent

    assert AuditEvent.objects.filter(action="source.create").count() == 5  # once each


def test_late_and_missing_offices_show_in_reporting_rates(offices):
    _, files = offices
    office_files_ingest(actor=None, directory=files)
    states = {s.source_code: s.state for s in
              late_or_missing(user=None, period=AS_OF.replace(day=1), today=dt.date(2026, 9, 1))}
    offices_only = sorted(v for k, v in states.items() if k.startswith("CSW_"))
    assert offices_only == ["late", "missing", "on time"]


def test_a_file_cannot_be_received_in_the_future(offices):
    _, files = offices
    office_files_ingest(actor=None, directory=files)
    path = next(files.glob("*.xlsx"))
    code = path.name.split("_2026")[0]
    with pytest.raises(ValidationFailed, match="future"):
        submission_submit(actor=None, source_code=code, period=AS_OF.replace(day=1),
                          filename=path.name, data=path.read_bytes(),
                          received_at=dt.datetime(2999, 1, 1, tzinfo=dt.UTC))


def test_cli_writes_and_ingests_office_files(tmp_path):
    runner = CliRunner()
    out = tmp_path / "offices"
    result = runner.invoke(cli, ["synth", "--persons", str(PERSONS), "--as-of", "2026-06-30",
                                 "--office-files", str(out)])
    assert result.exit_code == 0, result.output
    result = runner.invoke(cli, ["synth-ingest", str(out)])
    assert result.exit_code == 0, result.output
    assert result.output.count("PARTIAL") == 8
