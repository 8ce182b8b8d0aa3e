"""Returns inside the window: an RMA with a label, the parcel tracked back, inspection,
restock or write-off, and a refund or an exchange; and the returns that are refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from temporalio.client import WorkflowHandle

from activities.db.return_repository import ReturnRepository
from activities.db.tables import StockMovementRow
from api.aftercare import AftercareService
from api.orders import OrderService
from domain.errors import ActionRefused, InvalidOrder, InvalidRequest
from tests.support import checkout
from tests.workflows.checks import (
    Level,
    assert_recorded,
    confirm_pick_and_pack,
    deliver_now,
    event,
    kinds,
    noted,
    reach,
    stock_levels,
)
from tests.workflows.conftest import Stack
from workflows.order_contract import CarrierEvent, WarehouseConfirmation
from workflows.order_workflow import OrderWorkflow

TEE = 1999
SHIPPING = 490
RETURN_TRAVELS = timedelta(hours=4)  # the return parcel's scans, one per hourly poll


async def delivered_order(orders: OrderService) -> tuple[str, AftercareService, WorkflowHandle[Any, Any]]:
    placed = await orders.place(checkout())  # two black T-shirts M from Berlin
    await deliver_now(placed.handle)
    return placed.order.order_id, AftercareService(orders), placed.handle


async def test_a_return_inside_the_window_is_received_restocked_and_refunded(
        stack: Stack, manual_orders: OrderService) -> None:
    # Given a delivered order of two shirts
    order_id, aftercare, handle = await delivered_order(manual_orders)

    # When the customer returns one because it is too small
    opened = await aftercare.request_return(order_id, {"TEE-BLK-M": 1}, "size_too_small")

    # Then an RMA with a carrier's return label is opened
    assert opened.rma == f"RMA-{order_id}-1"
    assert opened.label_url.startswith("https://") and opened.tracking_number
    assert (opened.reception, opened.acceptance) == ("awaiting", "pending")
    assert await handle.query(OrderWorkflow.status) == "RETURN_REQUESTED"

    # When the parcel travels back and the warehouse finds the shirt resellable
    await stack.env.sleep(RETURN_TRAVELS)
    view = await aftercare.receive_return(opened.rma, {"TEE-BLK-M": 1}, "resellable")

    # Then the shirt is back on Berlin's shelves and its price (not shipping) is refunded
    assert (view.reception, view.acceptance) == ("received", "accepted")
    assert view.refunded is not None and view.refunded.amount == TEE
    assert await handle.query(OrderWorkflow.status) == "REFUNDED"
    assert (await stock_levels(stack.db))[("TEE-BLK-M", "BER")] == Level(10 - 2 + 1, 0)
    order = await handle.query(OrderWorkflow.view)
    assert order.payment.refunded.amount == TEE
    assert (await stack.gateway.ledger(order.payment.authorization)).refunded.amount == TEE
    async with stack.db() as session:
        stored = await ReturnRepository(session).get(opened.rma)
    assert stored is not None
    assert (stored.reception, stored.acceptance, stored.refund_amount) == (
        "received", "accepted", TEE)

    # And once the window closes the order completes, the return on its timeline
    result = await handle.result()
    assert result.status == "COMPLETED"
    timeline = await assert_recorded(stack, handle, order_id, "COMPLETED")
    assert event(timeline, "return.requested").detail.startswith(f"{opened.rma} SIZE_TOO_SMALL")
    assert "return.in_transit" in kinds(timeline)
    assert event(timeline, "return.refunded").detail == f"{opened.rma}: 19.99 EUR"


async def test_a_defective_return_held_for_review_is_accepted_with_shipping_refunded(
        stack: Stack, manual_orders: OrderService) -> None:
    # Given both shirts returned as defective, and both arrive damaged
    order_id, aftercare, handle = await delivered_order(manual_orders)
    opened = await aftercare.request_return(order_id, {"TEE-BLK-M": 2}, "DEFECTIVE",
                                            "seams open")
    await stack.env.sleep(RETURN_TRAVELS)
    received = await aftercare.receive_return(opened.rma, {"TEE-BLK-M": 2}, "damaged")

    # Then the return waits for support, and nothing was put back into stock
    assert (received.reception, received.acceptance) == ("received", "pending")
    assert await handle.query(OrderWorkflow.status) == "RETURN_RECEIVED"
    assert (await stock_levels(stack.db))[("TEE-BLK-M", "BER")] == Level(10 - 2, 0)
    async with stack.db() as session:
        write_offs = (await session.scalars(select(StockMovementRow).where(
            StockMovementRow.kind == "write_off"))).all()
    assert [(m.sku, m.on_hand_delta) for m in write_offs] == [("TEE-BLK-M", 0)]

    # When support accepts it
    accepted = await aftercare.decide_return(opened.rma, accept=True, actor="agent-7")

    # Then the shop's fault refunds the goods and the shipping: the whole order
    assert accepted.acceptance == "accepted"
    assert accepted.refunded is not None and accepted.refunded.amount == 2 * TEE + SHIPPING
    assert await handle.query(OrderWorkflow.status) == "REFUNDED"


async def test_a_rejected_return_refunds_nothing_and_the_order_still_completes(
        stack: Stack, manual_orders: OrderService) -> None:
    order_id, aftercare, handle = await delivered_order(manual_orders)
    opened = await aftercare.request_return(order_id, {"TEE-BLK-M": 1}, "CHANGED_MIND")
    await stack.env.sleep(RETURN_TRAVELS)
    await aftercare.receive_return(opened.rma, {"TEE-BLK-M": 1}, "damaged")

    # When support rejects it: the shirt came back worn
    rejected = await aftercare.decide_return(opened.rma, accept=False, reason="worn and washed")

    # Then no money moves and the order is back to DELIVERED until its window closes
    assert (rejected.acceptance, rejected.rejection_reason) == ("rejected", "worn and washed")
    assert await handle.query(OrderWorkflow.status) == "DELIVERED"
    view = await handle.query(OrderWorkflow.view)
    assert view.payment.refunded.amount == 0
    # and a second decision is refused with the reason
    with pytest.raises(ActionRefused, match="already been rejected"):
        await aftercare.decide_return(opened.rma, accept=True)
    result = await handle.result()
    assert result.status == "COMPLETED"


async def test_returning_more_than_was_delivered_is_refused(
        stack: Stack, manual_orders: OrderService) -> None:
    order_id, aftercare, handle = await delivered_order(manual_orders)

    with pytest.raises(ActionRefused, match=r"3x TEE-BLK-M exceeds what can be returned \(2\)"):
        await aftercare.request_return(order_id, {"TEE-BLK-M": 3}, "CHANGED_MIND")
    with pytest.raises(ActionRefused, match="MUG-LOGO was not delivered"):
        await aftercare.request_return(order_id, {"MUG-LOGO": 1}, "CHANGED_MIND")
    with pytest.raises(ActionRefused, match="OTHER needs a comment"):
        await aftercare.request_return(order_id, {"TEE-BLK-M": 1}, "OTHER")
    with pytest.raises(InvalidRequest, match="unknown return reason"):
        await aftercare.request_return(order_id, {"TEE-BLK-M": 1}, "UGLY")

    # A first return of both shirts leaves nothing to return a second time
    await aftercare.request_return(order_id, {"TEE-BLK-M": 2}, "ARRIVED_LATE")
    with pytest.raises(ActionRefused, match="not delivered with this order, or is returned"):
        await aftercare.request_return(order_id, {"TEE-BLK-M": 1}, "CHANGED_MIND")
    # and the refusals changed nothing: one return, one RMA
    assert len((await handle.query(OrderWorkflow.view)).returns) == 1


async def test_a_return_before_delivery_or_after_the_window_is_refused(
        stack: Stack, manual_orders: OrderService) -> None:
    placed = await manual_orders.place(checkout())
    aftercare = AftercareService(manual_orders)
    await confirm_pick_and_pack(placed.handle)

    with pytest.raises(ActionRefused, match="order is SHIPPED: returns open once it is delivered"):
        await aftercare.request_return(placed.order.order_id, {"TEE-BLK-M": 1}, "CHANGED_MIND")

    # When it is delivered and the 30-day window passes
    await placed.handle.signal(OrderWorkflow.carrier_event, CarrierEvent(
        "delivered", datetime.now(UTC), "Berlin, DE"))
    await reach(placed.handle, "DELIVERED")
    await stack.env.sleep(timedelta(days=31))
    with pytest.raises(ActionRefused, match="(return window has closed|already COMPLETED)"):
        await aftercare.request_return(placed.order.order_id, {"TEE-BLK-M": 1}, "CHANGED_MIND")


async def test_an_exchange_sends_the_other_size_instead_of_a_refund(
        stack: Stack, manual_orders: OrderService) -> None:
    order_id, aftercare, handle = await delivered_order(manual_orders)

    # When the customer exchanges one M for an L
    opened = await aftercare.request_return(order_id, {"TEE-BLK-M": 1}, "SIZE_TOO_SMALL",
                                            exchange={"TEE-BLK-M": "TEE-BLK-L"})
    assert opened.resolution == "exchange"
    with pytest.raises(InvalidOrder, match="unknown SKU"):
        await aftercare.request_return(order_id, {"TEE-BLK-M": 1}, "SIZE_TOO_SMALL",
                                       exchange={"TEE-BLK-M": "TEE-XXL"})
    await stack.env.sleep(RETURN_TRAVELS)
    view = await aftercare.receive_return(opened.rma, {"TEE-BLK-M": 1}, "resellable")
    assert view.acceptance == "accepted"

    # Then the warehouse picks and packs the L, and the carrier brings it
    await noted(handle, "replacement.requested")
    await confirm_pick_and_pack_replacement(handle)
    await stack.env.sleep(timedelta(hours=8))
    await reach(handle, "DELIVERED")

    # And no money moved; the M is back in stock and the L left Berlin
    order = await handle.query(OrderWorkflow.view)
    assert order.payment.refunded.amount == 0
    assert [s.purpose for s in order.shipments] == ["outbound", "replacement"]
    levels = await stock_levels(stack.db)
    assert levels[("TEE-BLK-M", "BER")] == Level(10 - 2 + 1, 0)
    assert levels[("TEE-BLK-L", "BER")] == Level(3 - 1, 0)
    timeline = await handle.query(OrderWorkflow.timeline)
    assert event(timeline, "return.exchanged").detail == opened.rma


async def confirm_pick_and_pack_replacement(handle: WorkflowHandle[Any, Any]) -> None:
    for signal in (OrderWorkflow.confirm_pick, OrderWorkflow.confirm_pack):
        await handle.signal(signal, WarehouseConfirmation("picker-1"))
