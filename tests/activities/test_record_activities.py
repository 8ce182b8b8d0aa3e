"""Record activities against real PostgreSQL: the order and its timeline are written once
however often the workflow retries, and events arriving late never move the status back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.db.catalogue_repository import CatalogueRepository
from activities.db.engine import SessionFactory
from activities.db.order_repository import OrderRepository
from activities.db.tables import OrderLineRow
from activities.records import (
    RecordActivities,
    RecordEventInput,
    RecordOrderInput,
    SlaBreachInput,
)
from api.checkout import parse_checkout
from domain.catalogue import price_order
from domain.order import PricedOrder
from tests.support import checkout, seed

PLACED_AT = datetime(2025, 3, 1, 9, 30, tzinfo=UTC)


@pytest.fixture
async def order(db: SessionFactory) -> PricedOrder:
    """A two-line order priced from the seeded catalogue."""
    await seed(db)
    async with db() as session:
        catalogue = await CatalogueRepository(session).load()
    lines = [{"sku": "TEE-BLK-M", "quantity": 2}, {"sku": "MUG-LOGO", "quantity": 1}]
    return price_order(parse_checkout(checkout(lines=lines)), catalogue)


@pytest.fixture
def records(db: SessionFactory) -> RecordActivities:
    return RecordActivities(db)


def event(order: PricedOrder, seq: int, status: str, kind: str = "step") -> RecordEventInput:
    return RecordEventInput(order.order_id, seq, PLACED_AT + timedelta(minutes=seq), status, kind,
                            "", "system")


async def record_order(env: ActivityEnvironment, records: RecordActivities,
                       order: PricedOrder) -> bool:
    return await env.run(records.record_order, RecordOrderInput(order, "wf-1", PLACED_AT))


async def test_recording_an_order_twice_stores_the_order_and_its_lines_once(
    db: SessionFactory, records: RecordActivities, order: PricedOrder,
    activity_env: ActivityEnvironment,
) -> None:
    assert await record_order(activity_env, records, order) is True
    assert await record_order(activity_env, records, order) is False

    async with db() as session:
        row = await OrderRepository(session).get(order.order_id)
        lines = (await session.scalars(select(OrderLineRow).order_by(OrderLineRow.line_no))).all()
    assert row is not None
    assert (row.status, row.workflow_id, row.grand_total) == ("PLACED", "wf-1", 2 * 1999 + 950 + 490)
    assert [(line.line_no, line.sku, line.quantity, line.unit_price) for line in lines] == [
        (1, "TEE-BLK-M", 2, 1999), (2, "MUG-LOGO", 1, 950)]


async def test_an_event_recorded_twice_with_the_same_seq_is_written_once(
    db: SessionFactory, records: RecordActivities, order: PricedOrder,
    activity_env: ActivityEnvironment,
) -> None:
    await record_order(activity_env, records, order)

    assert await activity_env.run(records.record_event, event(order, 1, "PLACED")) is True
    assert await activity_env.run(records.record_event, event(order, 1, "PLACED")) is False

    async with db() as session:
        events = await OrderRepository(session).events(order.order_id)
    assert [(e.seq, e.status) for e in events] == [(1, "PLACED")]


async def test_events_arriving_out_of_order_leave_the_order_at_the_latest_seqs_status(
    db: SessionFactory, records: RecordActivities, order: PricedOrder,
    activity_env: ActivityEnvironment,
) -> None:
    await record_order(activity_env, records, order)

    for seq, status in [(1, "PLACED"), (3, "STOCK_RESERVED"), (2, "PAYMENT_AUTHORIZED")]:
        await activity_env.run(records.record_event, event(order, seq, status))

    async with db() as session:
        repo = OrderRepository(session)
        row = await repo.get(order.order_id)
        events = await repo.events(order.order_id)
    assert row is not None
    assert (row.status, row.updated_at) == ("STOCK_RESERVED", PLACED_AT + timedelta(minutes=3))
    assert [e.seq for e in events] == [1, 2, 3]


async def test_events_of_one_order_never_touch_another_orders_status(
    db: SessionFactory, records: RecordActivities, order: PricedOrder,
    activity_env: ActivityEnvironment,
) -> None:
    await record_order(activity_env, records, order)
    other = RecordEventInput("ORD-OTHER", 9, PLACED_AT, "CANCELLED", "order.cancelled", "", "support")

    assert await activity_env.run(records.record_event, other) is True

    async with db() as session:
        row = await OrderRepository(session).get(order.order_id)
        count = await session.scalar(select(func.count()).select_from(OrderLineRow))
    assert row is not None and row.status == "PLACED"
    assert count == 2


async def test_a_broken_shipping_promise_flags_the_order_once_per_kind(
    db: SessionFactory, records: RecordActivities, order: PricedOrder,
    activity_env: ActivityEnvironment,
) -> None:
    await record_order(activity_env, records, order)

    await activity_env.run(records.record_sla_breach, SlaBreachInput(order.order_id, "ship"))
    await activity_env.run(records.record_sla_breach, SlaBreachInput(order.order_id, "ship"))
    async with db() as session:
        row = await OrderRepository(session).get(order.order_id)
    assert row is not None
    assert (row.ship_sla_breached, row.delivery_sla_breached) == (True, False)

    await activity_env.run(records.record_sla_breach, SlaBreachInput(order.order_id, "delivery"))
    async with db() as session:
        row = await OrderRepository(session).get(order.order_id)
    assert row is not None
    assert (row.ship_sla_breached, row.delivery_sla_breached) == (True, True)


async def test_an_unknown_kind_of_sla_breach_fails_for_good(
    records: RecordActivities, order: PricedOrder, activity_env: ActivityEnvironment,
) -> None:
    with pytest.raises(ApplicationError) as failure:
        await activity_env.run(records.record_sla_breach, SlaBreachInput(order.order_id, "pack"))

    assert (failure.value.type, failure.value.non_retryable) == ("InvalidSlaKind", True)
