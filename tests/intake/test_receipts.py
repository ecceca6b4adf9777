"""Small things users hit: the receipt date of a file (CLI --received-at, the upload page's
receipt date), an identical file again said to be a repeat at every door, and error reports
that name the file's columns, never spmis's own."""

from __future__ import annotations

import datetime as dt

import pytest
from click.testing import CliRunner
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from spmis.audit.models import AuditEvent
from spmis.cli.main import cli
from spmis.intake.models import Submission, SubmissionIssue
from tests.helpers import logged_in
from tests.intake import helpers as ts
from tests.intake.helpers import good_file

pytestmark = pytest.mark.django_db
REPEAT = "Already received as submission {}; nothing changed."


def submit(path, *extra: str):
    return CliRunner().invoke(cli, ["intake", "submit", "--source", "NGO_X", "--period",
                                    "2026-05", *extra, str(path)])


def test_cli_takes_the_receipt_time_and_says_a_repeat_is_one(ngo, tmp_path):
    path = tmp_path / "list.csv"
    path.write_bytes(good_file())
    future = submit(path, "--received-at", "2100-01-01")
    assert future.exit_code == 1 and "cannot be received in the future" in future.output
    ancient = submit(path, "--received-at", "1800-01-01")
    assert ancient.exit_code == 2 and "before 1900" in ancient.output
    assert submit(path, "--received-at", "03/06/2026").exit_code == 2
    assert not Submission.objects.exists()
    done = submit(path, "--received-at", "2026-06-03T09:30")
    assert done.exit_code == 0 and "persons inserted: 2" in done.output, done.output
    submission = Submission.objects.get()
    assert timezone.localtime(submission.received_at).replace(tzinfo=None) == \
        dt.datetime(2026, 6, 3, 9, 30)
    load = AuditEvent.objects.get(action="submission.load")
    assert load.detail["received_at"].startswith("2026-06-03")
    again = submit(path)
    assert again.exit_code == 0
    assert REPEAT.format(submission.pk) in again.output
    assert "inserted" not in again.output and "2026-06-03 09:30" in again.output
    assert Submission.objects.count() == 1


def upload(client, data: bytes, follow: bool = False, **form: str):
    return client.post("/intake/upload/", {
        "source": "NGO_HOME", "period": "2026-05",
        "file": SimpleUploadedFile("list.csv", data, "text/csv"), **form}, follow=follow)


def test_upload_page_takes_a_receipt_date_and_says_a_repeat_is_one(places, make_user):
    client = logged_in(make_user("DATA_COLLECTOR", area=places["home"].code))
    page = client.get("/intake/upload/").content.decode()
    assert 'name="received_on"' in page and f'max="{timezone.localdate():%Y-%m-%d}"' in page
    tomorrow = timezone.localdate() + dt.timedelta(days=1)
    refused = upload(client, good_file(), received_on=f"{tomorrow:%Y-%m-%d}")
    assert refused.status_code == 400
    assert "The receipt date cannot be in the future" in refused.content.decode()
    assert upload(client, good_file(), received_on="03/06/2026").status_code == 400
    assert not Submission.objects.exists()
    done = upload(client, good_file(), received_on="2026-06-03")
    assert done.status_code == 303
    submission = Submission.objects.get()
    assert timezone.localtime(submission.received_at).date() == dt.date(2026, 6, 3)
    assert "Submission received: loaded." in client.get(done["Location"]).content.decode()
    again = upload(client, good_file(), follow=True)
    body = again.content.decode()
    assert again.redirect_chain[-1][0] == f"/intake/submissions/{submission.pk}/"
    assert REPEAT.format(submission.pk) in body and "Submission received" not in body
    assert Submission.objects.count() == 1
    today = upload(client, ts.csv_bytes([ts.row(ref="B9")]),
                   received_on=f"{timezone.localdate()}")
    assert today.status_code == 303  # today: received now


def test_a_push_of_the_same_content_says_it_is_a_repeat(places, make_user, api_for):
    api = api_for(make_user("DATA_COLLECTOR", area=places["home"].code))

    def push(key: str):
        return api.post("/api/v1/submissions/", {
            "source": "NGO_HOME", "period": "2026-05",
            "file": SimpleUploadedFile("list.csv", good_file(), "text/csv")},
            format="multipart", HTTP_IDEMPOTENCY_KEY=key)

    first = push("k-1")
    assert first.status_code == 201 and first.json()["repeat"] is False
    assert "note" not in first.json()
    for key in ("k-2", "k-1"):  # the same content under a new key; the same key again
        again = push(key)
        assert again.status_code == 200
        assert again.json()["repeat"] is True and again.json()["id"] == first.json()["id"]
        assert again.json()["note"] == REPEAT.format(first.json()["id"])
    assert Submission.objects.count() == 1


def test_issues_name_the_files_columns_never_internal_ones(places):
    bad = ts.csv_bytes([ts.row(), ts.row(ref="B2", commune="ZZ99"),
                        ts.row(ref="B3", commune=places["away"].code), ts.row(ref="B4",
                                                                             month="2026-04")])
    done = ts.submit(bad, source="NGO_HOME")
    columns = {i.rule: i.column for i in done.issues.all()}
    assert columns == {"area": "Commune", "out_of_area": "Commune",
                       "period_mismatch": "Mois"}, columns
    unfit = ts.submit(good_file().replace(b"Commune", b"Town"), source="NGO_HOME",
                      period="2026-06")
    shown = [unfit.message, *(i.column + i.message for i in SubmissionIssue.objects.all())]
    assert "'Commune'" in unfit.message or "Commune" in unfit.message
    assert not [text for text in shown if "_row" in text or "__" in text], shown
