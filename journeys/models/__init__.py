from journeys.models.events import TriggerEvent
from journeys.models.journeys import EXIT, Journey, JourneyRun, JourneySettings, JourneyVersion, StepLog

__all__ = ["EXIT", "Journey", "JourneyRun", "JourneySettings", "JourneyVersion", "StepLog", "TriggerEvent"]
