"""Django admin for journeys: journeys and runs (journeys.py), triggers and events (triggers.py)."""

from journeys.admin import journeys, triggers  # noqa: F401  (registers the model admins)
