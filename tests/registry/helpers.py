"""A hand-made identity for the person page's tests (issue 16): a pensioner's record in the
pension scheme's MIS (district D1), the civil registry's record of her death (D1, the same
national ID) and a record in the social registry of another district (D2), joined by a
reviewer's match; the verification flags come from the civil-registry cross-check itself."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from spmis.linkage.crosscheck import crosscheck_run
from spmis.linkage.models import LinkState, PersonIdentity, VerificationFlag
from spmis.linkage.services import identities_derive, link_decide
from spmis.registry.models import Person
from tests import factories

DIED = dt.date(2026, 4, 12)
NATIONAL_ID = "4111111111"
HIDDEN_NAME = "Zorobabela"  # the D2 record's given name: never on a D1 reader's page


@dataclass
class Identity:
    pension: Person  # the pension MIS's record (D1)
    crvs: Person  # the civil registry's record of the death (D1)
    social: Person  # the social registry's record (D2)
    flags: list[VerificationFlag]
    link_id: int


def pensioner_identity() -> Identity:
    """Build it (areas XY > R1 > D1 > C1, D2 > C2; scheme PENSION in USD); the pension paid
    January to September 2026, five months after April's death."""
    factories.area_levels()
    region = factories.area("R1", parent=factories.area("XY"))
    d1, d2 = factories.area("D1", parent=region), factories.area("D2", parent=region)
    c1, c2 = factories.area("C1", parent=d1), factories.area("C2", parent=d2)
    pension_scheme = factories.scheme("PENSION", name="Old-age pension", currency="USD")
    pens = factories.source("PENS", name="Pension MIS", schemes=("PENSION",))
    crvs_source = factories.registry("CRVS")
    nsr = factories.source("NSR", name="Social registry")
    pension = factories.person(area=c1, source=pens, given_name="Maria", family_name="Lopes",
                               born="1950-02-01", national_id=NATIONAL_ID, source_ref="PEN-7")
    crvs = factories.person(area=c1, source=crvs_source, given_name="Maria",
                            family_name="Lopes", born="1950-02-01", died=DIED,
                            national_id=NATIONAL_ID, source_ref="DEATH-2026-118")
    social = factories.person(area=c2, source=nsr, given_name=HIDDEN_NAME,
                              family_name="Lopes", born="1950-02-01", source_ref="NSR-99")
    factories.enrolment(pension, pension_scheme, source=pens, start="2015-03-01")
    for month in range(1, 10):
        factories.payment(pension, pension_scheme, period=dt.date(2026, month, 1),
                          amount_minor=12050, currency="USD", source=pens)
    run = factories.linkage_run()
    link = factories.link(pension, social, run=run, state=LinkState.REVIEW)
    identities_derive(run=run)
    reviewer = factories.user("REGISTRAR", username="reviewer")
    link_decide(actor=reviewer, link_id=link.pk, decision="MATCH", reason="same pensioner")
    crosscheck_run(actor=None, registry_code="CRVS")
    flags = list(VerificationFlag.objects.filter(person=pension).order_by("id"))
    assert {f.reason_code for f in flags} == {"DECEASED_PAID", "DECEASED_ENROLLED"}
    assert len(set(PersonIdentity.objects.filter(
        person__in=[pension, crvs, social]).values_list("identity", flat=True))) == 1
    return Identity(pension=pension, crvs=crvs, social=social, flags=flags, link_id=link.pk)
