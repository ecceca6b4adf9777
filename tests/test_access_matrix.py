"""Every route x every role x an object inside and outside the user's district, as policy.

Generated from the URL registry and the ``route_policy`` each app declares next to its routes
(in its ``urls.py``; ``api-schema`` in ``config/urls.py``): a route with no policy entry fails
here, so no door can be added without deciding who may use it.
"""

from __future__ import annotations

import datetime as dt
import re
from importlib import import_module

import pytest
from django.conf import settings
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from rest_framework.test import APIClient

from spmis.access.models import Role, User
from spmis.access.policy import ROLE_PERMISSIONS
from spmis.core.doors import RoutePolicy, from_every_app
from spmis.geography.models import Area
from spmis.indicators.services import indicators_run
from spmis.intake.models import Source, Submission, SubmissionStatus
from spmis.linkage.models import FlagReason, Link, LinkageRun, VerificationFlag
from spmis.registry.models import Person
from tests import factories
from tests.helpers import logged_in

pytestmark = pytest.mark.django_db
ROLES = [r.value for r in Role]


def declared_policies() -> list[tuple[str, str, RoutePolicy]]:
    """(module, route, policy) from every app's ``route_policy`` and the root URLconf's."""
    tables = [*from_every_app("route_policy"), (settings.ROOT_URLCONF, getattr(
        import_module(settings.ROOT_URLCONF), "route_policy", {}))]
    return [(module, name, policy) for module, table in tables
            for name, policy in table.items()]


ROUTE_POLICY: dict[str, RoutePolicy] = {name: policy for _m, name, policy in declared_policies()}


def named_routes() -> set[str]:
    def walk(patterns, prefix=""):
        for p in patterns:
            if isinstance(p, URLResolver):
                ns = f"{prefix}{p.namespace}:" if p.namespace else prefix
                yield from walk(p.url_patterns, ns)
            elif isinstance(p, URLPattern) and p.name:
                yield f"{prefix}{p.name}"
    return set(walk(get_resolver().url_patterns))


def test_every_route_has_a_policy():
    missing = named_routes() - set(ROUTE_POLICY)
    assert not missing, f"routes without an access policy: {sorted(missing)}"
    assert not set(ROUTE_POLICY) - named_routes(), "policy for routes that no longer exist"


def test_each_route_has_one_policy():
    where: dict[str, list[str]] = {}
    for module, name, _policy in declared_policies():
        where.setdefault(name, []).append(module)
    twice = {name: modules for name, modules in where.items() if len(modules) > 1}
    assert not twice, f"routes with a policy in more than one place: {twice}"


@pytest.fixture
def world(country, make_user):
    """Two districts, one person in each, and one user per role scoped to the first."""
    home, away = Area.objects.filter(level=2).order_by("code")[:2]
    enrolled = Person.objects.exclude(national_id=None).filter(
        enrolments__isnull=False).distinct().order_by("id")
    inside = enrolled.filter(area__path__startswith=home.path).first()
    outside = enrolled.filter(area__path__startswith=away.path).first()
    users = {role: make_user(role, area=home.code, username=f"m_{role.lower()}")
             for role in ROLES}
    for person in (inside, outside):  # a payment each (the synthetic country may have none)
        person.payment = person.payments.order_by("id").first() or factories.payment(
            person, person.enrolments.order_by("id").first().scheme, period=dt.date(2026, 6, 1))
    inside.submission = _submission(home)
    outside.submission = _submission(away)
    run = factories.linkage_run()
    inside.link = _link(run, inside, home)
    outside.link = _link(run, outside, away)
    registry = factories.registry("CRVS_MATRIX")
    inside.flag = _flag(registry, inside)
    outside.flag = _flag(registry, outside)
    indicators_run(actor=None, period=dt.date(2026, 6, 1))  # figures for the indicators page
    return {"inside": inside, "outside": outside, "users": users}


def _submission(area: Area) -> Submission:
    """A refused submission of a source in ``area``, whose message and issue carry a marker."""
    source = factories.source(f"SRC_{area.code}", name=f"Source {area.code}",
                              institution="NGO", kind="NGO", area=area)
    submission = factories.submission(source, status=SubmissionStatus.REFUSED,
                                      content_hash="0" * 64, message=f"marker-{area.code}")
    factories.submission_issue(submission, row=2, column="NIN", value=f"marker-{area.code}",
                               rule="luhn", message="bad")
    return submission


def _link(run: LinkageRun, person: Person, area: Area) -> Link:
    """A pair waiting for review: ``person`` and another record of the same district."""
    other = Person.objects.filter(area__path__startswith=area.path).exclude(
        pk=person.pk).order_by("id").first()
    return factories.link(person, other, run=run, probability=0.8, weight=3.0,
                          weights={"surname": 4.0, "given_name": -1.0}, state="REVIEW")


def _flag(registry: Source, person: Person) -> VerificationFlag:
    """An open verification flag on ``person``: paid after a death the registry knows of."""
    enrolment = person.enrolments.order_by("id").first()
    return factories.flag(
        person, registry=registry, evidence=person, scheme_id=enrolment.scheme_id,
        reason=FlagReason.DECEASED_PAID, due_in=30,
        detail={"date_of_death": "2024-01-31", "matched_by": "national_id",
                "periods_paid_after_death": 2, "amount_minor": 5000, "first_period": "2024-02"})


def url_for(name: str, person: Person) -> str:
    if name in ("access:user-disable", "access:user-sign-out", "access:role-revoke"):
        # A confirmation page (a GET changes nothing) about a user of the world's district.
        member = User.objects.get(username="m_registrar")
        target = member.role_assignments.get() if name == "access:role-revoke" else member
        return reverse(name, args=[target.pk])
    submission = person.submission  # set by the world fixture
    args = {
        "intake:submission-detail": [submission.pk], "api:submission-detail": [submission.pk],
        "intake:submission-state": [submission.pk], "api:submission-state": [submission.pk],
        "intake:submission-errors": [submission.pk, "csv"],
        "linkage:linkage_review_pair": [person.link.pk],
        "linkage:linkage_records": [person.link.person_l_id, person.link.person_r_id],
        "linkage:crosscheck-flag": [person.flag.pk],
        "registry:person-detail": [person.pk], "api:person-detail": [person.pk],
        "registry:household-detail": [person.household_id],
        "api:household-detail": [person.household_id],
        "schemes:scheme-detail": ["CHILD_GRANT"], "api:scheme-detail": ["CHILD_GRANT"],
        "api:area-detail": ["XY"],
        "api:payment-detail": [person.payment.pk],
        "intake:source-edit": [submission.source.code],
        "api:source-detail": [submission.source.code],
    }.get(name, [])
    url = reverse(name, args=args)
    if name in ("registry:person-search", "api:person-list"):
        url += f"?national_id={person.national_id}"
    if name in ("api:enrolment-list", "api:payment-list"):
        url += f"?person={person.pk}"
    if name in ("intake:submission-list", "api:submission-list", "intake:upload-columns"):
        url += f"?source={submission.source.code}"
    return url


def expected(name: str, role: str, in_scope: bool) -> tuple[int, bool]:
    """(status, whether the object's data may appear in the response)."""
    policy = ROUTE_POLICY[name]
    allowed = policy.permission is None or policy.permission in ROLE_PERMISSIONS[role]
    if policy.kind in ("public", "any"):
        return 200, False
    if policy.kind == "page":
        return (200 if allowed else 403), False
    if policy.kind == "scoped":
        return (200, in_scope) if allowed else (403, False)
    if policy.kind == "object":
        return (200, True) if allowed and in_scope else (404, False)
    return 200, allowed and in_scope  # list


def fetch(name: str, user, url: str, clients: dict):
    if name.startswith("api"):
        api = APIClient()
        key = f"api:{user.username}"  # one token per user, issued as `spmis token` does
        if key not in clients:
            clients[key] = factories.api_token(user)
        api.credentials(HTTP_AUTHORIZATION=f"Token {clients[key]}")
        return api.get(url)
    if user.username not in clients:
        clients[user.username] = logged_in(user)
    return clients[user.username].get(url)


def reveals(name: str, person: Person, body: str) -> bool:
    """Whether the response carries the object's data (what an IDOR would leak)."""
    if name == "intake:submission-errors":  # the report's row; its value only to those who
        return ",NIN," in body and ",luhn," in body  # see persons (test_issue_values.py)
    if "submission" in name:
        return person.submission.message in body
    if name in ("intake:source-list", "intake:source-edit", "api:source-list",
                "api:source-detail"):  # the source's name, never in a refusal
        return person.submission.source.name.replace(" ", "") in body
    if name in ("api:enrolment-list", "api:payment-list", "api:payment-detail"):
        return f'"person":{person.pk},' in body
    if name.startswith("linkage:crosscheck"):  # the flag's link (list) or its form (detail)
        return f"/crosscheck/flags/{person.flag.pk}/" in body
    if name == "intake:upload-columns":  # what the source expects, named by its code
        return person.submission.source.code in body
    if name == "api:household-detail":
        return f'"id":{person.household_id},' in body
    if name == "indicators:indicators":  # the person's district as the area shown or linked
        district = person.area.path.strip("/").split("/")[2]
        return f'data-area-code="{district}"' in body or f"area={district}&amp;" in body
    # The search echoes its query.
    if name in ("registry:household-detail", "registry:person-search"):
        return f"/persons/{person.pk}/" in body
    return person.national_id in body


NEXT_FIELD = re.compile(r'<input type="hidden" name="next" value="[^"]*">')
SKIP = {"access:login", "access:logout", "access:mfa-verify", "access:mfa-setup", "api-schema"}


def test_matrix(world):
    clients: dict = {}
    cells = failures = 0
    leaks = []
    for name in sorted(set(ROUTE_POLICY) - SKIP):
        for role, user in world["users"].items():
            for in_scope, person in ((True, world["inside"]), (False, world["outside"])):
                status, visible = expected(name, role, in_scope)
                response = fetch(name, user, url_for(name, person), clients)
                cells += 1
                body = (b"".join(response.streaming_content) if response.streaming
                        else response.content)  # the audit export streams its CSV
                # The language switcher echoes the address asked for (the asker's own words).
                text = NEXT_FIELD.sub("", body.decode())
                shows = reveals(name, person, text.replace(" ", ""))
                if response.status_code != status:
                    failures += 1
                    leaks.append(f"{name} {role} in_scope={in_scope}: "
                                 f"{response.status_code} != {status}")
                elif ROUTE_POLICY[name].kind in ("object", "list", "scoped") and shows != visible:
                    failures += 1
                    leaks.append(f"{name} {role} in_scope={in_scope}: shows={shows}")
    assert not leaks, "\n".join(leaks)
    assert cells == len(set(ROUTE_POLICY) - SKIP) * len(ROLES) * 2
    print(f"access matrix: {cells} cells, {failures} failures")


def test_unauthenticated_gets_nothing(world):
    for name, policy in ROUTE_POLICY.items():
        if policy.kind == "public":
            continue
        url = url_for(name, world["inside"])
        if name.startswith("api"):
            response = APIClient().get(url)
            assert response.status_code == 401, name
        else:
            from django.test import Client

            response = Client().get(url)
            assert response.status_code == 302 and "/login/" in response["Location"], name
        assert world["inside"].national_id not in response.content.decode()


def test_tampered_session_cookie_is_treated_as_logged_out(world):
    from django.conf import settings
    from django.test import Client

    client = logged_in(world["users"]["REGISTRAR"])
    key = client.cookies[settings.SESSION_COOKIE_NAME].value
    client.cookies[settings.SESSION_COOKIE_NAME] = key[:-1] + ("a" if key[-1] != "a" else "b")
    response = client.get(f"/persons/{world['inside'].pk}/")
    assert response.status_code == 302 and "/login/" in response["Location"]
    forged = Client()
    forged.cookies[settings.SESSION_COOKIE_NAME] = "x" * 32
    assert forged.get("/").status_code == 302
