"""BaselineWorkflow: as many activities as an order runs on its way to SHIPPED, each doing
nothing, in the same shape: some one after the other, the timeline writes in the background.
The benchmark runs it beside OrderWorkflow to separate what Temporal itself costs from what
fulfil's steps cost."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta

from temporalio import activity, workflow

NOOP_TIMEOUT = timedelta(seconds=10)


@dataclass(frozen=True)
class BaselineInput:
    sequential: int
    background: int


@activity.defn(name="noop")
async def noop(step: int) -> int:
    """Does nothing: the cost of one activity round trip."""
    return step


@workflow.defn
class BaselineWorkflow:
    """Runs the sequential no-ops one after the other while the background ones run."""

    @workflow.run
    async def run(self, input: BaselineInput) -> int:
        background = [workflow.start_activity(noop, n, start_to_close_timeout=NOOP_TIMEOUT)
                      for n in range(input.background)]
        for step in range(input.sequential):
            await workflow.execute_activity(noop, step, start_to_close_timeout=NOOP_TIMEOUT)
        await asyncio.gather(*background)
        return input.sequential + input.background
