from django.apps import AppConfig


class LinkageConfig(AppConfig):
    name = "spmis.linkage"
    label = "linkage"
