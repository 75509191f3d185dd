from journeys.models.events import TriggerEvent
from journeys.models.journeys import EXIT, Journey, JourneyRun, JourneySettings, JourneyVersion, StepLog
from journeys.models.triggers import CustomTrigger

__all__ = ["EXIT", "CustomTrigger", "Journey", "JourneyRun", "JourneySettings", "JourneyVersion", "StepLog",
           "TriggerEvent"]
