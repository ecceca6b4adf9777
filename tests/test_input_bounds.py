"""Bounded input: no malformed value reaches a server error, through any door.

Search terms are capped (words and length), every date and period is parsed by one bounded
parser (``spmis.core.periods``), JSON pushed to the API has a depth and a size limit, request
bodies are refused from their declared length before they are read, and every route answers
odd query values and form fields (huge numbers, negative ids, NUL, very long text, unicode,
dates of year 1 or 9999) with a 4xx or a page, never a 500, as every role.
"""

from __future__ import annotations

import datetime as dt
import time

import pytest

from spmis.access.models import Role
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
