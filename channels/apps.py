from django.apps import AppConfig


class ChannelsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "channels"
    verbose_name = "Email"

    def ready(self) -> None:
        # Hosted providers' webhooks (django-anymail) report bounces, complaints and deliveries.
        from anymail.signals import inbound, tracking

        from channels import bounces

        tracking.connect(bounces.on_tracking_event, dispatch_uid="channels.bounces.tracking")
        inbound.connect(bounces.on_inbound_event, dispatch_uid="channels.bounces.inbound")
