"""Every app's doors: its pages under its own namespace, its API routes under ``api/v1/`` in
the ``api`` namespace. Each app's ``urls.py`` also says who may open each route."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

from spmis.access import urls as access_urls
from spmis.access.language import choose_language
from spmis.core.doors import RoutePolicy
from spmis.geography import urls as geography_urls
from spmis.intake import urls as intake_urls
from spmis.payments import urls as payments_urls
from spmis.registry import urls as registry_urls
from spmis.schemes import urls as schemes_urls

api_v1 = [
    *geography_urls.api_urlpatterns,
    *schemes_urls.api_urlpatterns,
    *payments_urls.api_urlpatterns,
    *registry_urls.api_urlpatterns,
    *access_urls.api_urlpatterns,
    *intake_urls.api_urlpatterns,
]

urlpatterns = [
    path("api/schema", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/v1/", include((api_v1, "api"))),
    path("language/", choose_language, name="language"),
    path("", include("spmis.web.urls")),
    path("", include("spmis.access.urls")),
    path("", include("spmis.registry.urls")),
    path("", include("spmis.schemes.urls")),
    path("", include("spmis.intake.urls")),
    path("", include("spmis.linkage.urls")),
    path("", include("spmis.indicators.urls")),
]
route_policy = {
    "api-schema": RoutePolicy("public"),
    "language": RoutePolicy("public"),  # the language switcher: anyone, signed in or not
}
