"""The journeys app's REST API: `register(router)` adds its viewsets to the project's router."""

from rest_framework.routers import BaseRouter


def register(router: BaseRouter) -> None:
    pass
