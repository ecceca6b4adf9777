from django.apps import AppConfig


class IndicatorsConfig(AppConfig):
    name = "spmis.indicators"
    label = "indicators"
