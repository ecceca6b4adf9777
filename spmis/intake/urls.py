"""Intake doors: pages (namespace ``intake``), API routes (``api``), who may open each, and
its menu entries."""

from django.urls import path
from django.utils.translation import gettext_lazy as _

from spmis.access.policy import Permission as P
from spmis.core.doors import MenuEntry, RoutePolicy
from spmis.intake import (
    aggregate_views,
    apis,
    source_apis,
    source_views,
    submission_views,
    views,
)

app_name = "intake"
urlpatterns = [
    path("intake/rates/", views.reporting_rates, name="reporting-rates"),
    path("intake/submissions/", submission_views.submission_list, name="submission-list"),
    path("intake/submissions/<int:submission_id>/", submission_views.submission_detail,
         name="submission-detail"),
    path("intake/submissions/<int:submission_id>/state/", submission_views.submission_state,
         name="submission-state"),
    path("intake/submissions/<int:submission_id>/errors.<str:fmt>",
         submission_views.submission_errors, name="submission-errors"),
    path("intake/upload/", submission_views.submission_upload, name="submission-upload"),
    path("intake/upload/columns/", submission_views.upload_columns, name="upload-columns"),
    path("intake/aggregates/", aggregate_views.aggregate_entry, name="aggregate-entry"),
    path("intake/sources/", source_views.source_list, name="source-list"),
    path("intake/sources/new/", source_views.source_new, name="source-new"),
    path("intake/sources/<str:code>/", source_views.source_edit, name="source-edit"),
]
api_urlpatterns = [
    path("submissions/", apis.SubmissionList.as_view(), name="submission-list"),
    path("submissions/<int:pk>/", apis.SubmissionDetail.as_view(), name="submission-detail"),
    path("submissions/<int:pk>/state/", apis.SubmissionState.as_view(), name="submission-state"),
    path("sources/", source_apis.SourceList.as_view(), name="source-list"),
    path("sources/<str:code>/", source_apis.SourceDetail.as_view(), name="source-detail"),
]
route_policy = {
    "intake:reporting-rates": RoutePolicy("page", P.VIEW_COVERAGE),
    "intake:submission-list": RoutePolicy("page", P.VIEW_COVERAGE),
    "intake:submission-detail": RoutePolicy("object", P.VIEW_COVERAGE),
    "intake:submission-errors": RoutePolicy("object", P.VIEW_COVERAGE),
    "intake:submission-state": RoutePolicy("object", P.VIEW_COVERAGE),
    "intake:submission-upload": RoutePolicy("page", P.SUBMIT_DATA),
    "intake:upload-columns": RoutePolicy("scoped", P.SUBMIT_DATA),
    "intake:aggregate-entry": RoutePolicy("page", P.SUBMIT_DATA),
    "api:submission-list": RoutePolicy("list", P.VIEW_COVERAGE),
    "api:submission-detail": RoutePolicy("object", P.VIEW_COVERAGE),
    "api:submission-state": RoutePolicy("object", P.VIEW_COVERAGE),
    "intake:source-list": RoutePolicy("scoped", P.MANAGE_SOURCES),
    "intake:source-new": RoutePolicy("page", P.MANAGE_SOURCES),
    "intake:source-edit": RoutePolicy("object", P.MANAGE_SOURCES),
    "api:source-list": RoutePolicy("list", P.MANAGE_SOURCES),
    "api:source-detail": RoutePolicy("object", P.MANAGE_SOURCES),
}
menu = [
    MenuEntry(_("Reporting"), "intake:reporting-rates", P.VIEW_COVERAGE, order=50),
    MenuEntry(_("Submissions"), "intake:submission-list", P.VIEW_COVERAGE, order=60),
    MenuEntry(_("Upload"), "intake:submission-upload", P.SUBMIT_DATA, order=70),
    MenuEntry(_("Aggregate returns"), "intake:aggregate-entry", P.SUBMIT_DATA, order=75),
    MenuEntry(_("Sources"), "intake:source-list", P.MANAGE_SOURCES, order=80),
]
