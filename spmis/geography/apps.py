from django.apps import AppConfig


class GeographyConfig(AppConfig):
    name = "spmis.geography"
    label = "geography"
