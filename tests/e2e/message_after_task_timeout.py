"""A small workflow for tests/e2e/test_message_after_task_timeout.py, shaped like the order
that wedged, and a worker for it to run as a child process (`python -m
tests.e2e.message_after_task_timeout ADDRESS NAMESPACE QUEUE`), so the test can SIGKILL it.

It records a patch marker, waits for an activity while a second (its bookkeeping) runs, then
issues commands of its own (a timer and an activity). Support's request arrives as a signal,
the way OrderWorkflow's support actions do now (workflows/asks.py), and schedules an activity
too."""

from __future__ import annotations

import asyncio
import sys
from datetime import timedelta

from temporalio import activity, workflow
from temporalio.client import Client
from temporalio.worker import Worker

ACTIVITY_QUEUE_SUFFIX = "-activities"
STICKY_TIMEOUT = timedelta(seconds=2)  # how long a dead worker's sticky task waits
HELD = asyncio.Event()  # in the test's process, which runs the activities


@activity.defn
async def held_step() -> str:
    """The order's step the worker dies during; it finishes when the test says so."""
    await HELD.wait()
    return "done"


@activity.defn
async def quick_step(what: str) -> str:
    return what


def step(name: str, *args: object) -> object:
    """Runs activity `name` on the activity worker's queue."""
    queue = workflow.info().task_queue + ACTIVITY_QUEUE_SUFFIX
    return workflow.execute_activity(name, args=list(args), task_queue=queue,
                                     start_to_close_timeout=timedelta(seconds=30))


class _Story:
    """The main path: a held step, then two commands of its own."""

    def __init__(self) -> None:
        self.asked = False

    async def _main_path(self) -> None:
        workflow.patched("a-patch")  # a marker, as OrderWorkflow's first task records
        bookkeeping = asyncio.ensure_future(step("held_step"))
        await step("held_step")
        await asyncio.gather(workflow.sleep(timedelta(seconds=1)),
                             step("quick_step", "main path"))
        await bookkeeping
        await workflow.wait_condition(lambda: self.asked)

    async def _act_on_request(self) -> None:
        await step("quick_step", "support's request")
        self.asked = True


@workflow.defn(name="BySignal")
class BySignal(_Story):
    @workflow.run
    async def run(self) -> None:
        await self._main_path()
        await workflow.wait_condition(workflow.all_handlers_finished)

    @workflow.signal
    async def request(self) -> None:
        await self._act_on_request()


WORKFLOWS = [BySignal]


def workflow_worker(client: Client, queue: str) -> Worker:
    return Worker(client, task_queue=queue, workflows=WORKFLOWS,
                  sticky_queue_schedule_to_start_timeout=STICKY_TIMEOUT)


def activity_worker(client: Client, queue: str) -> Worker:
    return Worker(client, task_queue=queue + ACTIVITY_QUEUE_SUFFIX,
                  activities=[held_step, quick_step])


async def _serve(address: str, namespace: str, queue: str) -> None:
    client = await Client.connect(address, namespace=namespace)
    async with workflow_worker(client, queue):
        print("polling", flush=True)
        await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(_serve(*sys.argv[1:4]))
