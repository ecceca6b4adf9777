"""The upload page's draft button in real Chromium: no period needed, the draft comes back
into the page through htmx, nothing is submitted."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from spmis.access.policy import Permission
from spmis.intake.models import Submission
from spmis.intake.selectors import expected_columns, source_list_for_user

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("country")]

FILE = ("Lista de benefici\u00e1rios\n\n"
        "Nome completo;Sexo;Data de nascimento;Munic\u00edpio;Valor\n"
        "Jo\u00e3o da Silva;M;1980-04-03;XY0101001;128,47\n").encode("cp1252")


def test_a_mapping_is_drafted_from_the_chosen_file(log_in, make_user, live_server):
    page = log_in(make_user("DATA_COLLECTOR"))
    page.goto(f"{live_server.url}/intake/upload/")
    page.set_input_files("#file", files=[{"name": "lista.csv", "mimeType": "text/csv",
                                          "buffer": FILE}])
    page.get_by_role("button", name="Draft a mapping from this file").click()
    draft = page.locator("#draft")
    expect(draft).to_contain_text("given_name: {from: \"Nome completo\", part: first}")
    expect(draft).to_contain_text("header_row: 3")
    expect(page).to_have_url(re.compile(r"/intake/upload/$"))
    assert not Submission.objects.exists()


def test_choosing_a_source_shows_its_columns(log_in, make_user, live_server):
    user = make_user("DATA_COLLECTOR")
    source = next(s for s in source_list_for_user(user=user, permission=Permission.SUBMIT_DATA)
                  if expected_columns(source=s))
    page = log_in(user)
    page.goto(f"{live_server.url}/intake/upload/")
    expect(page.locator("#expected table")).to_have_count(0)
    page.select_option("#source", source.code)
    first = expected_columns(source=source)[0].column
    expect(page.locator("#expected table")).to_contain_text(first)
