"""The repairer resets a workflow wedged on non-determinism, on the real dev server and
PostgreSQL.

The workflow's first worker dies while a step runs; the task that brings the step's result
waits on the dead worker's sticky queue and times out, with support's request arriving in
between (the window where the SDK's grouping wedged orders). A worker of release 1 runs the
task; a worker of release 2 then cannot replay it and fails every workflow task. One round of
the repairer resets the workflow to just before the timed-out task: the request sent while it
was wedged is reapplied, release 2 runs on, and the new history replays."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHandle
from temporalio.worker import Replayer, Worker

from activities.db.engine import SessionFactory
from activities.db.repair_tables import RESET, WorkflowRepairRow
from activities.repairs.activities import Repair, RepairActivities, RepairInput, wedged_query
from tests.e2e import wedged_workflow as story
from tests.e2e.message_after_task_timeout import HELD
from workers.stack import DevServer
from workers.worker import WORKFLOW_RUNNER
from workflows.repair_workflow import RepairWorkflow

pytestmark = pytest.mark.e2e

WAIT_S = 30.0
# The server flags a workflow after 5 workflow tasks failed in a row, with backoff between
# them: about a minute.
FLAGGED_WAIT_S = 120.0
E = EventType


async def until(what: str, check: Callable[[], Any], wait_s: float = WAIT_S) -> None:
    deadline = time.monotonic() + wait_s
    while not await check():
        assert time.monotonic() < deadline, f"{what} never happened"
        await asyncio.sleep(0.2)


async def has_event(handle: WorkflowHandle[Any, Any], event_type: int) -> bool:
    return any([e.event_type == event_type async for e in handle.fetch_history_events()])


async def held_step_started(handle: WorkflowHandle[Any, Any]) -> bool:
    return any(p.activity_type.name == "held_step" and p.last_started_time.seconds
               for p in (await handle.describe()).raw_description.pending_activities)


async def wedge(client: Client, dev_server: DevServer, queue: str) -> WorkflowHandle[Any, Any]:
    """A release-1 workflow whose worker died mid-step, with a request in the timed-out
    task's window, that a release-2 worker then fails to replay."""
    dying = await asyncio.create_subprocess_exec(
        sys.executable, "-m", story.__name__, dev_server.address, dev_server.namespace, queue,
        stdout=asyncio.subprocess.PIPE, env={**os.environ})
    assert dying.stdout is not None
    assert (await asyncio.wait_for(dying.stdout.readline(), WAIT_S)).strip() == b"polling"
    handle = await client.start_workflow("Wedgeable", id=f"wedge-{queue}", task_queue=queue)
    await until("held_step's start", lambda: held_step_started(handle))
    dying.send_signal(signal.SIGKILL)
    await dying.wait()
    HELD.set()
    await handle.signal("request")
    await until("the dead worker's task timing out",
                lambda: has_event(handle, E.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT))
    async with story.workflow_worker(client, queue, story.Release1):
        await until("release 1's quick step", lambda: quick_step_done(handle))
    return handle


async def quick_step_done(handle: WorkflowHandle[Any, Any]) -> bool:
    events = [e async for e in handle.fetch_history_events()]
    done = [e.event_id for e in events if e.event_type == E.EVENT_TYPE_ACTIVITY_TASK_COMPLETED]
    completed = [e.event_id for e in events if e.event_type == E.EVENT_TYPE_WORKFLOW_TASK_COMPLETED]
    return len(done) == 2 and completed[-1] > done[-1]


async def listed_as_wedged(client: Client, queue: str) -> bool:
    return bool([w async for w in client.list_workflows(wedged_query(queue))])


def release_2_worker(client: Client, queue: str, db: SessionFactory) -> Worker:
    repairs = RepairActivities(db, [story.Release2, RepairWorkflow], WORKFLOW_RUNNER)
    return story.workflow_worker(client, queue, story.Release2, RepairWorkflow,
                                 activities=[repairs.repair_wedged_workflows])


async def repair_round(client: Client, queue: str) -> list[Repair]:
    return await client.execute_workflow(RepairWorkflow.run, RepairInput(queue),
                                         id=f"repair-{uuid.uuid4().hex[:8]}", task_queue=queue)


async def test_a_workflow_wedged_on_non_determinism_is_reset_and_runs_on(
        dev_server: DevServer, db: SessionFactory):
    client = await Client.connect(dev_server.address, namespace=dev_server.namespace)
    queue = f"wedge-{uuid.uuid4().hex[:8]}"
    HELD.clear()
    async with story.activity_worker(client, queue):
        # Given a workflow a worker of the new release fails on every task
        handle = await wedge(client, dev_server, queue)
        broken = await handle.describe()
        async with release_2_worker(client, queue, db):
            await handle.signal("request")  # support asks again: a task the release fails
            await until("the server flagging it", lambda: listed_as_wedged(client, queue),
                        FLAGGED_WAIT_S)

            # When one round of the repairer runs
            [repair] = await repair_round(client, queue)

            # Then it reset the workflow to the timed-out task, and the run goes on
            events = {e.event_id: e.event_type
                      async for e in client.get_workflow_handle(
                          handle.id, run_id=broken.run_id).fetch_history_events()}
            assert (repair.outcome, events[repair.reset_to]) == (
                RESET, E.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT)
            current = client.get_workflow_handle(handle.id)
            assert (await current.describe()).run_id == repair.new_run_id != broken.run_id
            await current.signal("finish")
            assert await asyncio.wait_for(current.result(), WAIT_S) == "release 2, 2 requests"
            assert await repair_round(client, queue) == []

    # And its new history replays on the new release; the repair is on record
    replayed = await Replayer(workflows=[story.Release2], workflow_runner=WORKFLOW_RUNNER
                              ).replay_workflow(await current.fetch_history(),
                                                raise_on_replay_failure=False)
    assert replayed.replay_failure is None
    async with db() as session:
        [row] = (await session.scalars(select(WorkflowRepairRow).where(
            WorkflowRepairRow.workflow_id == handle.id))).all()
    assert (row.broken_run_id, row.new_run_id, row.workflow_type, row.outcome) == (
        broken.run_id, repair.new_run_id, "Wedgeable", RESET)
    assert "Nondeterminism" in row.problem
