from django.apps import AppConfig


class SchemesConfig(AppConfig):
    name = "spmis.schemes"
    label = "schemes"
