from django.apps import AppConfig


class RegistryConfig(AppConfig):
    name = "spmis.registry"
    label = "registry"
