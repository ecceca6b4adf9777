from django.urls import include, path

urlpatterns = [
    path("", include("spmis.web.urls")),
]
