"""The audit log: state changes and reads of person data leave an append-only trace."""

from __future__ import annotations

import pytest

from spmis.audit.models import AuditEvent
from spmis.core.errors import NotFound
from spmis.registry.selectors import person_get_for_user, person_search_for_user

pytestmark = pytest.mark.django_db


def test_role_grant_is_audited_with_the_area(country, make_user):
    user = make_user("AUDITOR", area="XY01")
    event = AuditEvent.objects.filter(action="role.assign").latest("id")
    assert (event.object_id, event.area_code, event.detail["role"]) == (str(user.pk), "XY01",
                                                                        "AUDITOR")


def test_search_is_audited_without_the_searched_values(country, make_user):
    user = make_user()
    list(person_search_for_user(user=user, text="Kamar", national_id="1234567890"))
    event = AuditEvent.objects.filter(action="person.search").latest("id")
    assert event.actor == user
    assert event.detail == {"by": ["name", "national_id"]}
    assert "Kamar" not in str(event.detail) and "1234567890" not in str(event.detail)


def test_failed_read_is_not_logged_as_a_view(country, make_user):
    user = make_user("REGISTRAR", area="XY0101")
    before = AuditEvent.objects.filter(action="person.view").count()
    with pytest.raises(NotFound):
        person_get_for_user(user=user, person_id=99999999)
    assert AuditEvent.objects.filter(action="person.view").count() == before


def test_events_cannot_be_changed_or_deleted(country):
    event = AuditEvent.objects.first()
    event.action = "tampered"
    with pytest.raises(PermissionError):
        event.save()
    with pytest.raises(PermissionError):
        event.delete()
