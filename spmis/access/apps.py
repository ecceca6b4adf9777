from django.apps import AppConfig


class AccessConfig(AppConfig):
    name = "spmis.access"
    label = "access"

    def ready(self) -> None:
        from spmis.access import signals  # noqa: F401  (connects the receivers)
