"""Linkage doors: clerical review and verification-flag pages (namespace ``linkage``), who
may open each, and its menu entries."""

from django.urls import path
from django.utils.translation import gettext_lazy as _

from spmis.access.policy import Permission as P
from spmis.core.doors import MenuEntry, RoutePolicy
from spmis.linkage import crosscheck_views, views

app_name = "linkage"
urlpatterns = [
    path("linkage/review/", views.review_list, name="linkage_review"),
    path("linkage/review/<int:link_id>/", views.review_pair, name="linkage_review_pair"),
    path("linkage/records/<int:person_a>/<int:person_b>/", views.review_records,
         name="linkage_records"),
    path("crosscheck/flags/", crosscheck_views.flag_list, name="crosscheck-flags"),
    path("crosscheck/flags/<int:flag_id>/", crosscheck_views.flag_detail,
         name="crosscheck-flag"),
]
route_policy = {
    # Every role that decides pairs (registrars, targeting officers), inside its areas.
    "linkage:linkage_review": RoutePolicy("scoped", P.REVIEW_LINKAGE),
    "linkage:linkage_review_pair": RoutePolicy("object", P.REVIEW_LINKAGE),
    "linkage:linkage_records": RoutePolicy("object", P.REVIEW_LINKAGE),
    "linkage:crosscheck-flags": RoutePolicy("scoped", P.REGISTER_PERSONS),
    "linkage:crosscheck-flag": RoutePolicy("object", P.REGISTER_PERSONS),
}
menu = [
    MenuEntry(_("Review pairs"), "linkage:linkage_review", P.REVIEW_LINKAGE, order=80),
    MenuEntry(_("Verification flags"), "linkage:crosscheck-flags", P.REGISTER_PERSONS,
              order=90),
]
