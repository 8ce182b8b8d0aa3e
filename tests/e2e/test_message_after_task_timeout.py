"""Support's request meets a dead worker's timed-out workflow task, on the real dev server.

A worker dies while its order waits for an activity. The activity completes; the workflow task
that brings the result waits on the dead worker's sticky queue and times out. Support's request
arrives meanwhile, as the `ask` signal. A fresh worker then runs the task with the result and
the request: the order finishes and its history replays. (The chaos runs found orders whose
request landed in that window and whose history did not replay; they are kept in
tests/replay/unreplayable/. This small story does not reproduce the SDK's live grouping.)"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
import uuid
from typing import Any

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHandle
from temporalio.worker import Replayer

from tests.e2e import message_after_task_timeout as story
from workers.stack import DevServer

pytestmark = pytest.mark.e2e

WAIT_S = 30.0


async def started(handle: WorkflowHandle[Any, Any], activity_type: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while not any(p.activity_type.name == activity_type
                  for p in (await handle.describe()).raw_description.pending_activities
                  if p.last_started_time.seconds):
        assert time.monotonic() < deadline, f"{activity_type} never started"
        await asyncio.sleep(0.1)


async def task_timed_out(handle: WorkflowHandle[Any, Any]) -> None:
    deadline = time.monotonic() + WAIT_S
    while not [e async for e in handle.fetch_history_events()
               if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT]:
        assert time.monotonic() < deadline, "the dead worker's task never timed out"
        await asyncio.sleep(0.2)


async def run_through_a_dead_worker(client: Client, dev_server: DevServer,
                                    workflow: str) -> WorkflowHandle[Any, Any]:
    """Runs one `workflow` whose worker is SIGKILLed while its activity runs, with the
    support request sent while the workflow task after it waits for the dead worker."""
    queue = f"wedge-{uuid.uuid4().hex[:8]}"
    dying = await asyncio.create_subprocess_exec(
        sys.executable, "-m", story.__name__, dev_server.address, dev_server.namespace, queue,
        stdout=asyncio.subprocess.PIPE, env={**os.environ})
    assert dying.stdout is not None
    assert (await asyncio.wait_for(dying.stdout.readline(), WAIT_S)).strip() == b"polling"
    story.HELD.clear()
    async with story.activity_worker(client, queue):
        handle = await client.start_workflow(workflow, id=f"{workflow}-{queue}", task_queue=queue)
        await started(handle, "held_step")
        dying.send_signal(signal.SIGKILL)
        await dying.wait()
        story.HELD.set()  # the result's workflow task now waits on the dead sticky queue
        await handle.signal("request")
        await task_timed_out(handle)
        async with story.workflow_worker(client, queue):
            await asyncio.wait_for(handle.result(), WAIT_S)
    return handle


async def replays(handle: WorkflowHandle[Any, Any]) -> str:
    """"" when the history replays on the same workflows, else the replay's error."""
    history = await handle.fetch_history()
    result = await Replayer(workflows=story.WORKFLOWS).replay_workflow(
        history, raise_on_replay_failure=False)
    return str(result.replay_failure or "")


async def test_a_signal_that_met_a_dead_workers_timed_out_task_is_handled_and_replays(
        dev_server: DevServer):
    client = await Client.connect(dev_server.address, namespace=dev_server.namespace)

    # Given an order whose worker died, with support's request sent as a signal while the
    # workflow task after it waited for the dead worker and timed out
    handle = await run_through_a_dead_worker(client, dev_server, "BySignal")

    # Then the request was handled where the history has it, and the history replays
    events = [e.event_type async for e in handle.fetch_history_events()]
    assert EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT in events
    assert EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED in events
    assert await replays(handle) == ""
