"""RepairWorkflow: one round of the repairer, started by a Temporal schedule every few
seconds (workers/repair_schedule.py). The schedule skips a round while one still runs, so a
wedged workflow is never reset twice at once."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities.repairs.activities import Repair, RepairActivities, RepairInput
    from workflows.steps import HEARTBEAT_TIMEOUT

REPAIR_TIMEOUT = timedelta(minutes=5)
# The next round comes soon: a round that keeps failing is left to it.
REPAIR_RETRY = RetryPolicy(maximum_attempts=3)


@workflow.defn
class RepairWorkflow:
    @workflow.run
    async def run(self, input: RepairInput) -> list[Repair]:
        return await workflow.execute_activity_method(
            RepairActivities.repair_wedged_workflows, input,
            start_to_close_timeout=REPAIR_TIMEOUT, heartbeat_timeout=HEARTBEAT_TIMEOUT,
            retry_policy=REPAIR_RETRY)
