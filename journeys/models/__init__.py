from journeys.models.events import TriggerEvent
from journeys.models.journeys import EXIT, Journey, JourneyRun, JourneyVersion, StepLog

__all__ = ["EXIT", "Journey", "JourneyRun", "JourneyVersion", "StepLog", "TriggerEvent"]
