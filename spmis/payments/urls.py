"""Payment doors: API routes (``api``) and who may open each; payments have no pages of their
own (a person's payments are a panel of the person page)."""

from django.urls import URLPattern, path

from spmis.access.policy import Permission as P
from spmis.core.doors import MenuEntry, RoutePolicy
from spmis.payments import apis

app_name = "payments"
urlpatterns: list[URLPattern] = []
api_urlpatterns = [
    path("payments/", apis.PaymentList.as_view(), name="payment-list"),
    path("payments/<int:pk>/", apis.PaymentDetail.as_view(), name="payment-detail"),
]
route_policy = {
    "api:payment-list": RoutePolicy("list", P.VIEW_PERSONS),
    "api:payment-detail": RoutePolicy("object", P.VIEW_PERSONS),
}
menu: list[MenuEntry] = []
