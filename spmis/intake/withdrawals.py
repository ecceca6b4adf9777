"""Withdrawing a submission (maker-checker): what it created is deleted and what it changed is
restored from the rows' before-images, so the registry is as it was before it arrived.

Only a source's latest loaded submission can be withdrawn: a later one may have relied on its
rows (sent them again unchanged, paid its persons), and undoing under it would be guesswork.
Withdraw the later ones first. Rows other apps keep about the deleted person records (links,
identities, verification flags) are removed by those apps in the same transaction; anything
else still referring to them refuses the withdrawal as a whole.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import polars as pl
from django.db import IntegrityError, models, transaction
from django.utils.translation import gettext as _

from spmis.access.models import ApprovalStatus, Role, User
from spmis.access.policy import Permission
from spmis.access.selectors import approval_checkers
from spmis.access.services import approval_decide, approval_request
from spmis.audit.actions import AuditAction
from spmis.audit.services import audit_record
from spmis.core import clock
from spmis.core.bulk import references_check
from spmis.core.errors import Conflict, NotFound, ValidationFailed
from spmis.geography.models import Area
from spmis.intake.models import ChangedRow, Submission, SubmissionStatus
from spmis.intake.selectors import source_list_for_user
from spmis.payments.models import BenefitPayment
from spmis.payments.services import payments_withdraw_bulk
from spmis.registry.models import Household, Person
from spmis.registry.services import households_withdraw_bulk, persons_withdraw_bulk
from spmis.schemes.models import Enrolment
from spmis.schemes.services import enrolments_withdraw_bulk

# Undone in the reverse of the load's order, so nothing points at a deleted row.
UNDO: list[tuple[str, type[models.Model], Callable[..., dict[str, int]]]] = [
    ("payments", BenefitPayment, payments_withdraw_bulk),
    ("enrolments", Enrolment, enrolments_withdraw_bulk),
    ("persons", Person, persons_withdraw_bulk),
    ("households", Household, households_withdraw_bulk),
]
# Who may ask: those who send a source's data, and those who manage the source.
MAKER_PERMISSIONS = (Permission.SUBMIT_DATA, Permission.MANAGE_SOURCES)
LOADED = (SubmissionStatus.LOADED, SubmissionStatus.PARTIAL)


def submission_withdraw_request(*, actor: User, submission_id: int,
                                reason: str) -> Submission:
    """Ask for a loaded submission to be withdrawn, saying why; an approver over the
    source's area (never the asker) decides."""
    reason = reason.strip()
    if not reason:
        raise ValidationFailed(_("Say why the submission is withdrawn (--reason)."))
    with transaction.atomic():
        submission = _get_for_update(actor, submission_id)
        _require_withdrawable(submission)
        if _pending(submission):
            raise Conflict(_("Submission %(n)s's withdrawal is already waiting for an "
                             "approver.") % {"n": submission.pk})
        area = submission.source.area or Area.objects.filter(parent__isnull=True).first()
        if area is None:
            raise NotFound("There are no areas yet.")
        submission.withdraw_request = approval_request(
            maker=actor, object_type="submission", object_id=submission.pk,
            action="submission.withdraw", approver_role=Role.APPROVER, area_code=area.code)
        submission.withdraw_reason = reason[:400]
        submission.save(update_fields=["withdraw_request", "withdraw_reason"])
        audit_record(actor=actor, action=AuditAction.SUBMISSION_WITHDRAW_REQUEST,
                     object_type="submission", object_id=submission.pk,
                     area_code=area.code, purpose=reason,
                     detail={"source": submission.source.code,
                             "period": f"{submission.period:%Y-%m}",
                             "request": submission.withdraw_request.pk})
    return submission


def submission_withdraw_decide(*, actor: User, submission_id: int, approve: bool,
                               reason: str = "") -> Submission:
    """An approver other than the asker approves (the submission is withdrawn at once) or
    rejects (with a reason) a pending withdrawal."""
    with transaction.atomic():
        submission = (Submission.objects.select_for_update(of=("self",))
                      .select_related("source", "withdraw_request").filter(pk=submission_id)
                      .first())
        if submission is None or not _pending(submission):
            raise NotFound(_("No withdrawal of submission %(n)s is waiting for approval.")
                           % {"n": submission_id})
        assert submission.withdraw_request is not None
        # Who may decide is checked first; a refusal below rolls the decision back with the
        # rest, so the request stays pending.
        request = approval_decide(checker=actor, request_id=submission.withdraw_request.pk,
                                  approve=approve, reason=reason)
        if request.status == ApprovalStatus.APPROVED:
            _require_withdrawable(submission)
            _withdraw(submission, actor)
        elif request.status == ApprovalStatus.REJECTED:
            audit_record(actor=actor, action=AuditAction.SUBMISSION_WITHDRAW_REJECT,
                         object_type="submission", object_id=submission.pk, purpose=reason,
                         detail={"source": submission.source.code,
                                 "period": f"{submission.period:%Y-%m}"})
    return submission


def _get_for_update(actor: User, submission_id: int) -> Submission:
    mine = Submission.objects.none()
    for permission in MAKER_PERMISSIONS:
        mine |= Submission.objects.filter(
            source__in=source_list_for_user(user=actor, permission=permission))
    found = mine.filter(pk=submission_id).values_list("pk", flat=True).first()
    if found is None:
        raise NotFound(f"No submission {submission_id} among your sources'.")
    return (Submission.objects.select_for_update(of=("self",))
            .select_related("source", "source__area", "withdraw_request").get(pk=found))


def _pending(submission: Submission) -> bool:
    request = submission.withdraw_request
    return request is not None and request.status == ApprovalStatus.PENDING


def _require_withdrawable(submission: Submission) -> None:
    if submission.status not in LOADED:
        raise Conflict(_("Submission %(n)s is %(status)s; only a loaded submission can be "
                         "withdrawn.") % {"n": submission.pk,
                                          "status": submission.get_status_display()})
    if submission.aggregate_values.exists():
        raise Conflict(_("Submission %(n)s is an aggregate return: correct it by sending the "
                         "figures again (`spmis intake aggregate-upload`).") % {
                             "n": submission.pk})
    later = list(Submission.objects.filter(source=submission.source, pk__gt=submission.pk,
                                           status__in=LOADED)
                 .order_by("-pk").values_list("pk", flat=True))
    if later:
        raise Conflict(_("Source %(code)s loaded later submissions (%(later)s) that may rely "
                         "on this one's rows: withdraw them first, newest first.") % {
                             "code": submission.source.code,
                             "later": ", ".join(map(str, later))})


def _withdraw(submission: Submission, actor: User) -> None:
    """Undo the submission's rows, put back the submission it superseded, audit."""
    counts: dict[str, int] = {}
    try:
        with transaction.atomic():
            for name, model, undo in UNDO:
                done = undo(submission_id=submission.pk, before=_before(submission, model))
                counts.update({f"{name} {k}" if k in ("restored", "deleted") else k: v
                               for k, v in done.items() if v})
            references_check([model for _name, model, _undo in UNDO])
    except IntegrityError as exc:
        raise Conflict(_("Rows submission %(n)s created are still used elsewhere (e.g. a "
                         "decision or payment made since); nothing was withdrawn. (%(why)s)")
                       % {"n": submission.pk, "why": exc}) from exc
    ChangedRow.objects.filter(submission=submission).delete()
    restored = submission.supersedes
    if restored is not None and restored.status == SubmissionStatus.SUPERSEDED:
        restored.status = (SubmissionStatus.PARTIAL if restored.rows_rejected
                           else SubmissionStatus.LOADED)
        restored.save(update_fields=["status"])
    submission.status = SubmissionStatus.WITHDRAWN
    submission.withdrawn_at = clock.now()
    submission.save(update_fields=["status", "withdrawn_at"])
    audit_record(actor=actor, action=AuditAction.SUBMISSION_WITHDRAW, object_type="submission",
                 object_id=submission.pk,
                 area_code=submission.source.area.code if submission.source.area else "",
                 purpose=submission.withdraw_reason,
                 detail={"source": submission.source.code,
                         "period": f"{submission.period:%Y-%m}", "counts": counts,
                         "asked_by": submission.withdraw_request.maker_id
                         if submission.withdraw_request else None,
                         "in_force_again": restored.pk if restored else None})


def _before(submission: Submission, model: type[models.Model]) -> pl.DataFrame:
    rows = (ChangedRow.objects.filter(submission=submission, table=model._meta.db_table)
            .values_list("row_id", "before"))
    return pl.DataFrame(list(rows), schema={"id": pl.Int64, "before": pl.String},
                        orient="row")


def withdrawal_summary(submission: Submission) -> str:
    """What withdrawing ``submission`` did, from its audit entry (one line)."""
    from spmis.audit.models import AuditEvent

    entry = (AuditEvent.objects.filter(action=AuditAction.SUBMISSION_WITHDRAW,
                                       object_type="submission", object_id=str(submission.pk))
             .order_by("-id").first())
    if entry is None:
        return ""
    counts = entry.detail.get("counts", {})
    return ", ".join(f"{k}: {v}" for k, v in counts.items()) or "nothing to undo"


@dataclass(frozen=True)
class WithdrawalOptions:
    """What a user may do about a submission's withdrawal (the page shows the matching form)."""

    can_ask: bool
    pending: bool
    can_decide: bool


def withdrawal_options(*, user: User, submission: Submission) -> WithdrawalOptions:
    pending = _pending(submission)
    if pending:
        assert submission.withdraw_request is not None
        deciders = approval_checkers(request=submission.withdraw_request)
        return WithdrawalOptions(can_ask=False, pending=True,
                                 can_decide=deciders.filter(pk=user.pk).exists())
    mine = any(source_list_for_user(user=user, permission=p).filter(pk=submission.source_id)
               .exists() for p in MAKER_PERMISSIONS)
    return WithdrawalOptions(can_ask=mine and submission.status in LOADED, pending=False,
                             can_decide=False)
