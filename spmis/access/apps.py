from django.apps import AppConfig


class AccessConfig(AppConfig):
    name = "spmis.access"
    label = "access"
