"""The REST API under /api/: one router that each app registers its viewsets on, and the docs."""

from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.permissions import AllowAny
from rest_framework.routers import DefaultRouter

from contacts import api as contacts_api

router = DefaultRouter()
contacts_api.register(router)

urlpatterns = [
    # The schema describes the API, not its data: anyone may read it.
    path("schema/", SpectacularAPIView.as_view(permission_classes=[AllowAny]), name="api-schema"),
    path(
        "docs/",
        SpectacularSwaggerView.as_view(url_name="api-schema", permission_classes=[AllowAny]),
        name="api-docs",
    ),
    *router.urls,
]
