from django.apps import AppConfig


class JourneysConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "journeys"

    def ready(self) -> None:
        from contacts import hooks
        from journeys import records, usage
        from segments import hooks as segment_hooks

        # Record triggers: every write path's people and record changes become events.
        hooks.subscribe(records.on_people_changed)
        hooks.subscribe_records(records.on_records_changed)
        # Segments refuse to delete a segment a journey uses (segments never imports journeys).
        segment_hooks.register_usage(usage.segment_usage)
