"""The timeline's durable copy against real PostgreSQL when a workflow task is abandoned: a
worker killed after `record_event` committed leaves events its retried task may not take. The
events a later task writes supersede them; nothing an abandoned task wrote survives, and no
customer hears of it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from temporalio.testing import ActivityEnvironment

from activities.db.catalogue_repository import CatalogueRepository
from activities.db.engine import SessionFactory
from activities.db.order_repository import OrderRepository
from activities.db.outbox_tables import OutboxRow
from activities.records import RecordActivities, RecordEventInput, RecordOrderInput
from api.checkout import parse_checkout
from domain.catalogue import price_order
from tests.support import checkout, seed

PLACED_AT = datetime(2025, 3, 1, 9, 30, tzinfo=UTC)
ABANDONED, RETRIED = 40, 44  # the history lengths of a killed task and of its retry
SHIPPED = "sim-standard SIMS0123456789"


@pytest.fixture
async def order_id(db: SessionFactory, activity_env: ActivityEnvironment) -> str:
    await seed(db)
    async with db() as session:
        catalogue = await CatalogueRepository(session).load()
    order = price_order(parse_checkout(checkout()), catalogue)
    await activity_env.run(RecordActivities(db).record_order,
                           RecordOrderInput(order, f"order-{order.order_id}", PLACED_AT))
    return order.order_id


async def record(env: ActivityEnvironment, db: SessionFactory, order_id: str, seq: int,
                 kind: str, *, task: int, status: str = "PICKING", detail: str = "") -> bool:
    return await env.run(RecordActivities(db).record_event, RecordEventInput(
        order_id, seq, PLACED_AT + timedelta(minutes=seq, seconds=task), status, kind, detail,
        "system", task))


async def timeline(db: SessionFactory, order_id: str) -> tuple[str, list[tuple[int, str]]]:
    """The order's recorded status and its (seq, kind) events."""
    async with db() as session:
        repo = OrderRepository(session)
        row = await repo.get(order_id)
        assert row is not None
        return row.status, [(e.seq, e.kind) for e in await repo.events(order_id)]


async def outbox(db: SessionFactory, order_id: str) -> list[tuple[int, str]]:
    async with db() as session:
        rows = await session.scalars(select(OutboxRow).where(OutboxRow.order_id == order_id)
                                     .order_by(OutboxRow.event_seq))
        return [(row.event_seq, row.template) for row in rows]


async def test_a_retried_task_replaces_the_abandoned_event_and_drops_those_after_it(
    db: SessionFactory, order_id: str, activity_env: ActivityEnvironment,
) -> None:
    # Given a killed task that recorded a packed parcel and what came next
    await record(activity_env, db, order_id, 6, "warehouse.picked", task=30)
    await record(activity_env, db, order_id, 7, "warehouse.packed", task=ABANDONED,
                 status="PACKED")
    await record(activity_env, db, order_id, 8, "shipment.label_bought", task=ABANDONED,
                 status="PACKED")

    # When its retry takes the cancel path from the same seq
    written = await record(activity_env, db, order_id, 7, "compensation.started", task=RETRIED)

    # Then the order tells the cancel path only, status included
    assert written is True
    assert await timeline(db, order_id) == (
        "PICKING", [(6, "warehouse.picked"), (7, "compensation.started")])


async def test_a_late_write_of_an_abandoned_task_changes_nothing(
    db: SessionFactory, order_id: str, activity_env: ActivityEnvironment,
) -> None:
    # Given the retried task's path, recorded
    await record(activity_env, db, order_id, 7, "compensation.started", task=RETRIED)

    # When the abandoned task's local activity commits after all, at that seq or later
    late = [await record(activity_env, db, order_id, 7, "warehouse.packed", task=ABANDONED),
            await record(activity_env, db, order_id, 8, "shipment.label_bought",
                         task=ABANDONED, status="PACKED")]

    # Then it is ignored
    assert late == [False, False]
    assert await timeline(db, order_id) == ("PICKING", [(7, "compensation.started")])


async def test_events_of_the_retried_task_written_out_of_order_are_all_kept(
    db: SessionFactory, order_id: str, activity_env: ActivityEnvironment,
) -> None:
    # Given three events of an abandoned task
    for seq in (7, 8, 9):
        await record(activity_env, db, order_id, seq, f"ghost.{seq}", task=ABANDONED)

    # When the retried task notes two events at once and the later one commits first
    await record(activity_env, db, order_id, 8, "cancel.refused", task=RETRIED)
    await record(activity_env, db, order_id, 7, "compensation.started", task=RETRIED,
                 status="CANCELLED")

    # Then both are kept, the third ghost is gone, and the status is the latest seq's
    assert await timeline(db, order_id) == (
        "PICKING", [(7, "compensation.started"), (8, "cancel.refused")])


async def test_an_event_noted_again_by_the_retried_task_is_kept_at_its_new_time(
    db: SessionFactory, order_id: str, activity_env: ActivityEnvironment,
) -> None:
    await record(activity_env, db, order_id, 7, "warehouse.packed", task=ABANDONED)

    assert await record(activity_env, db, order_id, 7, "warehouse.packed", task=RETRIED) is True
    assert await record(activity_env, db, order_id, 7, "warehouse.packed", task=RETRIED) is False

    async with db() as session:
        [event] = await OrderRepository(session).events(order_id)
    assert (event.kind, event.task, event.at) == (
        "warehouse.packed", RETRIED, PLACED_AT + timedelta(minutes=7, seconds=RETRIED))


async def test_the_unsent_message_of_an_abandoned_event_is_withdrawn(
    db: SessionFactory, order_id: str, activity_env: ActivityEnvironment,
) -> None:
    # Given an abandoned task of an older history, which queued its messages in record_event
    await record(activity_env, db, order_id, 8, "shipment.handed_over", task=ABANDONED,
                 detail=SHIPPED)

    # When the retried task notes another event at that seq, and the order is cancelled
    await record(activity_env, db, order_id, 8, "compensation.started", task=RETRIED)
    await record(activity_env, db, order_id, 9, "order.cancelled", task=RETRIED,
                 status="CANCELLED", detail="changed my mind")

    # Then the customer is told of the cancel, never of a shipment
    assert await outbox(db, order_id) == [(9, "order_cancelled")]


async def test_events_of_no_known_task_are_never_dropped(
    db: SessionFactory, order_id: str, activity_env: ActivityEnvironment,
) -> None:
    # Given an event written before tasks were recorded (or by a writer that knows none)
    await record(activity_env, db, order_id, 8, "attention.needed", task=0)

    # When an earlier seq is written late by a known task
    await record(activity_env, db, order_id, 7, "shipment.handed_over", task=RETRIED,
                 detail=SHIPPED)

    # Then both are kept
    assert await timeline(db, order_id) == (
        "PICKING", [(7, "shipment.handed_over"), (8, "attention.needed")])


async def forget_from(db: SessionFactory, order_id: str, task: int) -> list[int]:
    async with db.begin() as session:
        return await OrderRepository(session).forget_events_noted_from(order_id, task)


async def test_a_reset_workflow_rewrites_the_part_of_its_timeline_the_reset_discarded(
    db: SessionFactory, order_id: str, activity_env: ActivityEnvironment,
) -> None:
    # Given a timeline noted by tasks at history lengths 30, 40 and 50, the last one queuing
    # a message, and a reset that keeps the history up to event 36
    await record(activity_env, db, order_id, 6, "warehouse.picked", task=30)
    await record(activity_env, db, order_id, 7, "warehouse.packed", task=40, status="PACKED")
    await record(activity_env, db, order_id, 8, "shipment.handed_over", task=50,
                 status="SHIPPED", detail=SHIPPED)

    # When the repairer forgets what the discarded part noted, and the new run's path is
    # written at the new run's shorter history lengths
    forgotten = await forget_from(db, order_id, 36)
    status_between = (await timeline(db, order_id))[0]
    written = await record(activity_env, db, order_id, 7, "compensation.started", task=39)

    # Then the order tells the new path only, and the customer hears nothing of a shipment
    assert forgotten == [7, 8]
    assert status_between == "PICKING"
    assert written is True
    assert await timeline(db, order_id) == (
        "PICKING", [(6, "warehouse.picked"), (7, "compensation.started")])
    assert await outbox(db, order_id) == []


async def test_forgetting_nothing_leaves_the_status_alone(
    db: SessionFactory, order_id: str, activity_env: ActivityEnvironment,
) -> None:
    await record(activity_env, db, order_id, 6, "warehouse.picked", task=30)

    assert await forget_from(db, order_id, 36) == []
    assert await timeline(db, order_id) == ("PICKING", [(6, "warehouse.picked")])
