from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "spmis.core"
    label = "core"
