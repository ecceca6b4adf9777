from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "spmis.web"
    label = "web"
