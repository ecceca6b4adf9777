"""Bounded input: no malformed value reaches a server error, through any door.

Search terms are capped (words and length), every date and period is parsed by one bounded
parser (``spmis.core.periods``), JSON pushed to the API has a depth and a size limit, request
bodies are refused from their declared length before they are read, and every route answers
odd query values and form fields (huge numbers, negative ids, NUL, very long text, unicode,
dates of year 1 or 9999) with a 4xx or a page, never a 500, as every role.
"""

from __future__ import annotations

import datetime as dt
import json
import time

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from spmis.access.models import Role
from spmis.cli.main import cli
from spmis.core.jsondepth import json_depth
from spmis.geography.models import Area
from spmis.linkage.crosscheck import flag_decide
from spmis.linkage.models import FlagState
from spmis.registry.models import Person
from spmis.registry.selectors import SEARCH_MAX_CHARS, SEARCH_MAX_WORDS
from spmis.schemes.models import Enrolment, EnrolmentStatus, Scheme
from tests import factories
from tests.helpers import logged_in

ROLES = [r.value for r in Role]


# --- search terms --------------------------------------------------------------------------


@pytest.fixture
def registrar(small, make_user):
    return make_user("REGISTRAR", area="XY", username="searcher")


def test_search_of_10000_words_is_refused_quickly_on_the_page_and_the_api(registrar, api_for):
    words = " ".join(f"w{i}" for i in range(10_000))
    client = logged_in(registrar)
    started = time.perf_counter()
    page = client.get("/persons/", {"q": words})
    api = api_for(registrar).get("/api/v1/persons/", {"q": words})
    elapsed = time.perf_counter() - started
    assert page.status_code == 400 and api.status_code == 400
    assert f"at most {SEARCH_MAX_WORDS} name words" in page.content.decode()
    assert f"at most {SEARCH_MAX_WORDS} name words" in api.json()["detail"]
    assert elapsed < 5, f"{elapsed:.1f} s for two refusals"


def test_search_limits_words_and_length(registrar, api_for):
    client, api = logged_in(registrar), api_for(registrar)
    ten = " ".join(["a"] * (SEARCH_MAX_WORDS - 1) + ["b"])  # "A B" is in the small country
    assert client.get("/persons/", {"q": ten}).status_code == 200
    assert api.get("/api/v1/persons/", {"q": ten}).status_code == 200
    eleven = " ".join(f"w{i}" for i in range(SEARCH_MAX_WORDS + 1))
    assert client.get("/persons/", {"q": eleven}).status_code == 400
    assert api.get("/api/v1/persons/", {"q": eleven}).status_code == 400
    for field in ("q", "national_id", "area"):
        long = {field: "x" * (SEARCH_MAX_CHARS + 1)}
        refused = client.get("/persons/", long)
        assert refused.status_code == 400, field
        assert f"limited to {SEARCH_MAX_CHARS} characters" in refused.content.decode()
        assert api.get("/api/v1/persons/", long).status_code == 400, field
    # htmx swaps only 2xx answers: the refusal goes back into the results as 200.
    partial = client.get("/persons/", {"q": eleven}, HTTP_HX_REQUEST="true")
    assert partial.status_code == 200 and "name words" in partial.content.decode()


def test_search_words_still_each_start_a_name(registrar, api_for):
    found = api_for(registrar).get("/api/v1/persons/", {"q": "a b a"}).json()
    assert found["count"] == Person.objects.filter(given_name="A", family_name="B").count() > 0
    assert api_for(registrar).get("/api/v1/persons/", {"q": "a b z"}).json()["count"] == 0


# --- JSON and request size limits on the API ---------------------------------------------------


@pytest.fixture
def collector(small, make_user):
    factories.source("NGO_J", kind="NGO", area=Area.objects.get(code="D1"))
    return make_user("DATA_COLLECTOR", area="XY", username="collector")


@given(st.recursive(st.none() | st.integers() | st.text(max_size=3),
                    lambda inner: st.lists(inner, max_size=3)
                    | st.dictionaries(st.text(max_size=2), inner, max_size=3), max_leaves=20))
def test_json_depth_matches_a_recursive_count(document):
    def depth(value):
        if isinstance(value, dict):
            return 1 + max(map(depth, value.values()), default=0)
        if isinstance(value, list):
            return 1 + max(map(depth, value), default=0)
        return 0

    assert json_depth(document) == depth(document)


def test_json_depth_walks_documents_deeper_than_the_stack():
    document: list = []
    for _ in range(50_000):
        document = [document]
    assert json_depth(document) == 50_001
    assert json_depth(document, stop_above=20) == 21


def test_a_json_file_nested_too_deeply_is_refused_with_a_message():
    from spmis.intake.parsers import JSON_MAX_DEPTH, ParseError, parse_file

    def nested(levels: int) -> bytes:
        return ('[{"a": ' + '{"b": ' * levels + '"1"' + "}" * levels + "}]").encode()

    assert parse_file(nested(JSON_MAX_DEPTH - 3), filename="x.json").frame.height == 1
    for levels in (JSON_MAX_DEPTH, 900, 100_000):
        with pytest.raises(ParseError, match="nest"):
            parse_file(nested(levels), filename="x.json")


def _push(api, body: bytes):
    return api.generic("POST", "/api/v1/submissions/", body, content_type="application/json",
                       HTTP_IDEMPOTENCY_KEY="k1")


def test_deeply_nested_json_is_400_not_500(collector, api_for):
    api = api_for(collector)
    for depth in (25, 10_000, 200_000):  # beyond our limit, beyond the decoder's, far beyond
        body = b'{"source": "NGO_J", "period": "2026-05", "records": ' + \
            b"[" * depth + b"]" * depth + b"}"
        response = _push(api, body)
        assert response.status_code == 400, depth
        assert "nests more than 20 levels" in response.json()["detail"]


def test_json_larger_than_the_limit_is_413(collector, api_for, settings):
    settings.SPMIS_API_JSON_MAX_BYTES = 1000
    records = [{"name": "x" * 100} for _ in range(20)]
    body = json.dumps({"source": "NGO_J", "period": "2026-05", "records": records}).encode()
    response = _push(api_for(collector), body)
    assert response.status_code == 413
    assert "larger than the limit" in response.json()["detail"]


def test_json_pushes_within_the_limits_still_parse(collector, api_for):
    body = json.dumps({"source": "NGO_J", "period": "2026-13", "records": [{"a": 1}]})
    response = _push(api_for(collector), body.encode())
    assert response.status_code == 400 and "YYYY-MM" in response.json()["detail"]
    assert _push(api_for(collector), b'{"records": [NaN]}').status_code == 400
    assert _push(api_for(collector), b"\xff\xfe").status_code == 400


def test_a_body_declared_larger_than_the_limit_is_refused_before_it_is_read(
        collector, api_for, settings):
    settings.SPMIS_MAX_REQUEST_BYTES = 10_000
    client = logged_in(collector)
    big = b"x" * 20_000
    from django.core.files.uploadedfile import SimpleUploadedFile

    page = client.post("/intake/upload/", {"source": "NGO_J", "period": "2026-05",
                                           "file": SimpleUploadedFile("a.csv", big)})
    assert page.status_code == 413 and b"larger than the limit" in page.content
    api = api_for(collector).post("/api/v1/submissions/", {
        "source": "NGO_J", "period": "2026-05", "file": SimpleUploadedFile("a.csv", big)},
        format="multipart", HTTP_IDEMPOTENCY_KEY="k2")
    assert api.status_code == 413 and "larger than the limit" in api.json()["detail"]
    # The length is read from the header alone: a request claiming more is refused unread.
    claimed = client.generic("POST", "/intake/upload/", b"", CONTENT_LENGTH="999999999")
    assert claimed.status_code == 413


def test_the_request_limit_leaves_room_for_the_largest_file():
    from django.conf import settings

    from spmis.intake.parsers import MAX_BYTES

    assert MAX_BYTES < settings.SPMIS_MAX_REQUEST_BYTES <= MAX_BYTES + 2 * 1024 * 1024
    assert settings.FILE_UPLOAD_MAX_MEMORY_SIZE <= 4 * 1024 * 1024  # larger files go to disk


@pytest.mark.django_db
def test_serve_gives_waitress_the_same_body_limit(monkeypatch, settings):
    settings.SPMIS_AUDIT_CHECKPOINT_MINUTES = 0
    started: list[dict] = []
    monkeypatch.setattr("waitress.serve", lambda app, **kwargs: started.append(kwargs))
    monkeypatch.setattr("spmis.web.staticfiles.static_files_problem", lambda: None)
    result = CliRunner().invoke(cli, ["serve", "--port", "8125"])
    assert result.exit_code == 0, result.output
    assert started[0]["max_request_body_size"] == settings.SPMIS_MAX_REQUEST_BYTES


# --- a death flag on an enrolment begun after the death ----------------------------------------


@pytest.fixture
def late_enrolment(small):
    """A person of the small country who died in 2025 and was enrolled after, with an open
    civil-registry flag on that enrolment."""
    person = Person.objects.filter(date_of_death__isnull=False).order_by("id").first()
    Person.objects.filter(pk=person.pk).update(date_of_death=dt.date(2025, 3, 10))
    enrolment = factories.enrolment(person, Scheme.objects.get(code="CHILD"), start="2025-06-01")
    registry = factories.registry("CRVS_LATE")
    flag = factories.flag(person, registry=registry, evidence=person,
                          scheme_id=enrolment.scheme_id,
                          detail={"date_of_death": "2025-03-10", "matched_by": "national_id"})
    return enrolment, flag


def test_confirming_a_death_before_the_enrolment_exits_it_on_its_start(late_enrolment):
    enrolment, flag = late_enrolment
    decided = flag_decide(actor=None, flag_id=flag.pk, confirm=True, outcome="Died before.")
    enrolment.refresh_from_db()
    assert decided.state == FlagState.CONFIRMED
    assert enrolment.status == EnrolmentStatus.EXITED
    assert enrolment.end_date == enrolment.start_date == dt.date(2025, 6, 1)


def test_confirming_it_on_the_page_works_too(late_enrolment, make_user):
    enrolment, flag = late_enrolment
    client = logged_in(make_user("REGISTRAR", area="XY", username="checker"))
    response = client.post(f"/crosscheck/flags/{flag.pk}/",
                           {"decision": "confirm", "outcome": "Died before enrolment."})
    assert response.status_code == 303, response.content.decode()[:500]
    enrolment.refresh_from_db()
    assert (enrolment.status, enrolment.end_date) == (EnrolmentStatus.EXITED,
                                                      dt.date(2025, 6, 1))
    # An enrolment begun before the death still ends on the date of death.
    other = Enrolment.objects.filter(person=enrolment.person).exclude(pk=enrolment.pk)
    assert all(e.end_date in (None, dt.date(2025, 3, 10)) for e in other)
