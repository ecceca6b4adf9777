from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

from spmis.web import apis

api_v1 = [
    path("areas/", apis.AreaList.as_view(), name="area-list"),
    path("areas/<str:code>/", apis.AreaDetail.as_view(), name="area-detail"),
    path("schemes/", apis.SchemeList.as_view(), name="scheme-list"),
    path("schemes/<str:code>/", apis.SchemeDetail.as_view(), name="scheme-detail"),
    path("persons/", apis.PersonList.as_view(), name="person-list"),
    path("persons/<int:pk>/", apis.PersonDetail.as_view(), name="person-detail"),
    path("households/<int:pk>/", apis.HouseholdDetail.as_view(), name="household-detail"),
    path("enrolments/", apis.EnrolmentList.as_view(), name="enrolment-list"),
    path("audit/", apis.AuditEventList.as_view(), name="audit-list"),
    path("submissions/", apis.SubmissionList.as_view(), name="submission-list"),
    path("submissions/<int:pk>/", apis.SubmissionDetail.as_view(), name="submission-detail"),
]

urlpatterns = [
    path("api/schema", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/v1/", include((api_v1, "api"))),
    path("", include("spmis.web.urls")),
]
