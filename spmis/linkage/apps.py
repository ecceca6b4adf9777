from django.apps import AppConfig


class LinkageConfig(AppConfig):
    name = "spmis.linkage"
    label = "linkage"

    def ready(self) -> None:
        from spmis.linkage.services import persons_withdrawing_receiver
        from spmis.linkage.views import person_identity
        from spmis.registry.panels import person_panel_register
        from spmis.registry.signals import persons_withdrawing

        person_panel_register(name="linkage.identity", order=30, panel=person_identity)
        persons_withdrawing.connect(persons_withdrawing_receiver,
                                    dispatch_uid="linkage.persons_withdrawing")
