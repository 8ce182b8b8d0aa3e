"""BaselineWorkflow: the same number of activities as an order, each doing nothing.
The benchmark runs it beside OrderWorkflow to show what the engine itself costs."""

from __future__ import annotations

from datetime import timedelta

from temporalio import activity, workflow

NOOP_TIMEOUT = timedelta(seconds=10)


@activity.defn(name="noop")
async def noop(step: int) -> int:
    """Does nothing: the cost of one activity round trip."""
    return step


@workflow.defn
class BaselineWorkflow:
    """Runs `steps` no-op activities one after the other."""

    @workflow.run
    async def run(self, steps: int) -> int:
        for step in range(steps):
            await workflow.execute_activity(noop, step, start_to_close_timeout=NOOP_TIMEOUT)
        return steps
