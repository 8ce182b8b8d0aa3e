"""Two releases of one workflow for tests/e2e/test_repair_wedged.py, the second unable to
replay what the first recorded, and a worker of the first to run as a child process
(`python -m tests.e2e.wedged_workflow ADDRESS NAMESPACE QUEUE`), so the test can SIGKILL it.

Release 1 ran a step after its held one; release 2 runs another step there. A release-2
worker that meets a history of release 1 fails the workflow task on non-determinism, on every
attempt: the order is wedged the way the SDK's grouping wedged orders in the chaos runs."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable, Sequence
from typing import Any

from temporalio import activity, workflow
from temporalio.client import Client
from temporalio.worker import Worker

from tests.e2e.message_after_task_timeout import (
    ACTIVITY_QUEUE_SUFFIX,
    STICKY_TIMEOUT,
    held_step,
    quick_step,
    step,
)


@activity.defn
async def other_step(what: str) -> str:
    return what


class _Story:
    def __init__(self) -> None:
        self.requests = 0
        self.finished = False

    @workflow.signal
    def request(self) -> None:
        self.requests += 1

    @workflow.signal
    def finish(self) -> None:
        self.finished = True

    async def _end(self, release: str) -> str:
        await workflow.wait_condition(lambda: self.finished)
        return f"{release}, {self.requests} requests"


@workflow.defn(name="Wedgeable")
class Release1(_Story):
    @workflow.run
    async def run(self) -> str:
        await step("held_step")
        await step("quick_step", "release 1")
        return await self._end("release 1")


@workflow.defn(name="Wedgeable")
class Release2(_Story):
    @workflow.run
    async def run(self) -> str:
        await step("held_step")
        await step("other_step", "release 2")
        return await self._end("release 2")


def workflow_worker(client: Client, queue: str, *workflows: type,
                    activities: Sequence[Callable[..., Any]] = ()) -> Worker:
    return Worker(client, task_queue=queue, workflows=workflows, activities=activities,
                  sticky_queue_schedule_to_start_timeout=STICKY_TIMEOUT)


def activity_worker(client: Client, queue: str) -> Worker:
    return Worker(client, task_queue=queue + ACTIVITY_QUEUE_SUFFIX,
                  activities=[held_step, quick_step, other_step])


async def _serve(address: str, namespace: str, queue: str) -> None:
    client = await Client.connect(address, namespace=namespace)
    async with workflow_worker(client, queue, Release1):
        print("polling", flush=True)
        await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(_serve(*sys.argv[1:4]))
