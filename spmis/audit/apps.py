from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "spmis.audit"
    label = "audit"
