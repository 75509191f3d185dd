"""The journeys app's REST API: `register(router)` adds its viewsets to the project's router."""

from rest_framework.routers import BaseRouter

from journeys.api import journeys, triggers


def register(router: BaseRouter) -> None:
    journeys.register(router)
    triggers.register(router)
