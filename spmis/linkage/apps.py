from django.apps import AppConfig


class LinkageConfig(AppConfig):
    name = "spmis.linkage"
    label = "linkage"

    def ready(self) -> None:
        from spmis.linkage import panels
        from spmis.linkage.services import persons_withdrawing_receiver
        from spmis.registry.panels import (
            person_deaths_register,
            person_identity_register,
            person_panel_register,
        )
        from spmis.registry.signals import persons_withdrawing

        person_identity_register(resolver=panels.identity_ids)
        person_deaths_register(name="linkage.flags", provider=panels.flag_deaths)
        person_panel_register(name="linkage.identity", order=5, panel=panels.person_records)
        person_panel_register(name="linkage.flags", order=10, panel=panels.person_flags,
                              place="alert")
        person_panel_register(name="linkage.history", order=40, panel=panels.person_history)
        persons_withdrawing.connect(persons_withdrawing_receiver,
                                    dispatch_uid="linkage.persons_withdrawing")
