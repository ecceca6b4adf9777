"""Withdrawing a submission puts the registry back exactly as it was before it arrived."""

from __future__ import annotations

import datetime as dt

import pytest
from click.testing import CliRunner

from spmis.access.services import SeparationOfDuties
from spmis.audit.models import AuditEvent
from spmis.cli.main import cli
from spmis.core.errors import Conflict, NotFound, ValidationFailed
from spmis.geography.models import Area
from spmis.intake.models import ChangedRow, Submission, SubmissionStatus
from spmis.intake.withdrawals import submission_withdraw_decide, submission_withdraw_request
from spmis.linkage.models import Link, LinkState, PersonIdentity, VerificationFlag
from spmis.linkage.services import identities_derive
from spmis.payments.models import BenefitPayment
from spmis.registry.models import Household, Person
from spmis.schemes.models import Enrolment, Scheme
from tests import factories
from tests.helpers import logged_in
from tests.intake.helpers import csv_bytes, row, submit

pytestmark = pytest.mark.django_db(transaction=False)

TABLES = (Household, Person, Enrolment, BenefitPayment, Link, PersonIdentity, VerificationFlag)


def state() -> dict[str, list[tuple]]:
    """Every row of the tables a submission (and linkage after it) can touch."""
    return {m.__name__: [tuple(r) for r in m.objects.order_by("pk").values_list()]
            for m in TABLES}


def first() -> bytes:
    return csv_bytes([row(), row(ref="B2", given="Théo", sex="H", dob="01/02/2015", rel="EN"),
                      row(ref="B3", hh="H2", given="Kofi", family="Mensah", sex="H",
                          dob="12/12/1990")])


def correction() -> bytes:
    """B1 renamed and paid more, B2 moved to a new household, B3 dropped, B4 new."""
    return csv_bytes([row(given="Amelia", amount="20.00"),
                      row(ref="B2", hh="H3", given="Théo", sex="H", dob="01/02/2015", rel="EN"),
                      row(ref="B4", hh="H3", given="Zoë", family="Ñúñez", dob="01/01/1960")])


def withdraw(people: dict, submission: Submission, reason: str = "sent by mistake") -> None:
    submission_withdraw_request(actor=people["maker"], submission_id=submission.pk,
                                reason=reason)
    submission_withdraw_decide(actor=people["checker"], submission_id=submission.pk,
                               approve=True)


def test_withdrawing_a_correction_restores_the_state_before_it(people) -> None:
    january = submit(first())
    before = state()
    fix = submit(correction())
    assert fix.status == SubmissionStatus.LOADED, list(fix.issues.values_list("message"))
    assert state() != before
    assert ChangedRow.objects.filter(submission=fix).count() >= 3  # B1, its payment, B2

    withdraw(people, fix)

    assert state() == before
    fix.refresh_from_db()
    january.refresh_from_db()
    assert fix.status == SubmissionStatus.WITHDRAWN and fix.withdrawn_at is not None
    assert january.status == SubmissionStatus.LOADED  # in force again
    assert not ChangedRow.objects.filter(submission=fix).exists()
    entry = AuditEvent.objects.get(action="submission.withdraw", object_id=str(fix.pk))
    assert entry.actor_id == people["checker"].pk and entry.purpose == "sent by mistake"
    assert entry.detail["counts"]["persons deleted"] == 1  # B4
    assert entry.detail["counts"]["persons restored"] == 2  # B1 renamed, B2 moved
    assert entry.detail["in_force_again"] == january.pk


def test_withdrawing_the_first_submission_leaves_nothing(people) -> None:
    empty = state()
    january = submit(first())
    assert Person.objects.filter(created_by_submission=january).count() == 3
    withdraw(people, january)
    assert state() == empty
    # The same file can be sent again and loads as new.
    again = submit(first())
    assert again.status == SubmissionStatus.LOADED
    assert Person.objects.filter(created_by_submission=again).count() == 3


def test_linked_records_of_a_withdrawn_submission_leave_their_identities(people) -> None:
    submit(first())
    identities_derive()
    before = state()
    fix = submit(correction())
    b4 = Person.objects.get(created_by_submission=fix)
    b1 = Person.objects.get(source_ref="B1")
    factories.link(b1, b4, state=LinkState.AUTO)  # linkage after the correction joined them
    identities_derive()
    assert PersonIdentity.objects.get(person=b4).identity == b1.pk
    withdraw(people, fix)
    assert state() == before


def test_a_withdrawal_needs_a_reason_and_a_second_person(people) -> None:
    loaded = submit(first())
    with pytest.raises(ValidationFailed):
        submission_withdraw_request(actor=people["maker"], submission_id=loaded.pk, reason=" ")
    submission_withdraw_request(actor=people["maker"], submission_id=loaded.pk, reason="wrong")
    with pytest.raises(Conflict):  # asked once already
        submission_withdraw_request(actor=people["maker"], submission_id=loaded.pk,
                                    reason="again")
    with pytest.raises(SeparationOfDuties):
        submission_withdraw_decide(actor=people["maker"], submission_id=loaded.pk,
                                   approve=True)
    before = state()
    submission_withdraw_decide(actor=people["checker"], submission_id=loaded.pk,
                               approve=False, reason="the file is right")
    assert state() == before
    loaded.refresh_from_db()
    assert loaded.status == SubmissionStatus.LOADED
    assert AuditEvent.objects.filter(action="submission.withdraw_reject").count() == 1
    with pytest.raises(NotFound):  # nothing waiting any more
        submission_withdraw_decide(actor=people["checker"], submission_id=loaded.pk,
                                   approve=True)


def test_only_the_latest_loaded_submission_can_be_withdrawn(people) -> None:
    may = submit(first())
    june = submit(csv_bytes([row(month="2026-06")]), period="2026-06")
    with pytest.raises(Conflict, match=str(june.pk)):
        submission_withdraw_request(actor=people["maker"], submission_id=may.pk,
                                    reason="wrong")
    refused = submit(csv_bytes([row(sex="X", dob="31/02/2015")]), period="2026-07")
    assert refused.status == SubmissionStatus.REFUSED
    with pytest.raises(Conflict, match="only a loaded submission"):
        submission_withdraw_request(actor=people["maker"], submission_id=refused.pk,
                                    reason="wrong")


def test_a_later_load_between_request_and_approval_stops_it(people) -> None:
    may = submit(first())
    submission_withdraw_request(actor=people["maker"], submission_id=may.pk, reason="wrong")
    submit(csv_bytes([row(month="2026-06")]), period="2026-06")
    with pytest.raises(Conflict, match="withdraw them first"):
        submission_withdraw_decide(actor=people["checker"], submission_id=may.pk,
                                   approve=True)
    may.refresh_from_db()
    assert may.status == SubmissionStatus.LOADED


def test_a_row_still_used_elsewhere_refuses_the_whole_withdrawal(people, country) -> None:
    fix_source = submit(first())
    person = Person.objects.get(source_ref="B3", created_by_submission=fix_source)
    # Another app's row about the person, outside any submission (e.g. a decision since).
    factories.enrolment(person, Scheme.objects.exclude(code="CHILD_GRANT").first())
    before = state()
    with pytest.raises(Conflict, match="still used elsewhere"):
        withdraw(people, fix_source)
    assert state() == before
    fix_source.refresh_from_db()
    assert fix_source.status == SubmissionStatus.LOADED


def test_someone_outside_the_source_cannot_ask(people, district, make_user) -> None:
    loaded = submit(first())
    elsewhere = Area.objects.filter(level=2).exclude(pk=district.pk).first()
    stranger = make_user("DATA_COLLECTOR", area=elsewhere.code, username="stranger")
    with pytest.raises(NotFound):
        submission_withdraw_request(actor=stranger, submission_id=loaded.pk, reason="x")


def test_the_command_asks_and_approves(people) -> None:
    loaded = submit(first())
    runner = CliRunner()
    asked = runner.invoke(cli, ["intake", "withdraw", str(loaded.pk), "--as", "maker",
                                "--reason", "duplicate upload"])
    assert asked.exit_code == 0, asked.output
    assert "waiting for an approver" in asked.output
    done = runner.invoke(cli, ["intake", "withdraw", str(loaded.pk), "--as", "checker",
                               "--action", "approve"])
    assert done.exit_code == 0, done.output
    assert "WITHDRAWN" in done.output and "persons deleted: 3" in done.output
    assert not Person.objects.filter(created_by_submission=loaded).exists()


def test_the_page_asks_and_approves(people) -> None:
    loaded = submit(first())
    url = f"/intake/submissions/{loaded.pk}/"
    maker = logged_in(people["maker"])
    assert "Withdraw this submission" in maker.get(url).content.decode()
    refused = maker.post(url, {"action": "withdraw", "reason": ""})
    assert refused.status_code == 400
    asked = maker.post(url, {"action": "withdraw", "reason": "wrong month"}, follow=True)
    page = asked.content.decode()
    assert "Withdrawal asked" in page and "wrong month" in page
    assert "Approve the withdrawal" not in page  # not for the asker
    checker = logged_in(people["checker"])
    assert "Approve the withdrawal" in checker.get(url).content.decode()
    done = checker.post(url, {"action": "approve"}, follow=True)
    # Said as a success (styled and announced as such), not as an error.
    assert '<div class="message success" role="status">Submission withdrawn' in \
        done.content.decode()
    loaded.refresh_from_db()
    assert loaded.status == SubmissionStatus.WITHDRAWN
    assert not Person.objects.filter(created_by_submission=loaded).exists()


def test_an_aggregate_return_is_corrected_not_withdrawn(people, district) -> None:
    from spmis.intake.aggregates import aggregate_upload

    commune = Area.objects.filter(parent=district).order_by("code").first()
    result = aggregate_upload(actor=None, source_code="NGO_X", area_code=commune.code,
                              period=dt.date(2026, 5, 1), filename="return.csv",
                              data=b"element,combo,value\nEXPENDITURE,,450000\n")
    assert result.submission is not None
    with pytest.raises(Conflict, match="aggregate return"):
        submission_withdraw_request(actor=people["maker"], submission_id=result.submission.pk,
                                    reason="wrong")


def test_only_an_approver_learns_why_a_withdrawal_cannot_be_done(people, district,
                                                                  make_user) -> None:
    may = submit(first())
    submission_withdraw_request(actor=people["maker"], submission_id=may.pk, reason="wrong")
    submit(csv_bytes([row(month="2026-06")]), period="2026-06")
    outsider = make_user("DATA_COLLECTOR", area=district.code, username="collector")
    with pytest.raises(NotFound):  # not an approver: nothing about the source's later files
        submission_withdraw_decide(actor=outsider, submission_id=may.pk, approve=True)
