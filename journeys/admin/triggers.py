"""Admin for trigger events and custom triggers."""
