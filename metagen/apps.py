from django.apps import AppConfig


class MetagenConfig(AppConfig):
    name = "metagen"

    def ready(self) -> None:
        from metagen import checks  # noqa: F401 - registers the system checks
