"""The person page as the identity (issue 16): every record of the person the reader may see,
with its source; enrolments and payments of all of them; a banner for an open verification
flag naming the fact and linking to the flag; payments after a date of death marked; the
linkage history; every read audited once; nothing of a record outside the reader's scope.
The country is tests/registry/helpers.py's pensioner.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest

from spmis.audit.actions import AuditAction
from spmis.audit.models import AuditEvent
from spmis.audit.services import object_ref
from spmis.linkage.crosscheck import flag_decide
from spmis.linkage.models import FlagState, VerificationFlag
from spmis.registry.models import Person
from tests import factories
from tests.helpers import logged_in
from tests.registry.helpers import DIED, HIDDEN_NAME, Identity, pensioner_identity

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(db: None) -> Identity:
    return pensioner_identity()


def page(user, person: Person, **params: str) -> str:
    response = logged_in(user).get(f"/persons/{person.pk}/", params)
    assert response.status_code == 200
    return response.content.decode()


def test_records_of_the_identity_are_shown_with_their_sources(world, make_user):
    registrar = make_user("REGISTRAR")
    html = page(registrar, world.pension)
    for record in (world.pension, world.crvs, world.social):
        assert f'data-record="{record.pk}"' in html
        assert record.source.name in html and record.source_ref in html
    assert f'href="/persons/{world.crvs.pk}/"' in html
    assert f'href="/persons/{world.social.pk}/"' in html
    assert 'data-testid="records-outside"' not in html
    # The same identity from the civil registry's record: the pension and its payments too.
    other = page(registrar, world.crvs)
    assert "Old-age pension" in other and other.count("data-payment=") == 9


def test_an_open_deceased_flag_is_a_banner_linking_to_it_and_later_payments_are_marked(
        world, make_user):
    html = page(make_user("REGISTRAR"), world.pension)
    banner = re.search(r'<div class="message warning person-flags" role="alert"'
                       r' data-testid="flag-banner">(.*?)</div>', html, re.S)
    assert banner is not None
    assert html.index('data-testid="flag-banner"') < html.index("<h1>")  # at the top
    for flag in world.flags:
        assert f'href="/crosscheck/flags/{flag.pk}/"' in banner.group(1)
    assert f'data-died-on="{DIED.isoformat()}"' in banner.group(1)
    assert "Civil registry records a death" in banner.group(1)
    after = re.findall(r'<tr data-payment="\d+" class="after-death" data-after-death="1">', html)
    assert len(after) == 5  # May to September
    assert html.count("data-payment=") == 9
    assert 'data-testid="active-after-death"' in html
    facts = html[html.index('<dl class="facts">'):html.index("</dl>")]
    assert facts.count('data-testid="identity-death"') == 1 and "Civil registry: " in facts
    assert "120.50 USD" in html


def test_a_dismissed_flag_shows_no_banner(world, make_user):
    officer = make_user("REGISTRAR")
    for flag in world.flags:
        flag_decide(actor=officer, flag_id=flag.pk, confirm=False,
                    outcome="the pensioner came to the office in person")
    assert not VerificationFlag.objects.filter(state=FlagState.OPEN).exists()
    html = page(officer, world.pension)
    assert 'data-testid="flag-banner"' not in html and 'role="alert"' not in html


def test_another_district_gets_404_and_the_district_sees_no_outside_record(world, make_user):
    d2 = logged_in(make_user("REGISTRAR", area="D2", username="d2"))
    assert d2.get(f"/persons/{world.pension.pk}/").status_code == 404
    html = page(make_user("REGISTRAR", area="D1", username="d1"), world.pension)
    assert f'data-record="{world.crvs.pk}"' in html
    assert f'data-record="{world.social.pk}"' not in html
    assert 'data-testid="records-outside"' in html and "1 more record outside your scope" in html
    for secret in (HIDDEN_NAME, world.social.source_ref, "Social registry",
                   f"/persons/{world.social.pk}/"):
        assert secret not in html, secret
    # The match that joined the D2 record is in the history, without naming that record.
    history = html[html.index('data-testid="linkage-history"'):]
    assert f'data-link="{world.link_id}"' in history and "a record outside your scope" in history
    assert "reviewer" in history and "same pensioner" in history


def test_a_scheme_limited_reader_sees_the_flag_but_not_the_civil_registry_record(
        world, make_user):
    manager = make_user("SCHEME_MANAGER", area="D1", schemes=("PENSION",), username="pm")
    html = page(manager, world.pension)
    assert f'data-record="{world.crvs.pk}"' not in html and world.crvs.source_ref not in html
    assert "2 more records outside your scope" in html
    assert 'data-testid="flag-banner"' in html and f'data-died-on="{DIED.isoformat()}"' in html
    assert "/crosscheck/flags/" not in html  # flags are decided by registrars, not by them
    assert "/linkage/records/" not in html  # nor are records separated by them
    assert len(re.findall(r'data-after-death="1"', html)) == 5  # the flag's date of death


def test_each_record_read_is_audited_once_per_page_view(world, make_user):
    reader = make_user("REGISTRAR", area="D1", username="d1")
    client = logged_in(reader)
    start = AuditEvent.objects.order_by("-seq").values_list("seq", flat=True).first()
    assert client.get(f"/persons/{world.pension.pk}/").status_code == 200
    views = list(AuditEvent.objects.filter(seq__gt=start, action=AuditAction.PERSON_VIEW)
                 .values_list("object_id", flat=True))
    assert sorted(views) == sorted([object_ref("person", world.pension.pk),
                                    object_ref("person", world.crvs.pk)])
    assert object_ref("person", world.social.pk) not in views  # outside: never read


def test_a_record_alone_is_audited_once(make_user):
    factories.area_levels()
    alone = factories.person(area=factories.area("XY"))
    reader = make_user("REGISTRAR")
    client = logged_in(reader)
    assert client.get(f"/persons/{alone.pk}/").status_code == 200
    assert AuditEvent.objects.filter(action=AuditAction.PERSON_VIEW,
                                     actor=reader).count() == 1


def test_payments_come_a_page_at_a_time(world, make_user):
    scheme = world.pension.enrolments.get().scheme
    for year in (2023, 2024, 2025):
        for month in range(1, 13):
            factories.payment(world.pension, scheme, period=dt.date(year, month, 1),
                              amount_minor=12050, currency="USD")
    user = make_user("REGISTRAR")
    first = page(user, world.pension)
    assert first.count("data-payment=") == 24 and "Page 1 of 2 (45 payments)" in first
    assert 'datetime="2026-09"' in first and "payments_page=2" in first
    second = page(user, world.pension, payments_page="2")
    assert second.count("data-payment=") == 21 and 'datetime="2023-01"' in second


def test_below_confidential_clearance_the_links_are_not_shown(world, make_user):
    from spmis.access.models import Clearance

    html = page(make_user("REGISTRAR", clearance=Clearance.INTERNAL, username="low"),
                world.pension)
    assert 'data-testid="identity-records"' not in html
    assert 'data-testid="linkage-history"' not in html  # which records a pair joins: hidden
    assert world.crvs.source_ref not in html and HIDDEN_NAME not in html
    assert html.count("data-payment=") == 9  # the record's own payments, as before


def test_an_income_above_the_threshold_is_named_with_its_currency(world, make_user):
    from spmis.linkage.crosscheck import crosscheck_run
    from spmis.schemes.models import Scheme

    Scheme.objects.filter(code="PENSION").update(income_threshold_minor=100000)
    tax = factories.source("TAX", kind="AUTHORITATIVE_REGISTRY", name="Tax registry")
    factories.person(area=world.pension.area, source=tax, given_name="Maria",
                     family_name="Lopes", born="1950-02-01", national_id=world.pension.national_id,
                     annual_income_minor=250000, registered_on="2026-03-01")
    crosscheck_run(actor=None, registry_code="TAX")
    flag = VerificationFlag.objects.get(reason_code="INCOME_ABOVE_THRESHOLD")
    html = page(make_user("REGISTRAR"), world.pension)
    banner = html[html.index('data-testid="flag-banner"'):html.index("<h1>")]
    assert f'href="/crosscheck/flags/{flag.pk}/"' in banner
    assert ("Tax registry records an income of 2,500.00 USD for 2026, above the scheme's "
            "threshold of 1,000.00 USD.") in banner
