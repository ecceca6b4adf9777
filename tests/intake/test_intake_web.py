"""Submission pages: upload, detail, error reports, and the scope around them."""

from __future__ import annotations

import datetime as dt
import io

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from spmis.geography.models import Area
from spmis.intake.models import Submission, SubmissionStatus
from spmis.intake.selectors import submission_list_for_user
from spmis.intake.services import submission_submit
from tests.helpers import logged_in
from tests.intake import helpers as ts
from tests.intake.helpers import bad_file, good_file

pytestmark = pytest.mark.django_db


def upload(client, data: bytes, source="NGO_HOME", period="2026-05", name="list.csv", **extra):
    return client.post("/intake/upload/", {
        "source": source, "period": period, "file": SimpleUploadedFile(name, data, "text/csv"),
    }, **extra)


def test_collector_uploads_and_sees_the_loaded_submission(places, make_user):
    client = logged_in(make_user("DATA_COLLECTOR", area=places["home"].code))
    form = client.get("/intake/upload/")
    assert form.status_code == 200
    page = form.content.decode()
    assert 'hx-encoding="multipart/form-data"' in page and "htmx:xhr:progress" in page
    assert "NGO_HOME" in page and "NGO_AWAY" not in page  # only the sources in scope
    response = upload(client, good_file())
    assert response.status_code == 303
    submission = Submission.objects.get()
    assert response["Location"] == f"/intake/submissions/{submission.pk}/"
    detail = client.get(response["Location"])
    assert detail.status_code == 200
    body = detail.content.decode()
    assert "LOADED" in body and "NGO_HOME" in body
    listing = client.get("/intake/submissions/?source=NGO_HOME&period=2026-05")
    assert f"/intake/submissions/{submission.pk}/" in listing.content.decode()


def test_htmx_upload_redirects_with_a_header(places, make_user):
    client = logged_in(make_user("DATA_COLLECTOR", area=places["home"].code))
    response = upload(client, good_file(), HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert response["HX-Redirect"] == f"/intake/submissions/{Submission.objects.get().pk}/"


def test_upload_refusals_are_messages(places, make_user):
    client = logged_in(make_user("DATA_COLLECTOR", area=places["home"].code))
    response = upload(client, good_file(), source="NGO_AWAY")  # outside the user's scope
    assert response.status_code == 400
    assert "Choose one of your sources." in response.content.decode()
    response = upload(client, good_file(), period="May 2026")
    assert response.status_code == 400 and "YYYY-MM" in response.content.decode()
    assert not Submission.objects.exists()
    refused = upload(client, b"\x00\x01binary", name="list.csv")  # recorded, with a message
    assert refused.status_code == 303
    detail = client.get(refused["Location"]).content.decode()
    assert "REFUSED" in detail and "Traceback" not in detail


def test_upload_needs_csrf(places, make_user):
    client = logged_in(make_user("DATA_COLLECTOR", area=places["home"].code))
    client.handler.enforce_csrf_checks = True
    assert upload(client, good_file()).status_code == 403
    assert not Submission.objects.exists()


def test_registrar_may_not_upload(places, make_user):
    client = logged_in(make_user("REGISTRAR", area=places["home"].code))
    assert client.get("/intake/upload/").status_code == 403
    assert upload(client, good_file()).status_code == 403
    assert not Submission.objects.exists()
    assert client.get("/intake/submissions/").status_code == 200  # viewing is allowed


def test_error_report_downloads_as_csv_and_xlsx(places, make_user):
    client = logged_in(make_user("DATA_COLLECTOR", area=places["home"].code))
    upload(client, bad_file())
    submission = Submission.objects.get()
    assert submission.status == SubmissionStatus.PARTIAL, submission.message
    detail = client.get(f"/intake/submissions/{submission.pk}/").content.decode()
    assert "PARTIAL" in detail and "errors.csv" in detail and "errors.xlsx" in detail
    csv = client.get(f"/intake/submissions/{submission.pk}/errors.csv")
    assert csv.status_code == 200
    assert csv["Content-Type"].startswith("text/csv")
    assert csv["Content-Disposition"].startswith("attachment;")
    lines = csv.content.decode().splitlines()
    assert lines[0] == "row,column,value,rule,message" and len(lines) > 1
    xlsx = client.get(f"/intake/submissions/{submission.pk}/errors.xlsx")
    assert xlsx.status_code == 200
    assert xlsx["Content-Type"] == ("application/vnd.openxmlformats-officedocument"
                                    ".spreadsheetml.sheet")
    assert "attachment;" in xlsx["Content-Disposition"]
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == ("row", "column", "value", "rule", "message")
    assert len(rows) == len(lines)
    assert client.get(f"/intake/submissions/{submission.pk}/errors.pdf").status_code == 404


def test_submissions_outside_the_scope_are_not_found(places, make_user):
    ts.COMMUNE = Area.objects.filter(level=3, path__startswith=places["away"].path).first().code
    theirs = submission_submit(actor=None, source_code="NGO_AWAY", period=dt.date(2026, 5, 1),
                               filename="list.csv", data=bad_file())
    client = logged_in(make_user("DATA_COLLECTOR", area=places["home"].code))
    assert client.get(f"/intake/submissions/{theirs.pk}/").status_code == 404
    assert client.get(f"/intake/submissions/{theirs.pk}/errors.csv").status_code == 404
    assert client.get("/intake/submissions/999999/").status_code == 404
    assert f"/intake/submissions/{theirs.pk}/" not in client.get(
        "/intake/submissions/").content.decode()
    national = logged_in(make_user("DATA_COLLECTOR", area="XY", username="national"))
    assert national.get(f"/intake/submissions/{theirs.pk}/").status_code == 200


def test_sources_without_an_area_are_for_national_users(places, make_user):
    ts.ngo_source("MINISTRY_X", None)
    submission = submission_submit(actor=None, source_code="MINISTRY_X",
                                   period=dt.date(2026, 5, 1), filename="list.csv",
                                   data=good_file())
    district = make_user("SCHEME_MANAGER", area=places["home"].code)
    national = make_user("SCHEME_MANAGER", area="XY")
    assert submission not in submission_list_for_user(user=district)
    assert submission in submission_list_for_user(user=national)


def test_navigation_shows_the_new_pages_by_permission(places, make_user):
    collector = logged_in(make_user("DATA_COLLECTOR", area=places["home"].code)).get("/")
    assert "/intake/upload/" in collector.content.decode()
    assert "/intake/submissions/" in collector.content.decode()
    registrar = logged_in(make_user("REGISTRAR", area=places["home"].code)).get("/")
    assert "/intake/upload/" not in registrar.content.decode()
