from django.apps import AppConfig


class SchemesConfig(AppConfig):
    name = "spmis.schemes"
    label = "schemes"

    def ready(self) -> None:
        from spmis.registry.panels import person_panel_register
        from spmis.schemes.panels import person_enrolments

        person_panel_register(name="schemes.enrolments", order=10, panel=person_enrolments)
