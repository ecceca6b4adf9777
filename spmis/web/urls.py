"""Web's own door: the landing page per role (every other page is in its domain app's urls)."""

from django.urls import path
from django.utils.translation import gettext_lazy as _

from spmis.core.doors import MenuEntry, RoutePolicy
from spmis.web import views

app_name = "web"
urlpatterns = [
    path("", views.home, name="home"),
]
route_policy = {
    "web:home": RoutePolicy("any"),
}
menu = [MenuEntry(_("Home"), "web:home", order=10)]
