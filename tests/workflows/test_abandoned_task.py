"""A worker killed after its workflow task recorded a timeline event (the event's local activity
committed, or its regular activity was scheduled) but before the task completed: the retried
task takes the path the history allows (here: a cancel that arrived meanwhile), and PostgreSQL
and the customer's messages end up telling that path, not the one that never happened."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from sqlalchemy import select
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.carriers.simulator import simulated_carriers
from activities.db.engine import SessionFactory
from activities.db.order_repository import OrderRepository
from activities.db.outbox_tables import OutboxRow
from activities.payments.simulator import SimulatedGateway
from activities.records import RecordEventInput
from api.orders import OrderService
from domain.notifications import OrderFacts, message_for
from tests.support import checkout, seed
from tests.workflows.abandoned_task import AbandonTaskAfterRecord
from tests.workflows.checks import assert_recorded, kinds
from tests.workflows.conftest import TIMINGS, Stack
from workers.interceptors import LoggingInterceptor
from workers.worker import WORKFLOW_RUNNER, WORKFLOWS, build_activities
from workflows.order_contract import CancelRequest, TimelineEvent, order_workflow_id


@asynccontextmanager
async def dying_stack(env: WorkflowEnvironment, db: SessionFactory,
                      dies: AbandonTaskAfterRecord) -> AsyncIterator[Stack]:
    """The usual stack, on a worker that abandons one workflow task on `dies`'s cue."""
    await seed(db)
    gateway = SimulatedGateway(db, latency_ms=0)
    carriers = simulated_carriers(db, latency_ms=0)
    task_queue = f"orders-{uuid.uuid4()}"
    worker = Worker(env.client, task_queue=task_queue, workflows=list(WORKFLOWS),
                    activities=build_activities(db, gateway, carriers),  # type: ignore[arg-type]
                    interceptors=[LoggingInterceptor(), dies], workflow_runner=WORKFLOW_RUNNER)
    async with worker:
        yield Stack(env, worker, OrderService(env.client, db, task_queue, TIMINGS), gateway,
                    carriers, db)


async def messages(db: SessionFactory, order_id: str) -> list[tuple[int, str]]:
    async with db() as session:
        rows = await session.scalars(select(OutboxRow).where(OutboxRow.order_id == order_id)
                                     .order_by(OutboxRow.event_seq))
        return [(row.event_seq, row.template) for row in rows]


async def recorded_kinds(db: SessionFactory, order_id: str) -> list[tuple[int, str]]:
    async with db() as session:
        return [(e.seq, e.kind) for e in await OrderRepository(session).events(order_id)]


def messages_told_by(timeline: list[TimelineEvent], order_id: str) -> list[tuple[int, str]]:
    """The customer messages the workflow's own timeline calls for."""
    facts = OrderFacts(order_id, "Ada Lovelace")
    told = [(e.seq, message_for(e.kind, e.detail, facts)) for e in timeline]
    return [(seq, message.template) for seq, message in told if message is not None]


@pytest.mark.parametrize("ghost_kind", ["warehouse.packed", "shipment.handed_over"])
async def test_an_event_of_an_abandoned_workflow_task_is_superseded_by_the_path_taken(
        temporal_env: WorkflowEnvironment, db: SessionFactory, ghost_kind: str) -> None:
    # Given a worker that dies right after its workflow task recorded the order's
    # `ghost_kind` event, while support's cancel reaches the order
    queued_at_death: list[tuple[int, str]] = []

    async def cancel_meanwhile(record: RecordEventInput) -> None:
        # What a relay could have sent by now: a message sent cannot be superseded later.
        queued_at_death.extend(await messages(db, record.order_id))
        handle = temporal_env.client.get_workflow_handle(order_workflow_id(record.order_id))
        await handle.signal("cancel", CancelRequest("customer changed their mind", "agent-7"))

    dies = AbandonTaskAfterRecord(ghost_kind, cancel_meanwhile, asyncio.get_running_loop())
    async with dying_stack(temporal_env, db, dies) as stack:
        # When an order runs into it
        placed = await stack.orders.place(checkout())
        result = await placed.handle.result()

        assert dies.abandoned is not None, f"no {ghost_kind} event was ever recorded"
        order_id = placed.order.order_id
        timeline = await placed.handle.query("timeline", result_type=list[TimelineEvent])
        if ghost_kind in kinds(timeline):
            # Then either the event was noted by a task that had completed (its batch was
            # handed to the writer by a later task): only its write died with the worker, and
            # the order went on past the point where a cancel is accepted
            assert result.status == "COMPLETED"
            assert "cancel.refused" in kinds(timeline)
        else:
            # Or the history never saw the abandoned task's event: the cancel won
            assert result.status == "CANCELLED"
            assert kinds(timeline)[dies.abandoned.seq - 1] == "compensation.started"
        # And PostgreSQL tells the same story, status included
        assert await recorded_kinds(db, order_id) == [(e.seq, e.kind) for e in timeline]
        await assert_recorded(stack, placed.handle, order_id, result.status)
        # And the customer hears of exactly the events the history holds, and at no moment
        # could a relay have sent a message of the abandoned task
        assert await messages(db, order_id) == messages_told_by(timeline, order_id)
        assert set(queued_at_death) <= set(messages_told_by(timeline, order_id))
