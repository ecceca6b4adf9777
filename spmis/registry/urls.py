"""Registry doors: pages (namespace ``registry``), API routes (``api``), who may open each,
and its menu entry."""

from django.urls import path
from django.utils.translation import gettext_lazy as _

from spmis.access.policy import Permission as P
from spmis.core.doors import MenuEntry, RoutePolicy
from spmis.registry import apis, views

app_name = "registry"
urlpatterns = [
    path("persons/", views.person_search, name="person-search"),
    path("persons/<int:person_id>/", views.person_detail, name="person-detail"),
    path("households/<int:household_id>/", views.household_detail, name="household-detail"),
]
api_urlpatterns = [
    path("persons/", apis.PersonList.as_view(), name="person-list"),
    path("persons/<int:pk>/", apis.PersonDetail.as_view(), name="person-detail"),
    path("households/<int:pk>/", apis.HouseholdDetail.as_view(), name="household-detail"),
]
route_policy = {
    "registry:person-search": RoutePolicy("list", P.VIEW_PERSONS),
    "registry:person-detail": RoutePolicy("object", P.VIEW_PERSONS),
    "registry:household-detail": RoutePolicy("object", P.VIEW_PERSONS),
    "api:person-list": RoutePolicy("list", P.VIEW_PERSONS),
    "api:person-detail": RoutePolicy("object", P.VIEW_PERSONS),
    "api:household-detail": RoutePolicy("object", P.VIEW_PERSONS),
}
# Person search, page and API, has a rate limit of its own (spmis.access.ratelimit).
rate_limits = {"registry:person-search": "search", "api:person-list": "search"}
menu = [MenuEntry(_("Registry"), "registry:person-search", P.VIEW_PERSONS, order=20)]
