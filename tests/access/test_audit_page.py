"""The audit search page, its CSV export and the API's: picker, dates, readable objects."""

from __future__ import annotations

import csv
import io
import re

import pytest

from spmis.access.models import Clearance
from spmis.audit.actions import AuditAction
from spmis.audit.models import AuditEvent
from spmis.audit.services import audit_record, object_ref
from spmis.geography.models import Area
from spmis.registry.models import Person
from spmis.registry.selectors import person_get_for_user
from tests import factories
from tests.helpers import logged_in


@pytest.fixture
def viewed(small, make_user):
    """A named person of commune C1, read by a registrar (an entry ``person.view``)."""
    person = Person.objects.filter(area__code="C1").order_by("id").first()
    Person.objects.filter(pk=person.pk).update(given_name="Amina", family_name="Kamara")
    reader = make_user("REGISTRAR", area="XY", username="reader")
    person_get_for_user(user=reader, person_id=person.pk)
    return Person.objects.get(pk=person.pk)


def _options(body: str) -> list[str]:
    start = body.index('<select id="action"')
    picker = body[start:body.index("</select>", start)]
    return [v for v in re.findall(r'<option value="([^"]*)"', picker) if v]


def test_the_action_picker_lists_every_catalogue_action_grouped_and_labelled(small, make_user):
    body = logged_in(make_user("AUDITOR", username="aud")).get("/audit/").content.decode()
    assert sorted(_options(body)) == sorted(a.value for a in AuditAction)
    assert '<optgroup label="Persons and households">' in body
    assert "A person&#x27;s record was read. (person.view)" in body


def test_an_action_of_the_catalogue_matches_exactly_and_other_text_as_a_prefix(
        small, make_user, api_for):
    user = make_user("AUDITOR", username="aud")
    for action in (AuditAction.AUTH_LOGIN, AuditAction.AUTH_LOGIN_FAILED):
        audit_record(actor=None, action=action, object_type="user", object_id=1)
    exact = api_for(user).get("/api/v1/audit/", {"action": "auth.login"}).json()
    assert {e["action"] for e in exact["results"]} == {"auth.login"}
    prefix = api_for(user).get("/api/v1/audit/", {"action": "auth.log"}).json()
    assert {e["action"] for e in prefix["results"]} == {"auth.login", "auth.login_failed"}
    page = logged_in(user).get("/audit/", {"action": "auth.log"}).content.decode()
    assert "Actions starting with “auth.log”" in page


@pytest.mark.parametrize("params, field", [
    ({"since": "2026-02-30"}, "since"),
    ({"until": "yesterday"}, "until"),
    ({"since": "2026-06-02", "until": "2026-06-01"}, "until"),
])
def test_a_bad_or_reversed_date_is_an_error_on_the_form_and_nothing_is_searched(
        small, make_user, api_for, params, field):
    user = make_user("AUDITOR", username="aud")
    searches = AuditEvent.objects.filter(action="audit.search").count()
    response = logged_in(user).get("/audit/", params)
    body = response.content.decode()
    assert response.status_code == 400
    assert f'id="{field}-error"' in body and 'aria-invalid="true"' in body
    assert "No entries match." not in body and "<table" not in body  # no unfiltered results
    assert AuditEvent.objects.filter(action="audit.search").count() == searches
    api = api_for(user).get("/api/v1/audit/", params)
    assert api.status_code == 400 and ("1900-01-01" in api.json()["detail"]
                                       or "before the From date" in api.json()["detail"])


def _object_cell(body: str, seq: int) -> str:
    row = body[body.index(f'<tr data-seq="{seq}">'):]
    row = row[:row.index("</tr>")]
    return re.search(r'<td class="object">(.*?)</td>', row, re.S).group(1)


def test_a_person_is_named_only_for_a_viewer_who_may_see_them(viewed, make_user):
    entry = AuditEvent.objects.filter(action="person.view").latest("seq")
    factories.scheme("OTHER", guarantee="HEALTH", cash=False)
    viewers = {
        "national": make_user("AUDITOR", username="aud_all"),
        "internal": make_user("AUDITOR", username="aud_internal", clearance=Clearance.INTERNAL),
        "other_scheme": make_user("AUDITOR", schemes=("OTHER",), username="aud_other"),
        "security": make_user("SECURITY_ADMIN", username="sec", clearance=Clearance.INTERNAL),
    }
    cells = {}
    for name, user in viewers.items():
        body = logged_in(user).get("/audit/", {"action": "person.view"}).content.decode()
        cells[name] = _object_cell(body, entry.seq)
    commune = Area.objects.get(code="C1")
    assert cells["national"] == f"person {viewed.pk} (Amina K., {commune.name} C1)"
    assert cells["internal"] == f"person {viewed.pk} ({commune.name} C1)"  # names masked
    for name in ("other_scheme", "security"):  # out of their person scope: the hash as stored
        assert "Amina" not in cells[name] and f"person {viewed.pk}" not in cells[name]
        assert object_ref("person", viewed.pk)[:15] in cells[name]


def _csv(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_the_export_holds_the_pages_rows_is_audited_and_the_api_answers_the_same(
        viewed, make_user, api_for):
    user = make_user("AUDITOR", username="aud")
    client = logged_in(user)
    page = client.get("/audit/", {"action": "person.view"}).content.decode()
    assert 'href="/audit/export.csv?action=person.view"' in page
    shown = [(int(seq), _object_cell(page, int(seq)))
             for seq in re.findall(r'<tr data-seq="(\d+)">', page)]
    response = client.get("/audit/export.csv", {"action": "person.view"})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"].startswith('attachment; filename="audit-')
    rows = _csv(response)
    assert rows[0] == ["seq", "occurred_at_utc", "actor", "action", "object_type", "object_id",
                       "object", "area", "purpose", "client_address", "detail"]
    assert [(int(r[0]), r[6]) for r in rows[1:]] == shown
    assert rows[1][2:6] == ["reader", "person.view", "person",
                            object_ref("person", viewed.pk)]
    export = AuditEvent.objects.filter(action="audit.export").latest("seq")
    assert export.actor_username == "aud"
    assert export.detail == {"by": ["action"], "rows": len(shown), "format": "csv"}
    api = api_for(user).get("/api/v1/audit/export/", {"action": "person.view"},
                            HTTP_ACCEPT="text/csv")
    assert api.status_code == 200 and _csv(api) == rows
    assert AuditEvent.objects.filter(action="audit.export").count() == 2


def test_the_export_neutralises_formulas_and_excludes_its_own_entry(small, make_user):
    user = make_user("AUDITOR", username="aud")
    audit_record(actor=None, action=AuditAction.APPROVAL_DECIDE, object_type="enrolment",
                 object_id=3, purpose="=HYPERLINK(\"x\")")
    rows = _csv(logged_in(user).get("/audit/export.csv", {"action": "approval.",
                                                          "object_type": "enrolment"}))
    assert len(rows) == 2 and rows[1][8] == "'=HYPERLINK(\"x\")"
    everything = _csv(logged_in(user).get("/audit/export.csv"))
    assert "audit.export" not in {r[3] for r in everything[1:]} or all(
        int(r[0]) < AuditEvent.objects.filter(action="audit.export").latest("seq").seq
        for r in everything[1:])


def test_the_export_has_the_pages_rights(small, make_user, api_for):
    registrar = make_user("REGISTRAR", username="reg")
    assert logged_in(registrar).get("/audit/export.csv").status_code == 403
    assert api_for(registrar).get("/api/v1/audit/export/").status_code == 403
    assert not AuditEvent.objects.filter(action="audit.export").exists()
    assert AuditEvent.objects.filter(action="access.denied", actor__username="reg").count() == 2
    auditor = make_user("AUDITOR", username="aud")
    bad = logged_in(auditor).get("/audit/export.csv", {"since": "2026-13-01"}, follow=True)
    assert "type a date as YYYY-MM-DD" in bad.content.decode()
    assert api_for(auditor).get("/api/v1/audit/export/", {"since": "x"}).status_code == 400
    assert not AuditEvent.objects.filter(action="audit.export").exists()


def test_a_district_auditor_exports_only_their_district(small, make_user):
    factories.area("D2", parent=Area.objects.get(code="R1"))
    audit_record(actor=None, action=AuditAction.PERIOD_APPROVE, area_code="D1")
    audit_record(actor=None, action=AuditAction.PERIOD_APPROVE, area_code="D2")
    rows = _csv(logged_in(make_user("AUDITOR", area="D2", username="aud_d2")).get(
        "/audit/export.csv", {"action": "period.approve"}))
    assert [r[7] for r in rows[1:]] == ["D2"]


def test_a_household_and_a_user_are_named_too_and_a_small_budget_names_nobody(
        viewed, make_user, monkeypatch):
    from spmis.registry import audit_objects
    from spmis.registry.selectors import household_get_for_user

    home = factories.household(area=viewed.area)
    Person.objects.filter(pk=viewed.pk).update(household=home)
    reader = make_user("REGISTRAR", area="XY", username="reader2")
    household_get_for_user(user=reader, household_id=home.pk)
    entry = AuditEvent.objects.filter(action="household.view").latest("seq")
    auditor = logged_in(make_user("AUDITOR", username="aud"))
    body = auditor.get("/audit/", {"action": "household.view"}).content.decode()
    assert _object_cell(body, entry.seq).startswith(f"household {home.pk} (")
    grant = AuditEvent.objects.filter(action="role.assign").latest("seq")
    body = auditor.get("/audit/", {"action": "role.assign"}).content.decode()
    assert _object_cell(body, grant.seq) == f"user {grant.object_id} (aud)"
    monkeypatch.setattr(audit_objects, "MAX_CANDIDATES", 0)  # no hash may be computed
    body = auditor.get("/audit/", {"action": "household.view"}).content.decode()
    assert f"household {home.pk}" not in _object_cell(body, entry.seq)
