"""Cancelling an order: allowed until the parcel leaves the warehouse, refused after."""

from __future__ import annotations

import asyncio

import pytest
from temporalio.client import WorkflowUpdateFailedError, WorkflowUpdateStage

from activities.carriers.simulator import simulated_carriers
from domain.errors import ActionRefused
from tests.support import checkout
from tests.workflows.checks import (
    WAIT_S,
    HeldStock,
    assert_recorded,
    confirm_pick_and_pack,
    event,
    kinds,
    labels,
    money_moved,
    noted,
    opening_levels,
    payments,
    reach,
    reservations,
    shipment_statuses,
    stock_levels,
)
from tests.workflows.conftest import Stack, manual_service, running_stack
from tests.workflows.fakes import Held
from workflows.order_contract import CancelRequest, WarehouseConfirmation
from workflows.order_workflow import OrderWorkflow

TOTAL = 2 * 1999 + 490
UNWOUND_AFTER_CAPTURE = ["compensation.started", "stock.released", "payment.refunded",
                         "order.cancelled"]
SHIPPED = {("TEE-BLK-M", "BER"): 2}


async def assert_paid_back_and_released(stack: Stack, order_id: str) -> None:
    """The capture is refunded in full, once, and the held stock is salable again."""
    assert await stock_levels(stack.db) == opening_levels()
    assert await reservations(stack.db, order_id) == [
        HeldStock("released", [("TEE-BLK-M", "BER", 2)])]
    assert await money_moved(stack) == {"authorize": 1, "capture": 1, "void": 0, "refund": 1}
    assert await payments(stack.db, order_id) == [
        ("authorize", TOTAL), ("capture", TOTAL), ("refund", TOTAL)]
    (ledger,) = await stack.gateway.authorizations_for("cus_42")
    assert (ledger.captured.amount, ledger.refunded.amount) == (TOTAL, TOTAL)


async def test_cancel_while_picking_refunds_the_capture_and_releases_the_stock(
        stack: Stack, manual_orders):
    # Given a paid order waiting in PICKING for the warehouse
    placed = await manual_orders.place(checkout())
    order_id = placed.order.order_id
    await reach(placed.handle, "PICKING")

    # When support cancels it through the request_cancel update
    view = await stack.orders.cancel(order_id, "customer changed their mind", actor="agent-7")

    # Then the update answers once the order is CANCELLED, and compensation ran in reverse
    assert (view.status, view.failure) == ("CANCELLED", "customer changed their mind")
    assert view.payment.refunded.amount == TOTAL
    result = await placed.handle.result()
    assert (result.status, result.failure) == ("CANCELLED", "customer changed their mind")
    timeline = await assert_recorded(stack, placed.handle, order_id, "CANCELLED")
    assert kinds(timeline)[-5:] == ["warehouse.pick_requested", *UNWOUND_AFTER_CAPTURE]
    assert event(timeline, "order.cancelled").actor == "agent-7"
    await assert_paid_back_and_released(stack, order_id)
    assert await labels(stack, order_id) == []


async def test_cancel_by_signal_cancels_the_order(stack: Stack, manual_orders):
    # Given a paid order waiting in PICKING
    placed = await manual_orders.place(checkout())
    await reach(placed.handle, "PICKING")

    # When the cancel signal arrives
    await placed.handle.signal(OrderWorkflow.cancel_signal, CancelRequest("fraud check", "risk"))

    # Then the order is CANCELLED and everything is given back
    result = await placed.handle.result()
    assert (result.status, result.failure) == ("CANCELLED", "fraud check")
    timeline = await assert_recorded(stack, placed.handle, placed.order.order_id, "CANCELLED")
    assert kinds(timeline)[-4:] == UNWOUND_AFTER_CAPTURE
    assert event(timeline, "compensation.started").actor == "risk"
    await assert_paid_back_and_released(stack, placed.order.order_id)


async def test_cancel_after_shipping_is_refused_by_the_update(stack: Stack, manual_orders):
    # Given an order that has been handed to the carrier
    placed = await manual_orders.place(checkout())
    order_id = placed.order.order_id
    await confirm_pick_and_pack(placed.handle)

    # When support tries to cancel it
    with pytest.raises(ActionRefused, match="left the warehouse") as refused:
        await stack.orders.cancel(order_id, "too late")
    with pytest.raises(WorkflowUpdateFailedError):
        await placed.handle.execute_update(OrderWorkflow.cancel_update, CancelRequest("too late"))

    # Then the refusal says why, and the order carries on to completion, charged once
    assert str(refused.value) == (
        "order is SHIPPED: it has left the warehouse and can no longer be cancelled")
    result = await placed.handle.result()
    assert result.status == "COMPLETED"
    timeline = await assert_recorded(stack, placed.handle, order_id, "COMPLETED")
    assert not {"compensation.started", "cancel.refused"} & set(kinds(timeline))
    assert await stock_levels(stack.db) == opening_levels(SHIPPED)
    assert await money_moved(stack) == {"authorize": 1, "capture": 1, "void": 0, "refund": 0}
    assert await labels(stack, order_id) == [("delivered", False)]


async def test_cancel_signal_after_shipping_is_refused_on_the_timeline(stack: Stack,
                                                                      manual_orders):
    # Given an order that has been handed to the carrier
    placed = await manual_orders.place(checkout())
    await confirm_pick_and_pack(placed.handle)

    # When a cancel signal arrives
    await placed.handle.signal(OrderWorkflow.cancel_signal, CancelRequest("too late", "agent-3"))

    # Then the timeline records the refusal and the order still completes
    refusal = await noted(placed.handle, "cancel.refused")
    assert (refusal.status, refusal.actor) == ("SHIPPED", "agent-3")
    assert "left the warehouse" in refusal.detail
    result = await placed.handle.result()
    assert result.status == "COMPLETED"
    await assert_recorded(stack, placed.handle, placed.order.order_id, "COMPLETED")
    assert await stock_levels(stack.db) == opening_levels(SHIPPED)
    assert await money_moved(stack) == {"authorize": 1, "capture": 1, "void": 0, "refund": 0}
    assert await reservations(stack.db, placed.order.order_id) == [
        HeldStock("shipped", [("TEE-BLK-M", "BER", 2)])]


async def test_cancel_of_a_completed_order_is_refused(stack: Stack):
    # Given an order that has completed
    placed = await stack.orders.place(checkout())
    await placed.handle.result()

    # When support tries to cancel it
    with pytest.raises(ActionRefused, match="already COMPLETED"):
        await stack.orders.cancel(placed.order.order_id, "changed mind")

    # Then nothing changes
    await assert_recorded(stack, placed.handle, placed.order.order_id, "COMPLETED")
    assert await stock_levels(stack.db) == opening_levels(SHIPPED)
    assert await money_moved(stack) == {"authorize": 1, "capture": 1, "void": 0, "refund": 0}


async def test_cancel_while_the_label_is_bought_voids_the_label(temporal_env, db):
    # Given a packed order whose label purchase is still in flight at the carrier
    carriers = simulated_carriers(db, latency_ms=0)
    held = Held(carriers["sim-standard"], "create_shipment")
    async with running_stack(temporal_env, db, carriers={**carriers, "sim-standard": held}) as stack:
        placed = await manual_service(stack).place(checkout())
        order_id = placed.order.order_id
        await reach(placed.handle, "PICKING")
        await placed.handle.signal(OrderWorkflow.confirm_pick, WarehouseConfirmation())
        await placed.handle.signal(OrderWorkflow.confirm_pack, WarehouseConfirmation())
        await asyncio.wait_for(held.reached.wait(), WAIT_S)
        assert await placed.handle.query(OrderWorkflow.status) == "PACKED"

        # When support cancels before the label comes back
        cancelling = await placed.handle.start_update(
            OrderWorkflow.cancel_update, CancelRequest("address typo"),
            wait_for_stage=WorkflowUpdateStage.ACCEPTED)
        held.opened.set()
        _ = await cancelling.result()  # mypy types it as a coroutine
        view = await placed.handle.query(OrderWorkflow.view)

        # Then the cancel wins: the new label is voided, the stock released, the money refunded
        assert view.status == "CANCELLED"
        assert [s.status for s in view.shipments] == ["cancelled"]
        result = await placed.handle.result()
        assert result.status == "CANCELLED"
        timeline = await assert_recorded(stack, placed.handle, order_id, "CANCELLED")
        assert kinds(timeline)[-6:] == ["warehouse.packed", "compensation.started",
                                        "shipment.cancelled", *UNWOUND_AFTER_CAPTURE[1:]]
        assert "shipment.handed_over" not in kinds(timeline)
        assert await shipment_statuses(stack.db, order_id) == ["cancelled"]
        assert await labels(stack, order_id) == [("cancelled", True)]
        await assert_paid_back_and_released(stack, order_id)
