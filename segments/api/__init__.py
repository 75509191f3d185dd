"""The segments app's REST API: `register(router)` adds its viewset to the project's router."""

from rest_framework.routers import BaseRouter

from segments.api.segments import SegmentViewSet

VIEWSETS = [
    ("segments", SegmentViewSet, "segment"),
]


def register(router: BaseRouter) -> None:
    for prefix, viewset, basename in VIEWSETS:
        router.register(prefix, viewset, basename=basename)
