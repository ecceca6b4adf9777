"""Access pages: login, then the second factor (enrolment of an authenticator app, or a code
from it), logout; the audit log (reading it is scoped by access) with its CSV export, and the
access review with its actions (disable, sign out, revoke a role), each confirmed first."""

from __future__ import annotations

import csv
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseRedirect,
    StreamingHttpResponse,
)
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render, resolve_url
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_http_methods

from spmis.access import selectors as access_selectors
from spmis.access import services as access_services
from spmis.access.auth import SESSION_MFA_DONE, is_locked, mfa_required, session_rotate
from spmis.access.doors import authenticated, require_permission
from spmis.access.mfa import (
    mfa_device_for_enrolment,
    mfa_enrol_confirm,
    mfa_has_device,
    mfa_provisioning_uri,
    mfa_verify,
)
from spmis.access.models import RoleAssignment, User
from spmis.access.policy import Permission
from spmis.audit.actions import AuditAction
from spmis.audit.services import audit_record
from spmis.core import clock
from spmis.core.errors import Conflict, ValidationFailed
from spmis.core.errors import PermissionDenied as CorePermissionDenied

AUDIT_PAGE_SIZE = 50


class LoginView(auth_views.LoginView):
    """The password step. Staff then go on to the second factor, keeping ``next``."""

    template_name = "access/login.html"
    redirect_authenticated_user = True

    def get_success_url(self) -> str:
        url = super().get_success_url()
        user = authenticated(self.request)
        if self.request.session.get(SESSION_MFA_DONE) or not mfa_required(user):
            return url
        step = "access:mfa-verify" if mfa_has_device(user=user) else "access:mfa-setup"
        return f"{reverse(step)}?{urlencode({'next': url})}"

def _next_url(request: HttpRequest) -> str:
    url = request.POST.get("next") or request.GET.get("next") or ""
    if url and url_has_allowed_host_and_scheme(url, allowed_hosts={request.get_host()},
                                               require_https=request.is_secure()):
        return url
    return resolve_url(settings.LOGIN_REDIRECT_URL)


def _passed(request: HttpRequest) -> HttpResponse:
    request.session[SESSION_MFA_DONE] = True
    session_rotate(request)
    return HttpResponseRedirect(_next_url(request))


def _locked_out(request: HttpRequest) -> HttpResponse:
    """Too many wrong codes locked the account: end this half-logged-in session."""
    logout(request)
    return redirect("access:login")


@sensitive_post_parameters("code")
@never_cache
@require_http_methods(["GET", "POST"])
@login_required
def mfa_setup(request: HttpRequest) -> HttpResponse:
    user = authenticated(request)
    if request.session.get(SESSION_MFA_DONE) or not mfa_required(user):
        return HttpResponseRedirect(_next_url(request))
    if mfa_has_device(user=user):
        return redirect(f"{reverse('access:mfa-verify')}?{urlencode({'next': _next_url(request)})}")
    if is_locked(user):
        return _locked_out(request)
    device = mfa_device_for_enrolment(user=user)
    error = ""
    if request.method == "POST":
        if mfa_enrol_confirm(user=user, code=request.POST.get("code", "")):
            return _passed(request)
        user.refresh_from_db()
        if is_locked(user):
            return _locked_out(request)
        error = _("That code is not valid. Check the time on your phone and try the new code.")
    return render(request, "access/mfa_setup.html", {
        "secret": device.secret,
        "uri": mfa_provisioning_uri(device=device),
        "next": _next_url(request),
        "error": error,
    }, status=400 if error else 200)


@sensitive_post_parameters("code")
@never_cache
@require_http_methods(["GET", "POST"])
@login_required
def mfa_verify_view(request: HttpRequest) -> HttpResponse:
    user = authenticated(request)
    if request.session.get(SESSION_MFA_DONE) or not mfa_required(user):
        return HttpResponseRedirect(_next_url(request))
    if not mfa_has_device(user=user):
        return redirect(f"{reverse('access:mfa-setup')}?{urlencode({'next': _next_url(request)})}")
    if is_locked(user):
        return _locked_out(request)
    error = ""
    if request.method == "POST":
        if mfa_verify(user=user, code=request.POST.get("code", "")):
            return _passed(request)
        user.refresh_from_db()
        if is_locked(user):
            return _locked_out(request)
        error = _("That code is not valid, or was already used. Wait for the next code.")
    return render(request, "access/mfa_verify.html", {"next": _next_url(request), "error": error},
                  status=400 if error else 200)


@require_GET
@login_required
def audit_log(request: HttpRequest) -> HttpResponse:
    """The audit search: an action picker from the catalogue, user, dates (a date that is not
    one, or From after To, is said on the form and nothing is searched), object, area; objects
    named readably for a viewer who may see them; a pager and a CSV export of the same search."""
    user = require_permission(request, Permission.VIEW_AUDIT)
    filters, errors = access_selectors.audit_filters_parse(request.GET)
    form = {k: request.GET.get(k, "").strip()[:200] for k in access_selectors.AUDIT_FILTER_NAMES}
    page, rows = None, []
    if not errors:
        events = access_selectors.audit_search_for_user(
            user=user, action=filters.action, actor=filters.actor,
            object_type=filters.object_type, object_id=filters.object_id,
            area_code=filters.area, since=filters.since, until=filters.until)
        page = Paginator(events, AUDIT_PAGE_SIZE).get_page(request.GET.get("page"))
        labels = access_selectors.audit_objects_describe(user=user, events=page.object_list)
        rows = [{"e": e, "object": labels.get(e.seq, ""),
                 "meaning": access_selectors.audit_action_label(e.action)}
                for e in page.object_list]
    groups = access_selectors.audit_action_groups()
    known = {value for g in groups for value, _label in g.actions}
    query = urlencode(filters.query())  # "&" or "#" in a filter stays one
    return render(request, "access/audit.html", {
        "page": page, "rows": rows, "form": form, "errors": errors, "query": query,
        "groups": groups, "other_action": form["action"] not in known and form["action"],
        "usernames": access_selectors.audit_actor_names(user=user),
        "object_types": AUDIT_OBJECT_TYPES,
        "export_url": f"{reverse('access:audit-export')}?{query}" if query
        else reverse("access:audit-export"),
    }, status=400 if errors else 200)


AUDIT_OBJECT_TYPES = ("person", "household", "user", "submission", "source", "enrolment",
                      "page", "api", "audit")


def audit_csv_response(*, user: User, params: Any) -> StreamingHttpResponse:
    """The CSV export of an audit search (the page's and the API's door): streamed, with a
    header row; recorded in the log before the first row leaves."""
    filters, errors = access_selectors.audit_filters_parse(params)
    if errors:
        raise ValidationFailed(" ".join(errors.values()))
    export = access_selectors.audit_export_for_user(user=user, filters=filters)
    buffer = _Echo()
    writer = csv.writer(buffer)
    response = StreamingHttpResponse((writer.writerow(line) for line in export.lines()),
                                     content_type="text/csv; charset=utf-8")
    stamp = clock.now().strftime("%Y%m%d-%H%M%S")
    response["Content-Disposition"] = f'attachment; filename="audit-{stamp}.csv"'
    response["X-Row-Count"] = str(export.rows)
    return response


class _Echo:
    """A file-like object that hands back what the CSV writer writes (for streaming)."""

    def write(self, value: str) -> str:
        return value


@require_GET
@login_required
def audit_export(request: HttpRequest) -> HttpResponseBase:
    user = require_permission(request, Permission.VIEW_AUDIT)
    try:
        return audit_csv_response(user=user, params=request.GET)
    except ValidationFailed as exc:
        messages.error(request, exc.message)
        return redirect(f"{reverse('access:audit-log')}?{request.GET.urlencode()}")


@require_GET
@login_required
def access_review(request: HttpRequest) -> HttpResponse:
    user = require_permission(request, Permission.REVIEW_ACCESS)
    audit_record(actor=user, action=AuditAction.ACCESS_REVIEW, object_type="page")
    return render(request, "access/access_review.html", {
        "review": access_selectors.access_review(dormant_days=90),
        "users": access_selectors.access_review_users(),
        "generated_at": clock.now(),
        "manages": access_selectors.user_has_permission(user=user,
                                                        permission=Permission.MANAGE_ACCESS),
    })


# --- The access review's actions: a page saying what will change, then a confirmed POST ------


def _confirm(request: HttpRequest, *, actor: User, target: User, area_paths: list[str],
             context: dict[str, Any], apply: Callable[[str], str]) -> HttpResponse:
    """Show what will change; apply only a POST carrying ``confirm=yes`` (anything else
    changes nothing and shows the page again). ``apply(reason)`` returns the success message.
    """
    refusal = access_selectors.access_change_refusal(actor=actor, target=target,
                                                     area_paths=area_paths)
    # A NUL would reach the audit entry's JSON, which PostgreSQL cannot store.
    reason = request.POST.get("reason", "").replace("\x00", "").strip()[:500]
    status = 200
    if request.method == "POST":
        if request.POST.get("confirm") != "yes":
            messages.warning(request, _("Nothing was changed: read what will change, then "
                                        "confirm."))
            status = 400
        else:
            try:
                done = apply(reason)
            except CorePermissionDenied as exc:
                messages.error(request, exc.message)
                status = 403
            except (ValidationFailed, Conflict) as exc:
                messages.error(request, exc.message)
                status = 400
            else:
                messages.success(request, done)
                return HttpResponseRedirect(reverse("access:access-review"), status=303)
    return render(request, "access/access_confirm.html", {
        **context, "target": target, "reason": reason,
        "refusal": _(refusal.message) if refusal else "",
    }, status=status)


def _target(user_id: int) -> User:
    found = User.objects.filter(pk=user_id).first()
    if found is None:
        raise Http404("No such user.")
    return found


def _ended(sessions: int, tokens: int) -> list[str]:
    """What signing a user out ends: their web sessions and API tokens."""
    return [ngettext("%(n)d open web session ends now.", "%(n)d open web sessions end now.",
                     sessions) % {"n": sessions},
            ngettext("%(n)d API token is revoked.", "%(n)d API tokens are revoked.", tokens)
            % {"n": tokens}]


def _role_paths(user: User) -> list[str]:
    return [a.area.path for a in user.role_assignments.select_related("area")]


@require_http_methods(["GET", "POST"])
@login_required
def user_disable_confirm(request: HttpRequest, user_id: int) -> HttpResponse:
    actor = require_permission(request, Permission.MANAGE_ACCESS)
    target = _target(user_id)
    sessions, tokens = access_selectors.user_sessions_and_tokens(user=target)
    changes = [
        _("%(name)s can no longer sign in (the account is kept, marked disabled; there is no "
          "command to enable it again).") % {"name": target.username},
        *_ended(sessions, tokens),
        _("Their roles are kept, so the access review still shows what they held."),
    ]
    if not target.is_active:
        changes = [_("%(name)s is already disabled: nothing to change.")
                   % {"name": target.username}]

    def apply(reason: str) -> str:
        access_services.access_user_disable(actor=actor, user_id=target.pk, reason=reason)
        return _("%(name)s is disabled.") % {"name": target.username}

    return _confirm(request, actor=actor, target=target, area_paths=_role_paths(target),
                    apply=apply, context={
                        "title": _("Disable %(name)s") % {"name": target.username},
                        "changes": changes, "needs_reason": True,
                        "button": _("Disable %(name)s") % {"name": target.username},
                        "possible": target.is_active, "testid": "disable"})


@require_http_methods(["GET", "POST"])
@login_required
def user_sign_out_confirm(request: HttpRequest, user_id: int) -> HttpResponse:
    actor = require_permission(request, Permission.MANAGE_ACCESS)
    target = _target(user_id)
    sessions, tokens = access_selectors.user_sessions_and_tokens(user=target)
    changes = [
        *_ended(sessions, tokens),
        _("The account stays active: %(name)s may sign in again.") % {"name": target.username},
    ]

    def apply(reason: str) -> str:
        done = access_services.access_user_sign_out(actor=actor, user_id=target.pk,
                                                    reason=reason)
        return _("%(name)s is signed out: %(s)d sessions ended, %(t)d API tokens revoked.") % {
            "name": target.username, "s": done.sessions_ended, "t": done.tokens_revoked}

    return _confirm(request, actor=actor, target=target, area_paths=_role_paths(target),
                    apply=apply, context={
                        "title": _("Sign %(name)s out everywhere") % {"name": target.username},
                        "changes": changes, "needs_reason": False,
                        "button": _("End sessions and revoke tokens"), "possible": True,
                        "testid": "sign-out"})


@require_http_methods(["GET", "POST"])
@login_required
def role_revoke_confirm(request: HttpRequest, assignment_id: int) -> HttpResponse:
    actor = require_permission(request, Permission.MANAGE_ACCESS)
    assignment = (RoleAssignment.objects.select_related("user", "area")
                  .filter(pk=assignment_id).first())
    if assignment is None:
        raise Http404("No such role assignment.")
    target = assignment.user
    what = {"name": target.username, "role": assignment.role,
            "area": f"{assignment.area.name} ({assignment.area.code})"}
    changes = [
        _("%(name)s no longer holds %(role)s over %(area)s and the areas below it.") % what,
        _("What the role opened there closes at their next request; their other roles, "
          "sessions and tokens are unchanged.")]

    def apply(reason: str) -> str:
        access_services.access_role_revoke(actor=actor, assignment_id=assignment.pk,
                                           reason=reason)
        return _("%(role)s over %(area)s taken back from %(name)s.") % what

    return _confirm(request, actor=actor, target=target, area_paths=[assignment.area.path],
                    apply=apply, context={
                        "title": _("Revoke %(role)s from %(name)s") % what,
                        "changes": changes, "needs_reason": False,
                        "button": _("Revoke the role"), "possible": True,
                        "testid": "revoke"})
