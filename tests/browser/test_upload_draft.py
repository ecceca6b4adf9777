"""The upload page in real Chromium: choosing a source shows its columns, and the draft button
needs no period, comes back into the page through htmx and submits nothing."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from spmis.intake.models import Source, Submission
from spmis.intake.services import mapping_save
from tests import factories

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("country")]

FILE = ("Lista de benefici\u00e1rios\n\n"
        "Nome completo;Sexo;Data de nascimento;Munic\u00edpio;Valor\n"
        "Jo\u00e3o da Silva;M;1980-04-03;XY0101001;128,47\n").encode("cp1252")
MAPPING = """
version: 1
fields:
  person_ref: {from: "Número"}
  given_name: {from: "Nome"}
  sex: {from: "Sexo", codes: {"M": "M", "F": "F"}}
  date_of_birth: {from: "Nascimento", date_format: "%d/%m/%Y"}
  area: {from: "Município"}
"""


@pytest.fixture
def source() -> Source:
    """A national NGO source with a mapping (the synthetic country's may have none)."""
    made = factories.source("NGO_BROWSER", kind="NGO", name="NGO Browser",
                            schemes=("CHILD_GRANT",))
    mapping_save(actor=None, source_code=made.code, text=MAPPING)
    return made


def test_a_mapping_is_drafted_from_the_chosen_file(log_in, make_user, live_server, source):
    page = log_in(make_user("DATA_COLLECTOR"))
    page.goto(f"{live_server.url}/intake/upload/")
    page.select_option("#source", source.code)
    page.set_input_files("#file", files=[{"name": "lista.csv", "mimeType": "text/csv",
                                          "buffer": FILE}])
    page.get_by_role("button", name="Draft a mapping from this file").click()
    draft = page.locator("#draft")
    expect(draft).to_contain_text("given_name: {from: \"Nome completo\", part: first}")
    expect(draft).to_contain_text("header_row: 3")
    expect(page).to_have_url(re.compile(r"/intake/upload/$"))
    assert not Submission.objects.exists()


def test_choosing_a_source_shows_its_columns(log_in, make_user, live_server, source):
    page = log_in(make_user("DATA_COLLECTOR"))
    page.goto(f"{live_server.url}/intake/upload/")
    expect(page.locator("#expected table")).to_have_count(0)
    page.select_option("#source", source.code)
    expect(page.locator("#expected table")).to_contain_text("Município")
    expect(page.locator("#expected")).to_contain_text("Número;Nome;Sexo;Nascimento;Município")
