"""Admin for journeys, their versions, runs and step logs."""
