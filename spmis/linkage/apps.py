from django.apps import AppConfig


class LinkageConfig(AppConfig):
    name = "spmis.linkage"
    label = "linkage"

    def ready(self) -> None:
        from spmis.linkage.services import persons_withdrawing_receiver
        from spmis.registry.signals import persons_withdrawing

        persons_withdrawing.connect(persons_withdrawing_receiver,
                                    dispatch_uid="linkage.persons_withdrawing")
