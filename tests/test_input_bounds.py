"""Bounded input: no malformed value reaches a server error, through any door.

Search terms are capped (words and length), every date and period is parsed by one bounded
parser (``spmis.core.periods``), JSON pushed to the API has a depth and a size limit, request
bodies are refused from their declared length before they are read, and every route answers
odd query values and form fields (huge numbers, negative ids, NUL, very long text, unicode,
dates of year 1 or 9999) with a 4xx or a page, never a 500, as every role.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import time

import pytest
from click.testing import CliRunner
from django.urls import NoReverseMatch, URLPattern, URLResolver, get_resolver, reverse
from hypothesis import given
from hypothesis import strategies as st

from spmis.access.models import Role
from spmis.access.policy import ROLE_PERMISSIONS
from spmis.cli.main import cli
from spmis.core.doors import from_every_app
from spmis.core.errors import ValidationFailed
from spmis.core.jsondepth import json_depth
from spmis.core.periods import (
    EARLIEST,
    LATEST,
    add_months,
    date_param,
    parse_iso_date,
    parse_period,
    period_param,
)
from spmis.geography.models import Area
from spmis.linkage.crosscheck import flag_decide
from spmis.linkage.models import FlagState
from spmis.registry.models import Person
from spmis.registry.selectors import SEARCH_MAX_CHARS, SEARCH_MAX_WORDS
from spmis.schemes.models import Enrolment, EnrolmentStatus, Scheme
from tests import factories
from tests.helpers import logged_in

ROLES = [r.value for r in Role]


# --- the one period and date parser ------------------------------------------------------------


@given(st.text(max_size=40))
def test_period_and_date_parsers_answer_a_bounded_date_or_none_for_any_text(text):
    for parsed in (parse_period(text), parse_iso_date(text)):
        assert parsed is None or EARLIEST <= parsed <= LATEST
    period = parse_period(text)
    if period is not None:  # the month before and after it can always be shown
        assert period.day == 1
        add_months(period, -1), add_months(period, 1)


@given(st.text(max_size=40))
def test_period_and_date_params_refuse_with_a_message_or_answer(text):
    for param in (period_param, date_param):
        try:
            value = param(text)
        except ValidationFailed as exc:
            assert "between" in exc.message and text.strip()
        else:
            assert (value is None) == (not text.strip())


@given(st.dates())
def test_every_date_in_range_round_trips_and_none_outside(day):
    inside = EARLIEST <= day <= LATEST
    assert parse_iso_date(day.isoformat()) == (day if inside else None)
    assert parse_period(f"{day.year:04d}-{day.month:02d}") == (
        day.replace(day=1) if inside else None)


def test_years_out_of_range_are_refused():
    for text in ("9999-12", "0001-01", "1899-12", "2101-01", "9999-12-31", "0001-01-01"):
        assert parse_period(text) is None
        with pytest.raises(ValidationFailed, match="between 1900-01 and 2100-12"):
            period_param(text)
    assert parse_iso_date("0001-01-01") is None and parse_iso_date("9999-12-31") is None
    assert parse_period("2100-12") == dt.date(2100, 12, 1)
    assert parse_period("1900-01") == dt.date(1900, 1, 1)


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


# --- dates and periods at the doors ----------------------------------------------------------


@pytest.fixture
def officer(small, make_user):
    return make_user("AUDITOR", area="XY", username="officer")


@pytest.mark.parametrize("url", [
    "/intake/submissions/?period=9999-12", "/intake/submissions/?period=2026-13",
    "/audit/?since=0001-01-01", "/audit/?until=9999-12-31", "/audit/?since=yesterday",
])
def test_a_bad_date_or_period_on_a_page_is_400_with_a_message(officer, url):
    response = logged_in(officer).get(url)
    assert response.status_code == 400
    assert "between 1900-01" in response.content.decode()


@pytest.mark.parametrize("period", ["9999-12", "0001-01", "2026-13", "nonsense"])
def test_a_bad_period_on_the_rates_page_shows_last_month_and_says_why(officer, period):
    # The page has always answered a period it cannot read with last month (200).
    response = logged_in(officer).get("/intake/rates/", {"period": period})
    assert response.status_code == 200
    body = response.content.decode()
    assert "between 1900-01 and 2100-12" in body and "Showing last month." in body


@pytest.mark.parametrize("url", [
    "/api/v1/submissions/?period=9999-12", "/api/v1/submissions/?period=x",
    "/api/v1/audit/?since=0001-01-01", "/api/v1/audit/?until=2026-02-30",
])
def test_a_bad_date_or_period_on_the_api_is_400_with_a_message(officer, api_for, url):
    response = api_for(officer).get(url)
    assert response.status_code == 400
    assert "between 1900-01" in response.json()["detail"]


def test_good_periods_still_answer(officer, api_for):
    client = logged_in(officer)
    for url in ("/intake/rates/?period=2100-12", "/intake/rates/?period=1900-01",
                "/intake/submissions/?period=2026-05", "/audit/?since=2026-01-01"):
        assert client.get(url).status_code == 200, url
    assert api_for(officer).get("/api/v1/submissions/?period=2026-05").status_code == 200


def test_home_ignores_as_of(officer):
    assert logged_in(officer).get("/?as_of=0001-01-01").status_code == 200


@pytest.mark.parametrize("args", [
    ["intake", "rates", "--period", "9999-12"],
    ["intake", "late", "--period", "0001-01"],
    ["intake", "status", "99999999999999999999999"],
    ["intake", "status", "-1"],
    ["linkage", "explain", "--pair", "1", "99999999999999999999999"],
    ["indicators", "run", "--period", "9999-12"],
    ["indicators", "export", "--run", "99999999999999999999999"],
    ["indicators", "benchmark", "POVERTY_LINE", "--amount", "1", "--currency", "USD",
     "--from", "0001-01-01"],
    ["indicators", "benchmark", "POVERTY_LINE", "--amount", "1e400", "--currency", "USD",
     "--from", "2026-01-01"],
    ["indicators", "target", "COV_ANY", "--area", "XY", "--year", "2026", "--value", "nan"],
    ["indicators", "target", "COV_ANY", "--area", "XY", "--year", "2026", "--value", "inf"],
    ["scheme", "criteria", "CHILD", "--income-threshold", "1e400"],
    ["scheme", "criteria", "CHILD", "--income-threshold", "nan"],
    ["scheme", "criteria", "CHILD", "--income-threshold", "1e14"],
    ["access", "review", "--dormant-days", "99999999999999999999"],
    ["synth", "--persons", "100", "--as-of", "0001-01-01", "--replace"],
])
def test_cli_refuses_bad_periods_and_ids_with_a_message(small, args):
    result = CliRunner().invoke(cli, args)
    assert result.exit_code in (1, 2), result.output
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Error" in result.output


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


# --- every route, odd values, every role --------------------------------------------------------

@pytest.mark.parametrize("code", ["²³¹²³¹", "\uff11\uff12\uff13\uff14\uff15\uff16", "12345\x00",
                                  "9" * 5000, ""])
def test_a_second_factor_code_of_odd_digits_is_refused_not_a_server_error(small, make_user,
                                                                         code):
    from django.test import Client

    from tests.helpers import PASSWORD

    for enrolled in (False, True):
        user = make_user("REGISTRAR", area="XY", username=f"mfa_{enrolled}")
        if enrolled:
            logged_in(user).logout()  # enrols the authenticator
        client = Client()
        assert client.login(username=user.username, password=PASSWORD)
        step = client.get("/")["Location"]
        assert client.get(step).status_code == 200
        response = client.post(step.split("?")[0], {"code": code})
        assert response.status_code == 400, (enrolled, response.status_code)


NASTY = {
    "empty": "",
    "blank": "   ",
    "huge": "9" * 40,
    "negative": "-1",
    "nul": "a\x00b",
    "long": "x" * 5000,
    "unicode": "²½٣𝟘ＡÉ\u202eß",
    "digits": "²³¹²³¹",  # str.isdigit() says yes, int() says no
    "year1": "0001-01-01",
    "year9999": "9999-12",
    "quote": "'\"<>&%;--",
}
# Every query parameter and form field a door reads, and a few none does.
PARAMS = ["q", "national_id", "area", "page", "page_size", "period", "since", "until",
          "action", "actor", "object_type", "object_id", "state", "reason", "indicator",
          "scheme", "source", "person", "status", "level", "parent", "purpose", "as_of",
          "back", "next", "format", "decision", "outcome", "code", "username", "password",
          "file", "v|BENEFICIARIES|", "v|BENEFICIARIES|SEX=F", "limit", "offset", "ordering",
          "name", "kind", "institution", "schedule", "deadline_days", "policy",
          "error_threshold", "contact", "schemes", "records"]
SKIP = {"access:logout"}  # logs the client out; its form has no fields
POLICY = {name: policy for _module, table in from_every_app("route_policy")
          for name, policy in table.items()}
PUBLIC = {name for name, policy in POLICY.items() if policy.kind == "public"}
HALF = itertools.count()
BAD_IDS = ["0", "9223372036854775808", "99999999999999999999999999999"]


@pytest.fixture
def world(small, make_user):
    """The small country with a household, a submission, a pair and a flag; a user of each
    role over the whole country, logged in on the pages and on the API."""
    from spmis.indicators.services import indicators_run

    persons = list(Person.objects.order_by("id"))
    household = factories.household(area=persons[0].area)
    Person.objects.filter(pk__in=[persons[0].pk, persons[1].pk]).update(household=household)
    source = factories.source("SRC_FUZZ", kind="NGO", area=Area.objects.get(code="D1"))
    submission = factories.submission(source)
    factories.submission_issue(submission, value="v")
    link = factories.link(persons[0], persons[1])
    enrolled = Enrolment.objects.order_by("id").first()
    flag = factories.flag(enrolled.person, registry=factories.registry("CRVS_FUZZ"),
                          evidence=persons[-1], scheme_id=enrolled.scheme_id,
                          detail={"date_of_death": "2026-01-31", "matched_by": "national_id"})
    indicators_run(actor=None, period=dt.date(2026, 6, 1))
    users = {role: make_user(role, area="XY", username=f"f_{role.lower()}") for role in ROLES}
    return {
        "args": {
            "intake:submission-detail": [submission.pk], "api:submission-detail": [submission.pk],
            "intake:submission-errors": [submission.pk, "csv"],
            "linkage:linkage_review_pair": [link.pk], "linkage:crosscheck-flag": [flag.pk],
            "linkage:linkage_records": [link.person_l_id, link.person_r_id],
            "registry:person-detail": [persons[0].pk], "api:person-detail": [persons[0].pk],
            "registry:household-detail": [household.pk],
            "api:household-detail": [household.pk],
            "schemes:scheme-detail": ["CHILD"], "api:scheme-detail": ["CHILD"],
            "api:area-detail": ["XY"],
            "intake:source-edit": ["SRC_FUZZ"], "api:source-detail": ["SRC_FUZZ"],
        },
        "users": users,
    }


def _routes() -> list[str]:
    def walk(patterns, prefix=""):
        for p in patterns:
            if isinstance(p, URLResolver):
                yield from walk(p.url_patterns, f"{prefix}{p.namespace}:" if p.namespace
                                else prefix)
            elif isinstance(p, URLPattern) and p.name:
                yield f"{prefix}{p.name}"

    return sorted(set(walk(get_resolver().url_patterns)) - SKIP)


def _urls(name: str, args: list) -> list[str]:
    """The route's URL with good arguments, and with each odd id or code in its place. (A
    route added without its arguments in the world above gets 1 or "XY" for each.)"""
    if not args:
        try:
            reverse(name)
        except NoReverseMatch:
            args = [1 if type(c).__name__ == "IntConverter" else "XY"
                    for c in _pattern(name).pattern.converters.values()]
    urls = [reverse(name, args=args)]
    for i, arg in enumerate(args):
        if isinstance(arg, int):
            urls += [reverse(name, args=[*args[:i], bad, *args[i + 1:]]) for bad in BAD_IDS]
        elif name != "intake:submission-errors":
            urls += [reverse(name, args=[*args[:i], bad, *args[i + 1:]])
                     for bad in (NASTY["long"], NASTY["unicode"], NASTY["quote"], "%00")]
    return urls


def _pattern(name: str) -> URLPattern:
    def walk(patterns, prefix=""):
        for p in patterns:
            if isinstance(p, URLResolver):
                yield from walk(p.url_patterns, f"{prefix}{p.namespace}:" if p.namespace
                                else prefix)
            elif isinstance(p, URLPattern) and f"{prefix}{p.name}" == name:
                yield p
    return next(walk(get_resolver().url_patterns))


def _methods(name: str) -> list[str]:
    """GET, and the writes the route takes: a page's form POST; the API's POST, PATCH."""
    if not name.startswith("api"):
        return ["GET", "POST"]
    view = getattr(_pattern(name).callback, "cls", None)
    return ["GET", *(m.upper() for m in ("post", "patch", "put") if hasattr(view, m))]


def _roles_for(name: str) -> list[str]:
    """Every role holding the route's permission, and the first one that does not: the
    others are refused the same way before any parameter is read (403, or 404 for an
    object)."""
    policy = POLICY.get(name)  # the API schema's is in the root URLconf: public
    permission = policy.permission if policy else None
    holders = [r for r in ROLES if permission is None or permission in ROLE_PERMISSIONS[r]]
    return holders + [r for r in ROLES if r not in holders][:1]


def _clients(world: dict, api_for, make_user, name: str):
    """(who, a function giving the client): a user of each role, signed in; nobody; and, on
    the public pages (sign-in and its code pages), a user who gave the password but not yet
    the second factor, with and without an authenticator: a fresh one for each request, as
    wrong codes lock the account."""
    from django.test import Client
    from rest_framework.test import APIClient

    from tests.helpers import PASSWORD

    api = name.startswith("api")
    for role, user in world["users"].items():
        if role not in _roles_for(name):
            continue
        client = api_for(user) if api else logged_in(user)
        yield role, lambda client=client: client
    nobody = APIClient() if api else Client()
    yield "anonymous", lambda: nobody
    if api or name not in PUBLIC:
        return
    for enrolled in (False, True):
        def half(enrolled: bool = enrolled) -> Client:
            user = make_user("REGISTRAR", area="XY", username=f"half_{next(HALF)}")
            if enrolled:
                logged_in(user).logout()
            client = Client()
            assert client.login(username=user.username, password=PASSWORD)
            return client
        yield f"password-only{' (enrolled)' if enrolled else ''}", half


@pytest.mark.parametrize("name", _routes())
def test_no_route_answers_500_to_odd_values(world, api_for, make_user, name):
    """Each route x each odd value in every parameter at once (query and form) x every
    role (and nobody, and half signed in): never a 500, never an exception out of the
    view."""
    failures = []
    requests = 0
    for who, client_for in _clients(world, api_for, make_user, name):
        for i, url in enumerate(_urls(name, world["args"].get(name, []))):
            # Odd ids and codes in the path: the parameters once (nothing is found).
            for label, value in NASTY.items() if i == 0 else [("long", NASTY["long"])]:
                fields = dict.fromkeys(PARAMS, value)
                for method in _methods(name):
                    requests += 1
                    client = client_for()
                    try:
                        if method == "GET":
                            status = client.get(url, fields).status_code
                        elif not name.startswith("api"):
                            status = client.post(url, fields).status_code
                        else:  # the API's writes take JSON
                            status = client.generic(
                                method, url, json.dumps({**fields, "schemes": [value],
                                                         "records": [{"a": value}]}),
                                content_type="application/json",
                                HTTP_IDEMPOTENCY_KEY=f"k{next(HALF)}").status_code
                    except Exception as exc:  # any exception out of a view is the finding
                        failures.append(f"{who} {method} {url[:80]} {label}: {exc!r}"[:300])
                        continue
                    if status >= 500:
                        failures.append(f"{who} {method} {url[:80]} {label}: {status}")
    assert not failures, f"{len(failures)} of {requests}:\n" + "\n".join(failures[:40])


SOURCE_FORM = {"name": "New NGO", "kind": "NGO", "institution": "New", "area": "D1",
               "schemes": "CHILD", "schedule": "MONTHLY", "deadline_days": "10",
               "policy": "QUARANTINE", "error_threshold": "20", "contact": "a@b.c"}
FORMS = {
    # route: (role, the fields of a good submission; each is given each odd value in turn)
    "intake:aggregate-entry": ("DATA_COLLECTOR", {
        "source": "SRC_FUZZ", "area": "D1", "period": "2026-05", "v|BENEFICIARIES|": "12",
        "v|BENEFICIARIES|SEX=F": "5", "v|BENEFICIARIES|SEX=M": "7"}),
    "intake:submission-upload": ("DATA_COLLECTOR", {"source": "SRC_FUZZ", "period": "2026-05",
                                                    "file": "id,name\n1,A\n"}),
    "linkage:linkage_review_pair": ("REGISTRAR", {"decision": "NON_MATCH", "reason": "why"}),
    "linkage:crosscheck-flag": ("REGISTRAR", {"decision": "dismiss", "outcome": "seen"}),
    "api:submission-list": ("DATA_COLLECTOR", {"source": "SRC_FUZZ", "period": "2026-05",
                                               "records": [{"id": "1", "name": "A"}]}),
    "intake:source-new": ("REGISTRAR", {"code": "NGO_NEW", **SOURCE_FORM}),
    "intake:source-edit": ("REGISTRAR", SOURCE_FORM),
    "api:source-list": ("REGISTRAR", {"code": "NGO_API", "name": "API NGO", "kind": "NGO",
                                      "area": "D1", "schemes": ["CHILD"],
                                      "deadline_days": 10, "error_threshold": 20}),
    "api:source-detail": ("REGISTRAR", {"name": "Patched", "deadline_days": 11}),
}


@pytest.mark.parametrize("name", sorted(FORMS))
def test_forms_with_one_odd_field_answer_without_a_server_error(world, api_for, name):
    """A good form with one field odd at a time (as text, and for the upload as the file's
    content): the service behind it sees the value, and answers with a message, not a 500."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    role, good = FORMS[name]
    user = world["users"][role]
    api = name.startswith("api")
    client = api_for(user) if api else logged_in(user)
    url = reverse(name, args=world["args"].get(name, []))
    failures = []
    for field in good:
        for label, value in NASTY.items():
            fields = {**good, field: value}
            if field == "records":
                fields[field] = [{"id": value, "name": value}]
            if api and field == "schemes":
                fields[field] = [value]
            if name == "intake:submission-upload":
                fields["file"] = SimpleUploadedFile("list.csv", fields["file"].encode())
            try:
                if api:
                    status = client.generic(
                        "PATCH" if name.endswith("-detail") else "POST", url,
                        json.dumps(fields), content_type="application/json",
                        HTTP_IDEMPOTENCY_KEY=f"k{next(HALF)}").status_code
                else:
                    status = client.post(url, fields).status_code
            except Exception as exc:  # any exception out of a view is the finding
                failures.append(f"{field}={label}: {exc!r}"[:300])
                continue
            if status >= 500:
                failures.append(f"{field}={label}: {status}")
    assert not failures, "\n".join(failures)
