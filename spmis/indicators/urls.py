"""Indicator doors: the dashboard and the survey errors page (namespace ``indicators``), who
may open each, and its menu entry."""

from django.urls import path
from django.utils.translation import gettext_lazy as _

from spmis.access.policy import Permission as P
from spmis.core.doors import MenuEntry, RoutePolicy
from spmis.indicators import survey_views, views

app_name = "indicators"
urlpatterns = [
    path("indicators/", views.indicator_dashboard, name="indicators"),
    path("indicators/survey/", survey_views.survey_errors, name="survey-errors"),
]
route_policy = {
    "indicators:indicators": RoutePolicy("scoped", P.VIEW_COVERAGE),
    # National aggregates of a sample, not scoped by area: the coverage permission, else 403.
    "indicators:survey-errors": RoutePolicy("page", P.VIEW_COVERAGE),
}
menu = [MenuEntry(_("Indicators"), "indicators:indicators", P.VIEW_COVERAGE, order=40)]
