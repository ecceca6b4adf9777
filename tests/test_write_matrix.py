"""Every write door x every role x an object inside and outside the user's district x of a
scheme inside and outside the user's schemes: the write happens exactly when the role grants
the door's permission over the object's area and scheme.

Doors: the upload page, the API push, a linkage decision on its page and through the CLI's
``--as``, a verification flag's outcome on its page, and a period approval request through the
CLI's ``--as`` (approvals concern an area and a month, not a scheme). Each user holds one role
over the home district, limited to one scheme: the object's scheme (``in``) or another one
(``out``).
"""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from click.testing import CliRunner
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from spmis.access.models import Role
from spmis.access.policy import ROLE_PERMISSIONS, Permission
from spmis.access.services import api_token_issue
from spmis.cli.main import cli
from spmis.intake.approvals import MAKER_PERMISSIONS
from spmis.intake.models import PeriodApproval
from spmis.intake.services import mapping_save
from spmis.linkage.models import FlagState, Link, LinkState, VerificationFlag
from spmis.registry.models import Person
from tests import factories
from tests.helpers import logged_in
from tests.intake.helpers import HEADER, MAPPING, csv_bytes, row

pytestmark = pytest.mark.django_db
ROLES = [r.value for r in Role]
MAY = dt.date(2026, 5, 1)
SCHEME, OTHER = "CHILD_GRANT", "SOCIAL_PENSION"


@pytest.fixture
def world():
    """A region with two districts, a commune each; an NGO of the home district declaring the
    child grant; in each commune two records of one child (a pair to review) and a flag on the
    child."""
    factories.area_levels()
    region = factories.area("XY1", parent=factories.area("XY", level=0))
    places = {}
    for side, code in (("in", "XY11"), ("out", "XY12")):
        district = factories.area(code, parent=region)
        places[side] = (district, factories.area(code + "01", parent=district))
    child = factories.scheme(SCHEME, guarantee="CHILDREN")
    factories.scheme(OTHER, guarantee="OLD_AGE")
    factories.source("NGO_NAT", kind="NGO", schemes=(SCHEME,), area=places["in"][0])
    mapping_save(actor=None, source_code="NGO_NAT", text=MAPPING.replace("NGO_X", "NGO_NAT"))
    registry = factories.registry()
    objects = {}
    for side, (district, commune) in places.items():
        a = factories.person(area=commune, given_name="Ada", family_name="Obi")
        b = factories.person(area=commune, given_name="Adah", family_name="Obi")
        for p in (a, b):
            factories.enrolment(p, child)
        objects[side] = {
            "district": district, "commune": commune,
            "link": factories.link(a, b, state=LinkState.REVIEW),
            "flag": factories.flag(a, registry=registry, evidence=b, scheme_id=child.pk,
                                   detail={"date_of_death": "2026-01-01"}),
        }
    return objects


def _rows_file(commune_code: str, ref: str) -> bytes:
    return csv_bytes([row(ref=ref, commune=commune_code)])


def upload(user, target, ref):
    client = logged_in(user)
    client.post("/intake/upload/", {
        "source": "NGO_NAT", "period": "2026-05",
        "file": SimpleUploadedFile("list.csv", _rows_file(target["commune"].code, ref))})
    return Person.objects.filter(source_ref=ref).exists()


def push(user, target, ref):
    api = APIClient()
    key = api_token_issue(actor=None, username=user.username).key
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    record = dict(zip(HEADER.split(";"), row(ref=ref, commune=target["commune"].code).split(";"),
                      strict=True))
    api.post("/api/v1/submissions/", {"source": "NGO_NAT", "period": "2026-05",
                                      "records": [record]}, format="json",
             HTTP_IDEMPOTENCY_KEY=f"k-{ref}")
    return Person.objects.filter(source_ref=ref).exists()


def link_page(user, target, ref):
    link = target["link"]
    client = logged_in(user)
    shown = client.post(f"/linkage/review/{link.pk}/",  # the confirmation step, then apply
                        {"decision": "NON_MATCH", "reason": "twins"}).content.decode()
    token = shown.split('name="effect" value="')[1].split('"')[0] if 'name="effect"' in shown \
        else "none"
    client.post(f"/linkage/review/{link.pk}/",
                {"decision": "NON_MATCH", "reason": "twins", "effect": token})
    return Link.objects.get(pk=link.pk).state == LinkState.NON_MATCH


def link_cli(user, target, ref):
    link = target["link"]
    CliRunner().invoke(cli, ["linkage", "decide", str(link.pk), "NON_MATCH", "--reason",
                             "twins", "--as", user.username])
    return Link.objects.get(pk=link.pk).state == LinkState.NON_MATCH


def flag_page(user, target, ref):
    flag = target["flag"]
    logged_in(user).post(f"/crosscheck/flags/{flag.pk}/",
                         {"decision": "dismiss", "outcome": "alive, seen at the office"})
    return VerificationFlag.objects.get(pk=flag.pk).state == FlagState.DISMISSED


def approval_cli(user, target, ref):
    CliRunner().invoke(cli, ["intake", "approve", "--area", target["district"].code,
                             "--period", "2026-05", "--as", user.username])
    return PeriodApproval.objects.filter(area=target["district"], period=MAY).exists()


# door -> (how to try it, the permissions that open it, whether the object has a scheme)
DOORS = {
    "upload": (upload, {Permission.SUBMIT_DATA}, True),
    "push": (push, {Permission.SUBMIT_DATA}, True),
    "link_page": (link_page, {Permission.REVIEW_LINKAGE}, True),
    "link_cli": (link_cli, {Permission.REVIEW_LINKAGE}, True),
    "flag_page": (flag_page, {Permission.REGISTER_PERSONS}, True),
    "approval_cli": (approval_cli, set(MAKER_PERMISSIONS), False),
}
CELLS = list(itertools.product(DOORS, ROLES, ("in", "out"), ("in", "out")))


@pytest.mark.parametrize(("door", "role", "area", "scheme"), CELLS,
                         ids=["-".join(c) for c in CELLS])
def test_a_write_happens_only_inside_the_role(world, door, role, area, scheme):
    attempt, permissions, has_scheme = DOORS[door]
    user = factories.user(role, area="XY11", schemes=(SCHEME if scheme == "in" else OTHER,),
                          username=f"{role.lower()}_{door}")
    allowed = bool(ROLE_PERMISSIONS[role] & permissions) and area == "in" and (
        scheme == "in" or not has_scheme)
    wrote = attempt(user, world[area], ref=f"R-{door}-{role}-{area}-{scheme}")
    assert wrote == allowed
