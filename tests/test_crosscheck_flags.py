"""Verification flags are raised once per fact: a decided flag does not come back on the next
cross-check, a new fact (another date of death, another income year) raises a new one; a
confirmed death on an enrolment begun after it is resolved; and a record reached from the
registry's only through another record's automatic link (a twin) is not flagged. Each defect
reproduced on a small hand-made registry, through the services and the command line."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest
from click.testing import CliRunner

from spmis.cli.main import cli
from spmis.linkage.crosscheck import crosscheck_internal, crosscheck_run, flag_decide
from spmis.linkage.models import FlagReason, FlagState, LinkState, VerificationFlag
from spmis.linkage.services import identities_derive
from spmis.registry.models import Person
from spmis.schemes.models import Enrolment
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(db, make_user):
    factories.area_levels()
    district = factories.area("D1", parent=factories.area("XY"))
    nsr = factories.source("NSR")
    crvs = factories.source("CRVS", kind="AUTHORITATIVE_REGISTRY")
    tax = factories.source("TAX", kind="AUTHORITATIVE_REGISTRY")
    pension = factories.scheme("PENSION", means_tested=True, income_threshold_minor=100_000)
    return SimpleNamespace(area=district, nsr=nsr, crvs=crvs, tax=tax, pension=pension,
                           run=factories.linkage_run(),
                           officer=make_user("REGISTRAR", area="XY"))


def enrolled(world, *, national_id: str | None = "N1", given_name: str = "Ana",
             start: str = "2020-01-01", paid: list[str] = ()) -> Person:
    person = factories.person(area=world.area, source=world.nsr, national_id=national_id,
                              given_name=given_name, born="2015-03-01")
    factories.enrolment(person, world.pension, start=start, source=world.nsr)
    for period in paid:
        factories.payment(person, world.pension, period=dt.date.fromisoformat(period),
                          source=world.nsr)
    return person


def death(world, died: str, *, national_id: str | None = "N1",
          given_name: str = "Ana") -> Person:
    return factories.person(area=world.area, source=world.crvs, national_id=national_id,
                            given_name=given_name, born="2015-03-01", died=died)


def flags(**filters) -> list[tuple[int, str, str]]:
    return sorted(VerificationFlag.objects.filter(**filters).values_list(
        "person_id", "reason_code", "state"))


def test_a_dismissed_or_confirmed_flag_is_not_raised_again(world):
    # Before: every `crosscheck run` raised decided flags again as new open flags.
    person = enrolled(world, paid=["2024-01-01", "2024-02-01", "2024-03-01"])
    death(world, "2024-01-15")
    counts = crosscheck_run(actor=None, registry_code="CRVS")
    assert counts["flags_raised"] == 2  # paid after death, still enrolled
    paid, still = (VerificationFlag.objects.get(reason_code=r) for r in (
        FlagReason.DECEASED_PAID, FlagReason.DECEASED_ENROLLED))
    assert paid.fact == still.fact == "death 2024-01-15"
    flag_decide(actor=world.officer, flag_id=paid.pk, confirm=False,
                outcome="alive: seen at the office")
    assert crosscheck_run(actor=None, registry_code="CRVS")["flags_raised"] == 0
    flag_decide(actor=world.officer, flag_id=still.pk, confirm=True, outcome="certificate")
    out = CliRunner().invoke(cli, ["crosscheck", "run", "--registry", "CRVS"])
    assert out.exit_code == 0, out.output
    assert flags(state=FlagState.OPEN) == []
    assert len(flags(person=person)) == 2


def test_a_new_fact_raises_a_new_flag(world):
    person = enrolled(world, paid=["2024-06-01"])
    record = death(world, "2024-01-15")
    crosscheck_run(actor=None, registry_code="CRVS")
    for flag in VerificationFlag.objects.all():
        flag_decide(actor=world.officer, flag_id=flag.pk, confirm=False, outcome="alive")
    Person.objects.filter(pk=record.pk).update(date_of_death="2024-03-02")  # corrected
    counts = crosscheck_run(actor=None, registry_code="CRVS")
    assert counts["flags_raised"] == 2
    assert set(VerificationFlag.objects.filter(state=FlagState.OPEN).values_list(
        "fact", flat=True)) == {"death 2024-03-02"}
    assert len(flags(person=person)) == 4


def test_income_flags_are_kept_per_income_year(world):
    person = enrolled(world)
    declared = factories.person(area=world.area, source=world.tax, national_id="N1",
                                given_name="Ana", born="2015-03-01",
                                registered_on="2025-01-10", annual_income_minor=900_000)
    crosscheck_run(actor=None, registry_code="TAX")
    flag = VerificationFlag.objects.get(reason_code=FlagReason.INCOME_ABOVE_THRESHOLD)
    assert flag.fact == "income 2025" and flag.person_id == person.pk
    flag_decide(actor=world.officer, flag_id=flag.pk, confirm=False, outcome="one-off bonus")
    assert crosscheck_run(actor=None, registry_code="TAX")["flags_raised"] == 0
    Person.objects.filter(pk=declared.pk).update(registered_on="2026-01-12")  # next year's
    assert crosscheck_run(actor=None, registry_code="TAX")["flags_raised"] == 1


def test_internal_checks_are_raised_once_per_fact(world):
    a = enrolled(world, national_id="N5")
    b = enrolled(world, national_id="N5")
    identities_derive(run=world.run)
    assert crosscheck_internal(actor=None)["flags_raised"] == 1
    flag = VerificationFlag.objects.get()
    assert (flag.person_id, flag.evidence_id, flag.fact) == (b.pk, a.pk, f"record {a.pk}")
    flag_decide(actor=world.officer, flag_id=flag.pk, confirm=False, outcome="two people")
    assert crosscheck_internal(actor=None)["flags_raised"] == 0


def test_confirming_a_death_on_an_enrolment_begun_after_it_resolves_the_flag(world):
    person = enrolled(world, start="2024-05-01", paid=["2024-05-01"])
    death(world, "2024-01-15")
    crosscheck_run(actor=None, registry_code="CRVS")
    for flag in VerificationFlag.objects.order_by("id"):
        flag_decide(actor=world.officer, flag_id=flag.pk, confirm=True, outcome="certificate")
    enrolment = Enrolment.objects.get(person=person)
    assert enrolment.status == "EXITED" and enrolment.end_date == enrolment.start_date
    assert crosscheck_run(actor=None, registry_code="CRVS")["flags_raised"] == 0
    assert flags(state=FlagState.OPEN) == []


def test_a_twin_linked_to_the_dead_one_is_not_flagged(world):
    """Two children of one birthday in one home, no IDs: the death record links to the one
    who died, and the model (wrongly) links the twins. The living twin is reached only
    through the dead one's record: not flagged."""
    dead = enrolled(world, national_id=None, given_name="Ana", paid=["2024-06-01"])
    twin = enrolled(world, national_id=None, given_name="Eva", paid=["2024-06-01"])
    record = death(world, "2024-02-01", national_id=None, given_name="Ana")
    factories.link(record, dead, run=world.run, probability=0.999, state=LinkState.AUTO)
    factories.link(dead, twin, run=world.run, probability=0.96, state=LinkState.AUTO)
    identities_derive(run=world.run)
    crosscheck_run(actor=None, registry_code="CRVS")
    assert {p for p, _r, _s in flags()} == {dead.pk}
    # A record of the dead child's that shares a national ID with the one linked is flagged.
    Person.objects.filter(pk__in=[dead.pk]).update(national_id="N8")
    again = enrolled(world, national_id="N8", given_name="Ana", paid=["2024-06-01"])
    identities_derive(run=world.run)
    crosscheck_run(actor=None, registry_code="CRVS")
    assert {p for p, _r, _s in flags()} == {dead.pk, again.pk}
