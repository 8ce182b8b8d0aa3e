"""BaselineWorkflow: as many activities and local activities as an order needs to reach
SHIPPED, each doing nothing. The benchmark runs it beside OrderWorkflow to separate what
Temporal itself costs from what fulfil's steps cost."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from temporalio import activity, workflow

NOOP_TIMEOUT = timedelta(seconds=10)


@dataclass(frozen=True)
class BaselineInput:
    activities: int
    local_activities: int


@activity.defn(name="noop")
async def noop(step: int) -> int:
    """Does nothing: the cost of one activity round trip."""
    return step


@workflow.defn
class BaselineWorkflow:
    """Runs the no-op activities one after the other, interleaved as in an order."""

    @workflow.run
    async def run(self, input: BaselineInput) -> int:
        for step in range(max(input.activities, input.local_activities)):
            if step < input.local_activities:
                await workflow.execute_local_activity(noop, step,
                                                      start_to_close_timeout=NOOP_TIMEOUT)
            if step < input.activities:
                await workflow.execute_activity(noop, step, start_to_close_timeout=NOOP_TIMEOUT)
        return input.activities + input.local_activities
