from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "spmis.payments"
    label = "payments"

    def ready(self) -> None:
        from spmis.payments.panels import person_payments
        from spmis.registry.panels import person_panel_register

        person_panel_register(name="payments.payments", order=20, panel=person_payments)
