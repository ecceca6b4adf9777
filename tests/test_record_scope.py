"""Scope is per record and per scheme wherever a list is shown, and roles combine as (area,
schemes) pairs: a household's members, a flag's evidence and scheme, a person's enrolments."""

from __future__ import annotations

import pytest

from spmis.access.services import role_assign
from spmis.audit.models import AuditEvent
from spmis.audit.services import object_ref
from spmis.core.errors import NotFound
from spmis.linkage.selectors import flag_get_for_user, flag_view_for_user
from spmis.registry.selectors import household_members_for_user, person_get_for_user
from spmis.schemes.selectors import enrolment_list_for_user
from tests import factories
from tests.helpers import logged_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    """Two districts of one region; a household split across them; two schemes."""
    factories.area_levels()
    country = factories.area("XY", level=0)
    region = factories.area("XY1", parent=country)
    home, away = (factories.area(code, parent=region) for code in ("XY11", "XY12"))
    child = factories.scheme("CHILD", guarantee="CHILDREN")
    pension = factories.scheme("PENSION", guarantee="OLD_AGE")
    household = factories.household(area=home)
    mother = factories.person(area=home, household=household, given_name="Aïcha",
                              family_name="Ndiaye", relationship_to_head="HEAD")
    son = factories.person(area=home, household=household, given_name="Moussa",
                           family_name="Ndiaye", born="2015-05-05", relationship_to_head="CHILD")
    grandma = factories.person(area=away, household=household, given_name="Fatou",
                               family_name="Sow", born="1940-02-02",
                               relationship_to_head="PARENT")  # registered where she lives
    factories.enrolment(son, child)
    factories.enrolment(mother, pension)
    factories.enrolment(grandma, pension)
    return {"home": home, "away": away, "child": child, "pension": pension,
            "household": household, "mother": mother, "son": son, "grandma": grandma}


def test_household_members_outside_scope_are_counted_not_shown(world, make_user):
    district = make_user("REGISTRAR", area="XY11", username="district")
    shown, others = household_members_for_user(user=district, household=world["household"])
    assert {m.pk for m in shown} == {world["mother"].pk, world["son"].pk}
    assert others == 1  # the grandmother lives in the other district
    child_only = make_user("REGISTRAR", area="XY11", schemes=("CHILD",), username="childonly")
    shown, others = household_members_for_user(user=child_only, household=world["household"])
    assert [m.pk for m in shown] == [world["son"].pk] and others == 2
    with pytest.raises(NotFound):  # whose own page answers 404
        person_get_for_user(user=child_only, person_id=world["mother"].pk)


def test_household_page_and_api_show_only_members_in_scope(world, make_user, api_for):
    user = make_user("REGISTRAR", area="XY11", schemes=("CHILD",), username="childonly")
    page = logged_in(user).get(f"/households/{world['household'].pk}/").content.decode()
    assert "Moussa" in page and "Aïcha" not in page and "Fatou" not in page
    assert "2 other members are outside your areas or schemes" in page
    body = api_for(user).get(f"/api/v1/households/{world['household'].pk}/").json()
    assert body["members"] == [world["son"].pk] and body["members_not_shown"] == 2


def test_a_limited_role_is_not_widened_by_an_unlimited_one_elsewhere(world, make_user):
    """CHILD only in the home district plus every scheme in the other district: the mother
    (pension, home) stays out of reach; the grandmother (pension, away) is in."""
    user = make_user("REGISTRAR", area="XY11", schemes=("CHILD",), username="pairs")
    role_assign(actor=None, user=user, role="REGISTRAR", area_code="XY12")
    with pytest.raises(NotFound):
        person_get_for_user(user=user, person_id=world["mother"].pk)
    assert person_get_for_user(user=user, person_id=world["grandma"].pk)
    assert person_get_for_user(user=user, person_id=world["son"].pk)
    schemes = {e.scheme.code for e in enrolment_list_for_user(user=user)}
    persons = {e.person_id for e in enrolment_list_for_user(user=user)}
    assert schemes == {"CHILD", "PENSION"}
    assert persons == {world["son"].pk, world["grandma"].pk}


def test_flags_follow_the_scheme_of_the_role(world, make_user):
    registry = factories.registry()
    pension_flag = factories.flag(world["son"], registry=registry, evidence=world["grandma"],
                                  scheme_id=world["pension"].pk)
    child_flag = factories.flag(world["son"], registry=registry, evidence=world["grandma"],
                                scheme_id=world["child"].pk)
    child_only = make_user("REGISTRAR", area="XY11", schemes=("CHILD",), username="childonly")
    assert flag_get_for_user(user=child_only, flag_id=child_flag.pk)
    with pytest.raises(NotFound):
        flag_get_for_user(user=child_only, flag_id=pension_flag.pk)


def test_a_flags_evidence_from_another_district_shows_only_what_the_check_needs(world,
                                                                                make_user):
    registry = factories.registry()
    world["grandma"].national_id = "1234567890"
    world["grandma"].date_of_death = world["grandma"].date_of_birth.replace(year=2026)
    world["grandma"].save()
    flag = factories.flag(world["son"], registry=registry, evidence=world["grandma"],
                          scheme_id=world["child"].pk,
                          detail={"date_of_death": "2026-02-02", "matched_by": "national_id"})
    district = make_user("REGISTRAR", area="XY11", username="district")
    view = flag_view_for_user(user=district, flag_id=flag.pk)
    assert not view.evidence_shown
    page = logged_in(district).get(f"/crosscheck/flags/{flag.pk}/").content.decode()
    assert "Fatou" not in page and "1234567890" not in page and "1940-02-02" not in page
    assert "2026-02-02" in page and "outside your scope" in page
    # The person shown is logged as a read of that person; the evidence was not shown.
    reads = set(AuditEvent.objects.filter(action="person.view", actor=district)
                .values_list("object_id", flat=True))
    assert object_ref("person", world["son"].pk) in reads
    assert object_ref("person", world["grandma"].pk) not in reads
    regional = make_user("REGISTRAR", area="XY1", username="regional")
    assert flag_view_for_user(user=regional, flag_id=flag.pk).evidence_shown
    assert object_ref("person", world["grandma"].pk) in set(
        AuditEvent.objects.filter(action="person.view", actor=regional)
        .values_list("object_id", flat=True))
