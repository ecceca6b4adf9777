from django.apps import AppConfig


class IntakeConfig(AppConfig):
    name = "spmis.intake"
    label = "intake"
