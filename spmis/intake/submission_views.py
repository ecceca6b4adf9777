"""Submission pages: the submissions a user may see, one submission, its error report, upload.

(Kept apart from ``views``, the reporting-rate pages, so each can change alone.)
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.messages.storage.base import Message
from django.core.paginator import Paginator
from django.db import connection, transaction
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_GET, require_http_methods

from spmis.access.doors import authenticated, require_permission
from spmis.access.models import User
from spmis.access.policy import Permission
from spmis.audit.actions import AuditAction
from spmis.audit.services import audit_record
from spmis.core.doors import or_404
from spmis.core.errors import ApplicationError, NotFound, ValidationFailed
from spmis.core.periods import date_param, period_param
from spmis.intake import progress, runner, withdrawals
from spmis.intake import selectors as intake
from spmis.intake.draft import draft_mapping
from spmis.intake.models import PENDING_STATUSES, Source, Submission, SubmissionStatus
from spmis.intake.parsers import MAX_BYTES, ParseError
from spmis.intake.services import (
    submission_claim,
    submission_queue,
    submission_retry,
    submission_run,
)

PAGE_SIZE = 50
ISSUES_SHOWN = 100
MAX_MB = MAX_BYTES // (1024 * 1024)
REPORT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}



@require_GET
@login_required
def submission_list(request: HttpRequest) -> HttpResponse:
    user = require_permission(request, Permission.VIEW_COVERAGE)
    form = {k: request.GET.get(k, "").strip() for k in ("source", "period")}
    status = 200
    try:
        period = period_param(form["period"])
    except ApplicationError as exc:  # listed unfiltered by period, under the message
        messages.error(request, exc.message)
        period, status = None, 400
    submissions = intake.submission_list_for_user(user=user, source_code=form["source"],
                                                  period=period)
    page = Paginator(submissions, PAGE_SIZE).get_page(request.GET.get("page"))
    query = urlencode({k: v for k, v in form.items() if v})
    return render(request, "intake/submissions.html", {
        "page": page, "form": form, "query": query,
        "sources": intake.source_list_for_user(user=user, permission=Permission.VIEW_COVERAGE),
    }, status=status)


@require_http_methods(["GET", "POST"])
@login_required
@csrf_protect
def submission_detail(request: HttpRequest, submission_id: int) -> HttpResponse:
    """One submission; POST asks for its withdrawal or decides one (maker-checker)."""
    user = authenticated(request)
    submission = or_404(intake.submission_get_for_user, user=user, submission_id=submission_id)
    status = 200
    if request.method == "POST":
        try:
            _withdrawal_post(request, user, submission)
        except ApplicationError as exc:
            messages.error(request, exc.message)
            status = 400
        else:
            return HttpResponseRedirect(request.path, status=303)
    audit_record(actor=user, action=AuditAction.SUBMISSION_VIEW, object_type="submission",
                 object_id=submission.pk)
    return render(request, "intake/submission.html", _detail_context(user, submission),
                  status=status)


def _withdrawal_post(request: HttpRequest, user: User, submission: Submission) -> None:
    action = request.POST.get("action", "")
    reason = request.POST.get("reason", "")
    if action == "retry":
        submission_retry(actor=user, submission_id=submission.pk)
        transaction.on_commit(runner.runner_kick)
        messages.success(request, _("The submission is queued to be loaded again."))
    elif action == "withdraw":
        withdrawals.submission_withdraw_request(actor=user, submission_id=submission.pk,
                                                reason=reason)
        messages.success(request, _("Withdrawal asked: an approver over the source's area "
                                    "decides."))
    elif action in ("approve", "reject"):
        done = withdrawals.submission_withdraw_decide(
            actor=user, submission_id=submission.pk, approve=action == "approve",
            reason=reason)
        if done.status == SubmissionStatus.WITHDRAWN:
            messages.success(request, _("Submission withdrawn: %(what)s.")
                             % {"what": withdrawals.withdrawal_summary(done)})
        else:
            messages.success(request, _("Decision recorded."))
    else:
        raise ValidationFailed(_("Unknown action."))


def _detail_context(user: User, submission: Submission) -> dict[str, Any]:
    return {
        **_progress_context(user, submission),
        "withdrawal": withdrawals.withdrawal_options(user=user, submission=submission),
        "submission": submission,
        "issues": intake.submission_issues_for_user(user=user, submission=submission,
                                                    limit=ISSUES_SHOWN),
        "issue_count": submission.issues.count(),
        "issues_shown": ISSUES_SHOWN,
        "superseded_by": intake.submission_list_for_user(user=user)
        .filter(supersedes=submission).order_by("id"),
    }


@require_GET
@login_required
def submission_state(request: HttpRequest, submission_id: int) -> HttpResponse:
    """Where the submission's load stands (the page polls it): JSON, or to htmx the progress
    panel, which stops polling once the load is over or stalled. Not audited: it shows no
    person's data (the page that polls it is audited when opened)."""
    user = authenticated(request)
    submission = or_404(intake.submission_get_for_user, user=user, submission_id=submission_id)
    context = _progress_context(user, submission, polled=True)
    if request.headers.get("HX-Request") == "true":
        return render(request, "intake/_progress.html", context)
    return JsonResponse({**context["state"].as_json(),
                         "page": reverse("intake:submission-detail", args=[submission.pk])})


def _progress_context(user: User, submission: Submission, *,
                      polled: bool = False) -> dict[str, Any]:
    """The progress panel: the state, its outcome said as a message (success, warning or
    error: a refusal or a load's end only to the page that polled, the page opened later says
    them in its facts), and whether the user may try a failed or stalled load again."""
    state = progress.submission_state(submission)
    notes = []
    if state.stalled:
        notes.append(Message(messages.ERROR, _(
            "The load stopped without finishing: the process running it ended. Nothing of this "
            "file was loaded. Try it again.")))
    elif state.stage == "failed":
        notes.append(Message(messages.ERROR, _("The load failed: %(why)s")
                             % {"why": submission.message}))
    elif state.stage == "refused" and polled:
        notes.append(Message(messages.ERROR, _("The submission was refused: %(why)s")
                             % {"why": submission.message}))
    elif state.final and polled:
        notes.append(Message(messages.SUCCESS, _("Submission received: %(status)s.")
                             % {"status": submission.get_status_display()}))
    can_retry = (state.stalled or state.stage == "failed") and intake.source_list_for_user(
        user=user, permission=Permission.SUBMIT_DATA).filter(pk=submission.source_id).exists()
    return {"state": state, "notes": notes, "can_retry": can_retry, "polled": polled,
            "show_progress": submission.status in PENDING_STATUSES or bool(submission.steps)}


@require_GET
@login_required
def submission_errors(request: HttpRequest, submission_id: int, fmt: str) -> HttpResponse:
    user = authenticated(request)
    submission = or_404(intake.submission_get_for_user, user=user, submission_id=submission_id)
    if fmt not in REPORT_TYPES:
        raise Http404(_("Use errors.csv or errors.xlsx."))
    data = intake.submission_error_report(user=user, submission=submission, file_format=fmt)
    audit_record(actor=user, action=AuditAction.SUBMISSION_ERROR_REPORT, object_type="submission",
                 object_id=submission.pk, detail={"format": fmt})
    response = HttpResponse(data, content_type=REPORT_TYPES[fmt])
    response["Content-Disposition"] = (
        f'attachment; filename="submission-{submission.pk}-errors.{fmt}"')
    return response


@require_http_methods(["GET", "POST"])
@login_required
@csrf_protect
def submission_upload(request: HttpRequest) -> HttpResponse:
    user = require_permission(request, Permission.SUBMIT_DATA)
    sources = intake.source_list_for_user(user=user, permission=Permission.SUBMIT_DATA)
    form = {"source": "", "period": "", "received_on": ""}
    htmx = request.headers.get("HX-Request") == "true"
    draft = ""
    if request.method == "POST" and request.POST.get("action") == "draft":
        form = {k: request.POST.get(k, "").strip() for k in form}
        try:
            draft = _draft(request, sources.filter(code=form["source"]).first())
        except ApplicationError as exc:
            messages.error(request, exc.message)
    elif request.method == "POST":
        form = {k: request.POST.get(k, "").strip() for k in form}
        try:
            allowed = bool(form["source"]) and sources.filter(code=form["source"]).exists()
            submission = _upload(request, user, form, allowed)
        except ApplicationError as exc:
            messages.error(request, exc.message)
        else:
            url = reverse("intake:submission-detail", args=[submission.pk])
            if htmx:  # htmx follows HX-Redirect with a full page load
                response = HttpResponse(status=200)
                response["HX-Redirect"] = url
                return response
            return HttpResponseRedirect(url, status=303)
    # htmx swaps only 2xx answers: a refused form goes back to it as 200, to a browser as 400.
    status = 400 if request.method == "POST" and not htmx and not draft else 200
    return render(request, "intake/upload.html",
                  {"sources": sources, "form": form, "max_mb": MAX_MB, "draft": draft,
                   "expected": _expected(sources.filter(code=form["source"]).first()
                                         if form["source"] else None),
                   "today": timezone.localdate()}, status=status)


@require_GET
@login_required
def upload_columns(request: HttpRequest) -> HttpResponse:
    """The columns the chosen source's mapping expects (the upload page asks on change)."""
    user = require_permission(request, Permission.SUBMIT_DATA)
    code = request.GET.get("source", "").strip()
    source = intake.source_list_for_user(user=user, permission=Permission.SUBMIT_DATA).filter(
        code=code).first() if code else None
    return render(request, "intake/_expected_columns.html", _expected(source))


def _expected(source: Source | None) -> dict[str, Any]:
    """The expected-columns panel's context: nothing unless one of the user's sources."""
    return {"source": source,
            "columns": intake.expected_columns(source=source) if source else []}


def _draft(request: HttpRequest, source: Source | None) -> str:
    """A mapping proposed from the chosen file (nothing is stored or submitted)."""
    if source is None:
        raise NotFound(_("Choose one of your sources."))
    data = _file(request)
    try:
        return draft_mapping(data, filename=_filename(request),
                             schemes=list(source.schemes.values_list("code", flat=True)),
                             source=source.code)
    except ParseError as exc:
        raise ValidationFailed(str(exc)) from exc


def _file(request: HttpRequest) -> bytes:
    upload = request.FILES.get("file")
    if upload is None:
        raise ValidationFailed(_("Choose a file to upload."))
    too_big = _("The file is larger than the limit of %(mb)d MB.") % {"mb": MAX_MB}
    if upload.size is not None and upload.size > MAX_BYTES:
        raise ValidationFailed(too_big)
    data = upload.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise ValidationFailed(too_big)
    return data


def _filename(request: HttpRequest) -> str:
    upload = request.FILES.get("file")
    return (upload.name if upload is not None else "") or "upload"


def _received(form: dict[str, str]) -> dt.datetime | None:
    """The receipt date typed (the day the file reached the MIS unit) as the start of that
    day in the server's time zone; None (now) when left empty or today."""
    day = date_param(form["received_on"], name="receipt date")
    if day is None or day == timezone.localdate():
        return None
    if day > timezone.localdate():
        raise ValidationFailed(_("The receipt date cannot be in the future: give the day the "
                                 "file reached you."))
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def _upload(request: HttpRequest, user: User, form: dict[str, str],
            source_allowed: bool) -> Submission:
    if not source_allowed:
        raise NotFound(_("Choose one of your sources."))
    period = period_param(form["period"])
    if period is None:
        raise ValidationFailed(_("Type the period as YYYY-MM."))
    received_at = _received(form)
    data = _file(request)
    receipt = submission_queue(actor=user, source_code=form["source"], period=period,
                               filename=_filename(request), data=data, received_at=received_at)
    submission = receipt.submission
    if receipt.repeat:
        messages.info(request, _("Already received as submission %(id)d; nothing changed.")
                      % {"id": submission.pk})
    elif not connection.in_atomic_block:  # loaded in the background; its page shows progress
        transaction.on_commit(runner.runner_kick)
        messages.success(request, _("File received: it is being checked and loaded."))
    else:
        # Inside an outer transaction (a test's) no runner could see the submission before it
        # commits: the same claim and load run here, in the request.
        claimed = submission_claim(submission_id=submission.pk)
        submission = submission_run(submission=claimed) if claimed else submission
        _outcome(request, submission)
    return submission


def _outcome(request: HttpRequest, submission: Submission) -> None:
    if submission.status == SubmissionStatus.REFUSED:
        messages.error(request, _("The submission was refused: %(why)s")
                       % {"why": submission.message})
    elif submission.status == SubmissionStatus.FAILED:
        messages.error(request, _("The load failed: %(why)s") % {"why": submission.message})
    else:
        messages.success(request, _("Submission received: %(status)s.")
                         % {"status": submission.get_status_display()})
