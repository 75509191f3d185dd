"""Work every process would otherwise do on its first request or first sent message, done once
at start: importing the URLconf (every view module) and building reverse()'s tables, ~0.3–0.5 s."""

from django.urls import get_resolver


def warm_up() -> None:
    get_resolver().reverse_dict  # noqa: B018 (imports the URLconf and populates the resolver)
