"""The schedule that runs the repairer (workflows/repair_workflow.py) for a task queue. Every
worker makes sure it exists when it starts: the first one creates it, the rest find it."""

from __future__ import annotations

import contextlib
from datetime import timedelta

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
)

from activities.repairs.activities import RepairInput
from workflows.repair_workflow import REPAIR_TIMEOUT, RepairWorkflow


def repair_schedule_id(task_queue: str) -> str:
    return f"fulfil-repair-{task_queue}"


def repair_schedule(task_queue: str, every: timedelta) -> Schedule:
    return Schedule(
        action=ScheduleActionStartWorkflow(
            RepairWorkflow.run, RepairInput(task_queue), id=f"fulfil-repair-{task_queue}",
            task_queue=task_queue, execution_timeout=REPAIR_TIMEOUT * 2),
        spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=every)]),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP))


async def ensure_repair_schedule(client: Client, task_queue: str, every: timedelta) -> None:
    """Creates the schedule unless it exists. One that exists is left as it is: an operator
    may have paused it or changed its interval (`temporal schedule update`)."""
    with contextlib.suppress(ScheduleAlreadyRunningError):
        await client.create_schedule(repair_schedule_id(task_queue),
                                     repair_schedule(task_queue, every))
