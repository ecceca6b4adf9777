"""The push API: idempotent system-to-system submissions, scoped reads."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from spmis.intake.models import Submission, SubmissionStatus
from tests.intake import helpers as ts
from tests.intake.helpers import bad_file

pytestmark = pytest.mark.django_db
HEADER = ts.HEADER.split(";")


def records() -> list[dict[str, str]]:
    return [dict(zip(HEADER, ts.row().split(";"), strict=True)),
            dict(zip(HEADER, ts.row(ref="B2", given="Théo", sex="H", dob="01/02/2015",
                                    rel="EN").split(";"), strict=True))]


def push(api: APIClient, key: str | None = "batch-1", **body):
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key is not None else {}
    payload = {"source": "NGO_HOME", "period": "2026-05", "records": records(), **body}
    return api.post("/api/v1/submissions/", payload, format="json", **headers)


@pytest.fixture
def collector(places, make_user, api_for):
    return api_for(make_user("DATA_COLLECTOR", area=places["home"].code))


def test_same_key_returns_the_same_submission(collector):
    first = push(collector)
    assert first.status_code == 201, first.json()
    body = first.json()
    assert body["status"] == SubmissionStatus.LOADED, body["message"]
    assert body["counts"] == {"rows_total": 2, "rows_loaded": 2, "rows_rejected": 0}
    assert body["source"] == "NGO_HOME" and body["period"] == "2026-05"
    assert body["links"]["self"].endswith(f"/api/v1/submissions/{body['id']}/")
    assert body["links"]["errors_xlsx"].endswith(f"/intake/submissions/{body['id']}/errors.xlsx")
    again = push(collector)
    assert again.status_code == 200 and again.json()["id"] == body["id"]
    # even with a changed body: the key decides
    assert push(collector, records=records()[:1]).json()["id"] == body["id"]
    assert Submission.objects.count() == 1
    assert Submission.objects.get().filename == "push-batch-1.json"
    detail = collector.get(f"/api/v1/submissions/{body['id']}/")
    assert detail.status_code == 200 and detail.json()["id"] == body["id"]
    listing = collector.get("/api/v1/submissions/?source=NGO_HOME")
    assert [s["id"] for s in listing.json()["results"]] == [body["id"]]


def test_a_new_key_makes_a_new_submission(collector):
    assert push(collector, key="a").status_code == 201
    changed = records()
    changed[0]["Prénom"] = "Amélia"
    assert push(collector, key="b", records=changed).status_code == 201
    assert list(Submission.objects.order_by("id").values_list("status", flat=True)) == [
        SubmissionStatus.SUPERSEDED, SubmissionStatus.LOADED]


def test_multipart_push(collector):
    response = collector.post("/api/v1/submissions/", {
        "source": "NGO_HOME", "period": "2026-05",
        "file": SimpleUploadedFile("list.csv", bad_file(), "text/csv"),
    }, format="multipart", HTTP_IDEMPOTENCY_KEY="file-1")
    assert response.status_code == 201, response.json()
    assert response.json()["status"] == SubmissionStatus.PARTIAL
    assert Submission.objects.get().filename == "push-file-1.csv"


def test_the_key_is_required_and_bounded(collector):
    assert push(collector, key=None).status_code == 400
    assert push(collector, key="").status_code == 400
    assert push(collector, key="k" * 101).status_code == 400
    assert push(collector, key="k" * 100).status_code == 201
    assert Submission.objects.count() == 1


def test_bad_bodies_are_400_or_404(collector):
    assert push(collector, period="May").status_code == 400
    assert push(collector, records="nope").status_code == 400
    assert push(collector, source="NGO_AWAY").status_code == 404  # not one of the user's
    assert not Submission.objects.exists()


def test_no_permission_is_403(places, make_user, api_for):
    registrar = api_for(make_user("REGISTRAR", area=places["home"].code))
    assert push(registrar).status_code == 403
    assert not Submission.objects.exists()


def test_no_token_is_401(places):
    assert push(APIClient()).status_code == 401
    assert APIClient().get("/api/v1/submissions/").status_code == 401


def test_reads_are_scoped(collector, places, make_user, api_for):
    body = push(collector).json()
    away = api_for(make_user("DATA_COLLECTOR", area=places["away"].code))
    assert away.get(f"/api/v1/submissions/{body['id']}/").status_code == 404
    assert away.get("/api/v1/submissions/").json()["results"] == []
