"""Parcels that do not arrive at the first try, or at all: the carrier tries again, a lost
parcel is claimed and reshipped, a parcel sent back is restocked and refunded; and orders
that break their shipping method's promise are marked late."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from activities.db.aftercare_tables import CarrierClaimRow
from activities.db.order_repository import OrderRepository
from activities.db.tables import ShipmentRow
from api.aftercare import AftercareService
from api.orders import OrderService
from domain.errors import ActionRefused, InvalidRequest
from tests.support import checkout
from tests.workflows.checks import (
    Level,
    assert_recorded,
    confirm_pick_and_pack,
    deliver_now,
    kinds,
    noted,
    reach,
    stock_levels,
)
from tests.workflows.conftest import Stack
from workflows.order_contract import SHIPPING_LATE, CarrierEvent, WarehouseConfirmation
from workflows.order_workflow import OrderWorkflow

TOTAL = 2 * 1999 + 490


async def shipments(stack: Stack, order_id: str) -> list[ShipmentRow]:
    async with stack.db() as session:
        return list((await session.scalars(select(ShipmentRow).where(
            ShipmentRow.order_id == order_id).order_by(ShipmentRow.id))).all())


async def test_a_failed_delivery_waits_for_the_next_attempt(stack: Stack) -> None:
    # Given an address where the first delivery attempt fails
    placed = await stack.orders.place(checkout(postal_code="99001"))

    result = await placed.handle.result()

    # Then the carrier tried again and the order completed as usual
    assert result.status == "COMPLETED"
    timeline = await assert_recorded(stack, placed.handle, placed.order.order_id, "COMPLETED")
    scans = [k for k in kinds(timeline) if k.startswith("carrier.")]
    assert scans[-3:] == ["carrier.delivery_failed", "carrier.out_for_delivery",
                          "carrier.delivered"]
    [row] = await shipments(stack, placed.order.order_id)
    assert (row.status, row.exception, row.exception_count) == ("delivered", "delivery_failed", 1)
    assert row.delivered_at is not None and row.shipped_at is not None


async def test_a_lost_parcel_is_claimed_and_reshipped_when_support_says_so(
        stack: Stack, manual_orders: OrderService) -> None:
    # Given a shipped order whose carrier reports the parcel lost
    placed = await manual_orders.place(checkout())
    order_id = placed.order.order_id
    await confirm_pick_and_pack(placed.handle)
    lost = (await placed.handle.query(OrderWorkflow.view)).shipments[0].tracking_number
    await placed.handle.signal(OrderWorkflow.carrier_event, CarrierEvent(
        "lost", datetime.now(UTC), "Leipzig hub", "Parcel lost", lost))

    # Then a claim is filed against the carrier and the parcel waits for support
    await noted(placed.handle, "shipment.awaiting_decision")
    async with stack.db() as session:
        claims = (await session.scalars(select(CarrierClaimRow))).all()
    assert [(c.tracking_number, c.reason, c.amount) for c in claims] == [(lost, "lost", 2 * 1999)]
    view = await placed.handle.query(OrderWorkflow.view)
    assert view.shipments[0].awaiting_decision and view.shipments[0].claim

    # When support decides to reship, and the warehouse sends the shirts again
    aftercare = AftercareService(manual_orders)
    with pytest.raises(InvalidRequest, match="must be reship or refund"):
        await aftercare.resolve_delivery(order_id, "shrug")
    await aftercare.resolve_delivery(order_id, "reship", actor="agent-7")
    await noted(placed.handle, "replacement.requested")
    for signal in (OrderWorkflow.confirm_pick, OrderWorkflow.confirm_pack):
        await placed.handle.signal(signal, WarehouseConfirmation("picker-1"))

    # Then the replacement is delivered and the customer paid once
    await stack.env.sleep(timedelta(hours=8))
    await reach(placed.handle, "DELIVERED")
    view = await placed.handle.query(OrderWorkflow.view)
    assert [(s.purpose, s.status) for s in view.shipments] == [
        ("outbound", "lost"), ("replacement", "delivered")]
    assert (view.payment.captured.amount, view.payment.refunded.amount) == (TOTAL, 0)
    assert (await stock_levels(stack.db))[("TEE-BLK-M", "BER")] == Level(10 - 4, 0)
    # and a second decision is refused: nothing waits any more
    with pytest.raises(ActionRefused, match="no parcel of this order is waiting"):
        await aftercare.resolve_delivery(order_id, "refund")


async def test_a_parcel_returned_to_sender_is_restocked_and_refunded(stack: Stack) -> None:
    # Given an address the carrier cannot deliver to after trying
    placed = await stack.orders.place(checkout(postal_code="99002"))
    order_id = placed.order.order_id
    await stack.env.sleep(timedelta(days=1))
    await noted(placed.handle, "shipment.awaiting_decision")

    # Then the shirts are back on Berlin's shelves
    assert (await stock_levels(stack.db))[("TEE-BLK-M", "BER")] == Level(10, 0)

    # When support refunds instead of reshipping
    await AftercareService(stack.orders).resolve_delivery(order_id, "refund")
    result = await placed.handle.result()

    # Then the whole order (goods and shipping) is refunded and the order completes
    assert result.status == "COMPLETED"
    timeline = await assert_recorded(stack, placed.handle, order_id, "COMPLETED")
    assert "order.refunded" in kinds(timeline)
    assert "returns.window_opened" not in kinds(timeline)
    view = await placed.handle.query(OrderWorkflow.view)
    assert view.payment.refunded.amount == TOTAL
    [row] = await shipments(stack, order_id)
    assert row.exception == "returned_to_sender"


async def test_an_order_not_shipped_in_time_is_marked_late(
        stack: Stack, manual_orders: OrderService) -> None:
    # Given a standard order (ships within 2 days, delivers within 5) nobody picks
    placed = await manual_orders.place(checkout())
    order_id = placed.order.order_id
    await reach(placed.handle, "PICKING")

    # When three days pass
    await stack.env.sleep(timedelta(days=3))

    # Then it is marked late: on its timeline, in its search attributes and its record
    event = await noted(placed.handle, "sla.ship_breached")
    assert "2 days" in event.detail
    description = await placed.handle.describe()
    assert description.typed_search_attributes.get(SHIPPING_LATE) is True
    async with stack.db() as session:
        row = await OrderRepository(session).get(order_id)
    assert row is not None and row.ship_sla_breached and not row.delivery_sla_breached

    # When it is finally delivered after day five, the delivery promise is broken too
    await stack.env.sleep(timedelta(days=3))
    await deliver_now(placed.handle)
    view = await placed.handle.query(OrderWorkflow.view)
    assert view.sla_breaches == ["ship", "delivery"]


async def test_an_order_delivered_in_time_is_never_marked_late(stack: Stack) -> None:
    placed = await stack.orders.place(checkout())
    result = await placed.handle.result()
    assert result.status == "COMPLETED"
    timeline = await placed.handle.query(OrderWorkflow.timeline)
    assert not [k for k in kinds(timeline) if k.startswith("sla.")]
    description = await placed.handle.describe()
    assert description.typed_search_attributes.get(SHIPPING_LATE) is None
