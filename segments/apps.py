from django.apps import AppConfig


class SegmentsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "segments"

    def ready(self) -> None:
        from contacts import hooks as people_hooks
        from segments import hooks

        people_hooks.subscribe(hooks.on_people_changed)
