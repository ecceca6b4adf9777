from django.contrib.auth import views as auth_views
from django.urls import path

from spmis.web import (
    aggregate_views,
    crosscheck_views,
    indicator_views,
    intake_views,
    linkage_views,
    submission_views,
    survey_views,
    views,
)
from spmis.web import auth_views as login_views

app_name = "web"
urlpatterns = [
    path("", views.home, name="home"),
    path("login/", login_views.LoginView.as_view(), name="login"),
    path("login/code/", login_views.mfa_verify_view, name="mfa-verify"),
    path("login/authenticator/", login_views.mfa_setup, name="mfa-setup"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("persons/", views.person_search, name="person-search"),
    path("persons/<int:person_id>/", views.person_detail, name="person-detail"),
    path("households/<int:household_id>/", views.household_detail, name="household-detail"),
    path("indicators/", indicator_views.indicator_dashboard, name="indicators"),
    path("indicators/survey/", survey_views.survey_errors, name="survey-errors"),
    path("schemes/", views.scheme_list, name="scheme-list"),
    path("schemes/<str:code>/", views.scheme_detail, name="scheme-detail"),
    path("audit/", views.audit_log, name="audit-log"),
    path("access/review/", views.access_review, name="access-review"),
    path("intake/rates/", intake_views.reporting_rates, name="reporting-rates"),
    path("intake/submissions/", submission_views.submission_list, name="submission-list"),
    path("intake/submissions/<int:submission_id>/", submission_views.submission_detail,
         name="submission-detail"),
    path("intake/submissions/<int:submission_id>/errors.<str:fmt>",
         submission_views.submission_errors, name="submission-errors"),
    path("intake/upload/", submission_views.submission_upload, name="submission-upload"),
    path("intake/aggregates/", aggregate_views.aggregate_entry, name="aggregate-entry"),
    path("linkage/review/", linkage_views.review_list, name="linkage_review"),
    path("linkage/review/<int:link_id>/", linkage_views.review_pair, name="linkage_review_pair"),
    path("crosscheck/flags/", crosscheck_views.flag_list, name="crosscheck-flags"),
    path("crosscheck/flags/<int:flag_id>/", crosscheck_views.flag_detail, name="crosscheck-flag"),
]
