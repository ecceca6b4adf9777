from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "spmis.payments"
    label = "payments"
