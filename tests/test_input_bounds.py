"""Bounded input: no malformed value reaches a server error, through any door.

Search terms are capped (words and length), every date and period is parsed by one bounded
parser (``spmis.core.periods``), JSON pushed to the API has a depth and a size limit, request
bodies are refused from their declared length before they are read, and every route answers
odd query values and form fields (huge numbers, negative ids, NUL, very long text, unicode,
dates of year 1 or 9999) with a 4xx or a page, never a 500, as every role.
"""

from __future__ import annotations

import datetime as dt

import pytest

from spmis.access.models import Role
from spmis.linkage.crosscheck import flag_decide
from spmis.linkage.models import FlagState
from spmis.registry.models import Person
from spmis.schemes.models import Enrolment, EnrolmentStatus, Scheme
from tests import factories
from tests.helpers import logged_in

ROLES = [r.value for r in Role]


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
