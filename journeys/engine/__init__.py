"""The journey engine: the tick (`advance_due_runs`), event dispatch and segment entry."""

from journeys.engine.ab import decide_winners
from journeys.engine.dispatch import (
    dispatch,
    dispatch_ids,
    dispatch_next,
    dispatch_pending,
    dispatch_waiting,
    start_run,
)
from journeys.engine.entry import enter_due_segments, enter_segment, first_entry_at
from journeys.engine.runner import advance_due_runs, step, step_safely

__all__ = ["advance_due_runs", "decide_winners", "dispatch", "dispatch_ids", "dispatch_next", "dispatch_pending",
           "dispatch_waiting", "enter_due_segments", "enter_segment", "first_entry_at", "start_run", "step",
           "step_safely"]
