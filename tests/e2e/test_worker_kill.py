"""A worker SIGKILLed in the middle of an activity: the activity it held is retried on the
other worker within seconds (its heartbeat stops), not after the 30 s start-to-close timeout.

Worker A talks to a payment gateway so slow that authorize_payment is still running on it when
it dies; worker B's gateway answers at once. Run with `-s` to see the measured figures.
"""

from __future__ import annotations

import asyncio
import socket
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from temporalio.api.enums.v1 import EventType, PendingActivityState
from temporalio.client import Client, WorkflowHandle

from activities.db.engine import SessionFactory
from activities.payments.simulator import SimulatedGateway
from api.orders import OrderService
from tests.e2e.processes import WorkerProcess, start_worker
from tests.support import checkout, seed
from tests.workflows.conftest import MANUAL_TIMINGS
from workers.stack import DevServer

pytestmark = pytest.mark.e2e

ACTIVITY = "authorize_payment"
STUCK_LATENCY_MS = "120000"  # longer than any timeout: the attempt on A never ends by itself
PICKED_UP_TIMEOUT_S = 30.0
RECOVERY_TIMEOUT_S = 60.0
# Heartbeat timeout (5 s) + retry backoff (1 s) + a poll, with room for a loaded CI machine.
RECOVERY_BOUND_S = 15.0
POLL_S = 0.2


def identity(worker: WorkerProcess) -> str:
    """The SDK's default worker identity: pid@host."""
    return f"{worker.process.pid}@{socket.gethostname()}"


async def running_attempt(handle: WorkflowHandle, worker: str) -> datetime:
    """Waits until `worker` runs the activity; when that attempt started."""
    deadline = time.monotonic() + PICKED_UP_TIMEOUT_S
    while True:
        for pending in (await handle.describe()).raw_description.pending_activities:
            if (pending.activity_type.name == ACTIVITY
                    and pending.state == PendingActivityState.PENDING_ACTIVITY_STATE_STARTED
                    and pending.last_worker_identity == worker):
                return pending.last_started_time.ToDatetime(tzinfo=UTC)
        assert time.monotonic() < deadline, f"{worker} never started {ACTIVITY}"
        await asyncio.sleep(POLL_S)


async def wait_for_completion(handle: WorkflowHandle) -> None:
    """Waits until the activity is no longer pending: an attempt has completed it."""
    deadline = time.monotonic() + RECOVERY_TIMEOUT_S
    while any(p.activity_type.name == ACTIVITY
              for p in (await handle.describe()).raw_description.pending_activities):
        assert time.monotonic() < deadline, f"{ACTIVITY} still pending"
        await asyncio.sleep(POLL_S)


async def wait_for_status(orders: OrderService, order_id: str, status: str) -> None:
    deadline = time.monotonic() + RECOVERY_TIMEOUT_S
    while (await orders.view(order_id)).status != status:
        assert time.monotonic() < deadline, f"order never reached {status}"
        await asyncio.sleep(POLL_S)


async def completing_attempt(handle: WorkflowHandle) -> tuple[str, int]:
    """The identity and attempt number the history records for the completed activity."""
    scheduled, started = set(), {}
    async for event in handle.fetch_history_events():
        if (event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
                and event.activity_task_scheduled_event_attributes.activity_type.name == ACTIVITY):
            scheduled.add(event.event_id)
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED:
            attributes = event.activity_task_started_event_attributes
            started[attributes.scheduled_event_id] = attributes
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
            scheduled_id = event.activity_task_completed_event_attributes.scheduled_event_id
            if scheduled_id in scheduled:
                return started[scheduled_id].identity, started[scheduled_id].attempt
    raise AssertionError(f"no completed {ACTIVITY} in the history")


async def test_an_activity_lost_with_a_killed_worker_is_retried_on_another_within_seconds(
        db: SessionFactory, database_url: str, dev_server: DevServer, tmp_path: Path):
    # Given worker A, whose payment gateway hangs, authorizing an order's payment
    await seed(db)
    task_queue = f"kill-{uuid.uuid4().hex[:8]}"
    slow = await start_worker(database_url, dev_server.address, task_queue,
                              tmp_path / "worker-a.log", STUCK_LATENCY_MS)
    fast: WorkerProcess | None = None
    client = await Client.connect(dev_server.address)
    orders = OrderService(client, db, task_queue, MANUAL_TIMINGS)
    placed = await orders.place(checkout())
    try:
        attempt_started = await running_attempt(placed.handle, identity(slow))
        # ... and worker B, ready to take over
        fast = await start_worker(database_url, dev_server.address, task_queue,
                                  tmp_path / "worker-b.log", "5")

        # When worker A is SIGKILLed mid-activity
        slow.kill()
        killed_at, killed_wall = time.monotonic(), datetime.now(UTC)
        await wait_for_completion(placed.handle)
        recovery_s = time.monotonic() - killed_at

        # Then worker B completed the activity on a retry, seconds after the kill
        done_by, attempt = await completing_attempt(placed.handle)
        print(f"\n{ACTIVITY} lost with a killed worker: completed on the other worker "
              f"{recovery_s:.1f} s after the kill "
              f"({(killed_wall - attempt_started).total_seconds():.1f} s into the lost attempt), "
              f"attempt {attempt}")
        assert (done_by, attempt) == (identity(fast), 2)
        assert recovery_s < RECOVERY_BOUND_S
        # ... and the order moves on to the warehouse, its payment authorized once
        await wait_for_status(orders, placed.order.order_id, "PICKING")
        view = await orders.view(placed.order.order_id)
        gateway = SimulatedGateway(db, latency_ms=0)
        assert await gateway.count_operations(
            "authorize", authorization=view.payment.authorization) == 1
    except BaseException:
        for worker in (slow, fast):
            if worker is not None:
                print(f"\n--- {worker.log.name} tail ---\n{worker.tail(30)}")
        raise
    finally:
        await placed.handle.terminate("end of the worker-kill test")
        for worker in (slow, fast):
            if worker is not None:
                await worker.stop()
