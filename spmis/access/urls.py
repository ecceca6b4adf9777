"""Access doors: login, second factor and logout, the audit log and its CSV export, the access
review and its confirmed actions (namespace ``access``), the audit API and its export (``api``),
who may open each, and its menu entries."""

from django.contrib.auth import views as auth_views
from django.urls import path
from django.utils.translation import gettext_lazy as _

from spmis.access import apis, views
from spmis.access.policy import Permission as P
from spmis.core.doors import MenuEntry, RoutePolicy

app_name = "access"
urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("login/code/", views.mfa_verify_view, name="mfa-verify"),
    path("login/authenticator/", views.mfa_setup, name="mfa-setup"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("audit/", views.audit_log, name="audit-log"),
    path("audit/export.csv", views.audit_export, name="audit-export"),
    path("access/review/", views.access_review, name="access-review"),
    path("access/review/users/<int:user_id>/disable/", views.user_disable_confirm,
         name="user-disable"),
    path("access/review/users/<int:user_id>/sign-out/", views.user_sign_out_confirm,
         name="user-sign-out"),
    path("access/review/roles/<int:assignment_id>/revoke/", views.role_revoke_confirm,
         name="role-revoke"),
]
api_urlpatterns = [
    path("audit/", apis.AuditEventList.as_view(), name="audit-list"),
    path("audit/export/", apis.audit_export, name="audit-export"),
]
route_policy = {
    "access:login": RoutePolicy("public"),
    "access:mfa-verify": RoutePolicy("public"),
    "access:mfa-setup": RoutePolicy("public"),
    "access:logout": RoutePolicy("public"),
    "access:audit-log": RoutePolicy("page", P.VIEW_AUDIT),
    "access:audit-export": RoutePolicy("page", P.VIEW_AUDIT),
    "access:access-review": RoutePolicy("page", P.REVIEW_ACCESS),
    "access:user-disable": RoutePolicy("page", P.MANAGE_ACCESS),
    "access:user-sign-out": RoutePolicy("page", P.MANAGE_ACCESS),
    "access:role-revoke": RoutePolicy("page", P.MANAGE_ACCESS),
    "api:audit-list": RoutePolicy("page", P.VIEW_AUDIT),
    "api:audit-export": RoutePolicy("page", P.VIEW_AUDIT),
}
# Doors with a rate limit beyond the API's (spmis.access.ratelimit): sign-in by password.
rate_limits = {"access:login": "login"}
menu = [
    MenuEntry(_("Audit"), "access:audit-log", P.VIEW_AUDIT, order=100),
    MenuEntry(_("Access"), "access:access-review", P.REVIEW_ACCESS, order=110),
]
