"""The email channel's REST API: `register(router)` adds its viewsets to the project's router."""

from rest_framework.routers import BaseRouter

from channels.api.emails import DeliveryViewSet, EmailViewSet
from channels.api.profiles import BrandProfileViewSet, ContentBlockViewSet, SenderProfileViewSet
from channels.api.webhooks import WebhookDeliveryViewSet, WebhookEndpointViewSet

VIEWSETS = [
    ("emails", EmailViewSet, "email"),
    ("deliveries", DeliveryViewSet, "delivery"),
    ("sender-profiles", SenderProfileViewSet, "sender-profile"),
    ("brand-profiles", BrandProfileViewSet, "brand-profile"),
    ("content-blocks", ContentBlockViewSet, "content-block"),
    ("webhook-endpoints", WebhookEndpointViewSet, "webhook-endpoint"),
    ("webhook-deliveries", WebhookDeliveryViewSet, "webhook-delivery"),
]


def register(router: BaseRouter) -> None:
    for prefix, viewset, basename in VIEWSETS:
        router.register(prefix, viewset, basename=basename)
