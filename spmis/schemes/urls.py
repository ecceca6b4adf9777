"""Scheme doors: pages (namespace ``schemes``), API routes (``api``), who may open each, and
its menu entry."""

from django.urls import path
from django.utils.translation import gettext_lazy as _

from spmis.access.policy import Permission as P
from spmis.core.doors import MenuEntry, RoutePolicy
from spmis.schemes import apis, views

app_name = "schemes"
urlpatterns = [
    path("schemes/", views.scheme_list, name="scheme-list"),
    path("schemes/<str:code>/", views.scheme_detail, name="scheme-detail"),
]
api_urlpatterns = [
    path("schemes/", apis.SchemeList.as_view(), name="scheme-list"),
    path("schemes/<str:code>/", apis.SchemeDetail.as_view(), name="scheme-detail"),
    path("enrolments/", apis.EnrolmentList.as_view(), name="enrolment-list"),
]
route_policy = {
    "schemes:scheme-list": RoutePolicy("any"),
    "schemes:scheme-detail": RoutePolicy("any"),
    "api:scheme-list": RoutePolicy("any"),
    "api:scheme-detail": RoutePolicy("any"),
    "api:enrolment-list": RoutePolicy("list", P.VIEW_PERSONS),
}
menu = [MenuEntry(_("Schemes"), "schemes:scheme-list", order=30)]
