"""Activities heartbeat while they wait: a gateway call that takes longer than the heartbeat
timeout is not mistaken for one lost with its worker (see tests/e2e/test_worker_kill.py)."""

from __future__ import annotations

import asyncio

from temporalio.api.enums.v1 import EventType

from activities.payments.simulator import SimulatedGateway
from tests.support import checkout
from tests.workflows.checks import WAIT_S, money_moved, reach
from tests.workflows.conftest import manual_service, running_stack
from tests.workflows.fakes import Held
from workflows.steps import HEARTBEAT_TIMEOUT

# Longer than the heartbeat timeout, well short of the start-to-close timeout.
HELD_S = HEARTBEAT_TIMEOUT.total_seconds() + 3


async def test_a_gateway_call_slower_than_the_heartbeat_timeout_completes_on_its_first_attempt(
        temporal_env, db):
    # Given an order whose payment authorization is in flight at the gateway
    gateway = Held(SimulatedGateway(db, latency_ms=0), "authorize")
    async with running_stack(temporal_env, db, gateway=gateway) as stack:
        placed = await manual_service(stack).place(checkout())
        await asyncio.wait_for(gateway.reached.wait(), WAIT_S)

        # When the gateway answers only after longer than the heartbeat timeout
        await asyncio.sleep(HELD_S)
        gateway.opened.set()

        # Then the first attempt's answer is taken, the order moves on, charged once
        await reach(placed.handle, "PICKING")
        attempts = [e.activity_task_started_event_attributes.attempt
                    async for e in placed.handle.fetch_history_events()
                    if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED]
        assert attempts and set(attempts) == {1}
        assert (await money_moved(stack))["authorize"] == 1
