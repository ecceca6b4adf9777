"""Effective-dated national parameters: one set of age groups and bands, read by the catalogue,
the engine, the SDMX export and disclosure control; a period uses the version in force."""

from __future__ import annotations

import datetime as dt
import textwrap

import pytest

from spmis.core.parameters import ParameterError, load, parameters_in_force
from spmis.indicators.catalogue import catalogue

TWO_VERSIONS = """
- valid_from: 2000-01-01
  age_groups: {CHILDREN: [0, 14], WORKING_AGE: [15, 59], OLD_AGE: [60, null]}
  age_bands:
    - {label: "0-14", ages: [0, 14], sdmx: Y0T14}
    - {label: "15-59", ages: [15, 59], sdmx: Y15T59}
    - {label: "60+", ages: [60, null], sdmx: Y_GE60}
- valid_from: 2026-01-01
  source: Pension reform act, 2025
  age_groups: {CHILDREN: [0, 17], WORKING_AGE: [18, 64], OLD_AGE: [65, null]}
  age_bands:
    - {label: "0-17", ages: [0, 17], sdmx: Y0T17}
    - {label: "18-64", ages: [18, 64], sdmx: Y18T64}
    - {label: "65+", ages: [65, null], sdmx: Y_GE65}
"""


@pytest.fixture
def two_versions(tmp_path, settings):
    path = tmp_path / "parameters.yaml"
    path.write_text(TWO_VERSIONS)
    settings.SPMIS_PARAMETERS_FILE = str(path)
    return path


def test_the_version_in_force_on_a_day(two_versions):
    assert parameters_in_force(dt.date(2025, 12, 31)).ages_of("OLD_AGE") == (60, None)
    newer = parameters_in_force(dt.date(2026, 1, 1))
    assert newer.ages_of("OLD_AGE") == (65, None) and newer.source == "Pension reform act, 2025"
    with pytest.raises(ParameterError, match="No parameters are in force"):
        parameters_in_force(dt.date(1999, 12, 31))


def test_the_catalogue_takes_the_guarantees_ages_of_the_period(two_versions):
    def ages(day, code):
        found = next(i for i in catalogue(day) if i.code == code)
        return found.age_from, found.age_to

    assert ages(dt.date(2025, 6, 30), "COV_CHILDREN") == (0, 14)
    assert ages(dt.date(2025, 6, 30), "SOC_CONTIG_PENSION") == (60, None)
    assert ages(dt.date(2026, 6, 30), "COV_OLD_AGE") == (65, None)
    assert ages(dt.date(2026, 6, 30), "COV_ANY") == (0, None)  # not a guarantee's group


def test_the_shipped_file_is_the_usual_one():
    shipped = parameters_in_force(dt.date(2026, 1, 1))
    assert [b.label for b in shipped.age_bands] == ["0-17", "18-64", "65+"]
    assert shipped.ages_of("CHILDREN") == (0, 17)


@pytest.mark.parametrize(("text", "problem"), [
    ("[]", "non-empty list"),
    ("- valid_from: 2020-01-01\n  age_groups: {CHILDREN: [0, 17]}\n  age_bands: []",
     "exactly CHILDREN"),
    ("""- valid_from: 2020-01-01
  age_groups: {CHILDREN: [0, 17], WORKING_AGE: [18, 64], OLD_AGE: [65, null]}
  age_bands:
    - {label: "0-17", ages: [0, 17], sdmx: A}
    - {label: "20+", ages: [20, null], sdmx: B}""", "follow each other"),
    ("""- valid_from: 2020-01-01
  age_groups: {CHILDREN: [10, 5], WORKING_AGE: [18, 64], OLD_AGE: [65, null]}
  age_bands: [{label: "all", ages: [0, null], sdmx: _T}]""", "not a range"),
    ("- valid_from: someday\n  age_groups: {}\n  age_bands: []", "version 1"),
])
def test_a_bad_file_is_refused_with_its_problem_named(tmp_path, text, problem):
    path = tmp_path / "bad.yaml"
    path.write_text(textwrap.dedent(text))
    with pytest.raises(ParameterError, match=problem):
        load(path)
