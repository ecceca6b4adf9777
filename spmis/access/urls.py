"""Access doors: login, second factor and logout, the audit log and the access review
(namespace ``access``), the audit API (``api``), who may open each, and its menu entries."""

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
    path("access/review/", views.access_review, name="access-review"),
]
api_urlpatterns = [
    path("audit/", apis.AuditEventList.as_view(), name="audit-list"),
]
route_policy = {
    "access:login": RoutePolicy("public"),
    "access:mfa-verify": RoutePolicy("public"),
    "access:mfa-setup": RoutePolicy("public"),
    "access:logout": RoutePolicy("public"),
    "access:audit-log": RoutePolicy("page", P.VIEW_AUDIT),
    "access:access-review": RoutePolicy("page", P.REVIEW_ACCESS),
    "api:audit-list": RoutePolicy("page", P.VIEW_AUDIT),
}
# Doors with a rate limit beyond the API's (spmis.access.ratelimit): sign-in by password.
rate_limits = {"access:login": "login"}
menu = [
    MenuEntry(_("Audit"), "access:audit-log", P.VIEW_AUDIT, order=100),
    MenuEntry(_("Access"), "access:access-review", P.REVIEW_ACCESS, order=110),
]
