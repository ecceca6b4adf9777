"""The REST API: 401 without a token, scoped reads with one, pagination, OpenAPI schema."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from spmis.audit.models import AuditEvent
from spmis.audit.services import object_ref
from spmis.geography.models import Area
from spmis.registry.models import Person

pytestmark = pytest.mark.django_db

ENDPOINTS = ["/api/v1/areas/", "/api/v1/areas/XY/", "/api/v1/schemes/",
             "/api/v1/schemes/CHILD_GRANT/", "/api/v1/persons/", "/api/v1/persons/1/",
             "/api/v1/households/1/", "/api/v1/enrolments/"]


@pytest.mark.parametrize("url", ENDPOINTS)
def test_no_token_gets_401_and_no_data(country, url):
    response = APIClient().get(url)
    assert response.status_code == 401
    assert set(response.json()) == {"detail"}
    assert response["WWW-Authenticate"] == "Token"


def test_bad_token_gets_401(country):
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    assert api.get("/api/v1/persons/").status_code == 401


@pytest.mark.parametrize("url", ENDPOINTS)
def test_national_user_reads_every_endpoint(country, make_user, api_for, url):
    assert api_for(make_user()).get(url).status_code == 200


def test_persons_are_paginated(country, make_user, api_for):
    api = api_for(make_user())
    first = api.get("/api/v1/persons/", {"page_size": 100}).json()
    assert first["count"] == 1500
    assert len(first["results"]) == 100
    second = api.get(first["next"]).json()
    assert {p["id"] for p in first["results"]}.isdisjoint({p["id"] for p in second["results"]})
    assert api.get("/api/v1/persons/", {"page": 999}).status_code == 404


def test_search_by_national_id_and_name(country, make_user, api_for):
    person = Person.objects.exclude(national_id=None).order_by("id").first()
    api = api_for(make_user())
    found = api.get("/api/v1/persons/", {"national_id": person.national_id}).json()
    assert [p["id"] for p in found["results"]] == [person.pk]
    by_name = api.get("/api/v1/persons/", {"q": f"{person.given_name} {person.family_name}",
                                           "page_size": 500}).json()
    assert person.pk in [p["id"] for p in by_name["results"]]
    assert all(p["family_name"].lower().startswith(person.family_name.lower())
               or p["given_name"].lower().startswith(person.family_name.lower())
               for p in by_name["results"])


def test_district_user_sees_only_their_district(country, make_user, api_for):
    district = Area.objects.filter(level=2).order_by("code").first()
    api = api_for(make_user("REGISTRAR", area=district.code))
    listed = api.get("/api/v1/persons/", {"page_size": 500}).json()
    inside = Person.objects.filter(area__path__startswith=district.path)
    assert listed["count"] == inside.count() > 0
    outsider = Person.objects.exclude(area__path__startswith=district.path).first()
    missing = api.get(f"/api/v1/persons/{outsider.pk}/")
    nonexistent = api.get("/api/v1/persons/99999999/")
    # Not allowed and not found look the same.
    assert missing.status_code == nonexistent.status_code == 404
    assert missing.json() == nonexistent.json()
    assert api.get(f"/api/v1/households/{outsider.household_id}/").status_code == 404
    enrolments = api.get("/api/v1/enrolments/", {"page_size": 500}).json()
    assert {e["person"] for e in enrolments["results"]} <= set(inside.values_list("id", flat=True))


def test_scheme_scoped_user_sees_only_enrolled_persons(country, make_user, api_for):
    api = api_for(make_user("PAYMENT_OFFICER", schemes=("SOCIAL_PENSION",)))
    listed = api.get("/api/v1/persons/", {"page_size": 500}).json()
    expected = Person.objects.filter(enrolments__scheme__code="SOCIAL_PENSION").distinct()
    assert listed["count"] == expected.count() > 0
    schemes_seen = {e["scheme"] for e in api.get("/api/v1/enrolments/").json()["results"]}
    assert schemes_seen == {"SOCIAL_PENSION"}


def test_user_without_roles_sees_nothing(country, api_for):
    from spmis.access.services import user_create

    api = api_for(user_create(actor=None, username="nobody", password="a-long-pass-phrase-9"))
    assert api.get("/api/v1/persons/").json()["count"] == 0
    assert api.get("/api/v1/persons/1/").status_code == 404


def test_person_read_is_audited(country, make_user, api_for):
    user = make_user()
    api_for(user).get("/api/v1/persons/7/", {"purpose": "case review"})
    event = AuditEvent.objects.filter(action="person.view").latest("id")
    assert (event.actor, event.object_id, event.purpose) == (
        user, object_ref("person", 7), "case review")


def test_openapi_schema_is_served():
    response = APIClient().get("/api/schema", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    body = response.json() if "json" in response["Content-Type"] else None
    if body is None:
        import yaml  # pragma: no cover - drf-spectacular serves YAML by default

        body = yaml.safe_load(response.content)
    assert body["openapi"].startswith("3.")
    for path in ("/api/v1/persons/", "/api/v1/persons/{id}/", "/api/v1/areas/",
                 "/api/v1/households/{id}/", "/api/v1/schemes/", "/api/v1/enrolments/"):
        assert path in body["paths"], path
