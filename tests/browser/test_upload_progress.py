"""Real Chromium: a collector uploads a file, lands on the submission's page and watches its load
go through its stages to "Loaded" while the page polls, without the page being reloaded."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from spmis.access.models import Clearance
from spmis.intake.models import Source, Submission, SubmissionStatus
from spmis.intake.services import mapping_save
from tests import factories

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("country")]

MAPPING = """
version: 1
fields:
  person_ref: {from: "id"}
  given_name: {from: "given"}
  family_name: {from: "family"}
  sex: {from: "sex", codes: {"M": "M", "F": "F"}}
  date_of_birth: {from: "born", date_format: "%Y-%m-%d"}
  area: {from: "commune"}
  scheme: {constant: "CHILD_GRANT"}
"""


@pytest.fixture
def source() -> Source:
    made = factories.source("NGO_PROGRESS", kind="NGO", name="NGO Progress",
                            schemes=("CHILD_GRANT",))
    mapping_save(actor=None, source_code=made.code, text=MAPPING)
    return made


def test_the_upload_shows_its_load_reaching_loaded_without_a_reload(log_in, live_server,
                                                                      source):
    collector = factories.user("DATA_COLLECTOR", area="XY", username="collector_progress",
                               clearance=Clearance.SECRET)
    commune = "XY0101001"
    rows = [f"P{i},Ana,Lee,{'F' if i % 2 else 'M'},1990-01-{1 + i % 28:02d},{commune}"
            for i in range(400)]
    data = ("id,given,family,sex,born,commune\n" + "\n".join(rows) + "\n").encode()
    page = log_in(collector)
    page.goto(f"{live_server.url}/intake/upload/")
    page.select_option("#source", source.code)
    page.fill("#period", "2026-05")
    page.set_input_files("#file", files=[{"name": "list.csv", "mimeType": "text/csv",
                                          "buffer": data}])
    page.get_by_role("button", name="Upload", exact=True).click()
    page.wait_for_url(re.compile(r"/intake/submissions/\d+/$"))
    expect(page.locator("#progress")).to_be_visible()
    page.evaluate("window.stillThisPage = true")  # gone if the page were loaded again
    progress = page.locator("#progress")
    expect(progress).to_have_attribute("data-stage", "loaded", timeout=60_000)
    assert page.evaluate("window.stillThisPage") is True
    expect(page.locator("h1 #submission-status")).to_have_text("loaded")  # the heading too
    expect(progress.locator(".message.success")).to_contain_text("Submission received: loaded.")
    steps = progress.locator("li.load-step")
    expect(steps.first).to_contain_text("Received")
    expect(progress).to_contain_text("persons: 400 of 400 rows")
    expect(progress.locator("#load-progress")).to_have_attribute("value", "100")
    stages = [s.get_attribute("data-stage") for s in steps.all()]
    assert stages[:3] == ["received", "parsing", "validating"] and stages[-1] == "loaded"
    assert set(stages[3:-1]) == {"loading"} and len(stages) > 4, stages
    assert Submission.objects.get().status == SubmissionStatus.LOADED
