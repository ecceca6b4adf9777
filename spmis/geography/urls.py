"""Geography doors: API routes only (namespace ``api``) and who may open them."""

from django.urls import path

from spmis.core.doors import RoutePolicy
from spmis.geography import apis

api_urlpatterns = [
    path("areas/", apis.AreaList.as_view(), name="area-list"),
    path("areas/<str:code>/", apis.AreaDetail.as_view(), name="area-detail"),
]
route_policy = {
    "api:area-list": RoutePolicy("any"),
    "api:area-detail": RoutePolicy("any"),
}
