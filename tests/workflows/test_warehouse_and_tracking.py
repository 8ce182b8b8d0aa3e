"""The warehouse's confirmations, the carrier's pushed events and the return window."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from activities.carriers.simulator import simulated_carriers
from activities.db.order_repository import OrderRepository, ShipmentRepository
from tests.support import checkout
from tests.workflows.checks import (
    WAIT_S,
    HeldStock,
    assert_recorded,
    confirm_pick_and_pack,
    deliver_now,
    event,
    kinds,
    labels,
    money_moved,
    noted,
    opening_levels,
    reach,
    reservations,
    stock_levels,
)
from tests.workflows.conftest import TIMINGS, Stack, manual_service, running_stack
from tests.workflows.fakes import Held
from workflows.order_contract import CarrierEvent, WarehouseConfirmation
from workflows.order_workflow import OrderWorkflow

SHIPPED = {("TEE-BLK-M", "BER"): 2}
CHARGED_ONCE = {"authorize": 1, "capture": 1, "void": 0, "refund": 0}


async def test_pack_before_pick_is_refused_and_pick_then_pack_ships(stack: Stack, manual_orders):
    # Given a paid order waiting for the warehouse staff
    placed = await manual_orders.place(checkout())
    order_id = placed.order.order_id
    await reach(placed.handle, "PICKING")

    # When the packer confirms before anyone has picked
    await placed.handle.signal(OrderWorkflow.confirm_pack, WarehouseConfirmation("packer-2"))

    # Then the confirmation is refused on the timeline and the order keeps waiting
    refused = await noted(placed.handle, "warehouse.pack_refused")
    assert (refused.actor, refused.detail) == ("packer-2", "the order has not been picked")
    assert await placed.handle.query(OrderWorkflow.status) == "PICKING"

    # When the picker and then the packer confirm
    await placed.handle.signal(OrderWorkflow.confirm_pick, WarehouseConfirmation("picker-1"))
    await placed.handle.signal(OrderWorkflow.confirm_pack, WarehouseConfirmation("packer-2"))

    # Then the parcel ships, each step credited to the person who did it
    await reach(placed.handle, "SHIPPED")
    result = await placed.handle.result()
    assert result.status == "COMPLETED"
    timeline = await assert_recorded(stack, placed.handle, order_id, "COMPLETED")
    assert [(e.kind, e.actor) for e in timeline if e.kind.startswith("warehouse.")] == [
        ("warehouse.pick_requested", "system"), ("warehouse.pack_refused", "packer-2"),
        ("warehouse.picked", "picker-1"), ("warehouse.packed", "packer-2")]
    assert await stock_levels(stack.db) == opening_levels(SHIPPED)
    assert await reservations(stack.db, order_id) == [
        HeldStock("shipped", [("TEE-BLK-M", "BER", 2)])]
    assert await money_moved(stack) == CHARGED_ONCE


async def test_a_carrier_event_before_shipping_is_ignored(stack: Stack, manual_orders):
    # Given an order still in the warehouse
    placed = await manual_orders.place(checkout())
    await reach(placed.handle, "PICKING")

    # When a carrier pushes "delivered" for it
    await placed.handle.signal(OrderWorkflow.carrier_event,
                               CarrierEvent("delivered", datetime.now(UTC)))

    # Then the event is noted as ignored and the order is not delivered
    ignored = await noted(placed.handle, "carrier.ignored")
    assert ignored.detail == "delivered: order is PICKING"
    assert await placed.handle.query(OrderWorkflow.status) == "PICKING"
    await deliver_now(placed.handle)
    result = await placed.handle.result()
    assert result.status == "COMPLETED"
    timeline = await assert_recorded(stack, placed.handle, placed.order.order_id, "COMPLETED")
    assert kinds(timeline).count("shipment.delivered") == 1
    assert await stock_levels(stack.db) == opening_levels(SHIPPED)
    assert await money_moved(stack) == CHARGED_ONCE


async def test_a_pushed_delivery_event_delivers_before_the_next_poll(stack: Stack, manual_orders):
    # Given a shipped order whose tracking is polled hourly
    placed = await manual_orders.place(checkout())
    order_id = placed.order.order_id
    await deliver_now(placed.handle)  # the carrier pushes "delivered" right after hand-over

    # Then the order is delivered within the first poll interval, skipping the transit scans
    result = await placed.handle.result()
    assert result.status == "COMPLETED"
    timeline = await assert_recorded(stack, placed.handle, order_id, "COMPLETED")
    delivered = event(timeline, "shipment.delivered")
    handed_over = event(timeline, "shipment.handed_over")
    assert delivered.at - handed_over.at < timedelta(seconds=TIMINGS.tracking_poll_s)
    assert event(timeline, "carrier.delivered").actor == "sim-standard"
    assert "carrier.in_transit" not in kinds(timeline)
    view = await placed.handle.query(OrderWorkflow.view)
    assert [s.status for s in view.shipments] == ["delivered"]
    async with stack.db() as session:
        rows = await ShipmentRepository(session).for_order(order_id)
    assert [row.status for row in rows] == ["delivered"]
    assert len(await labels(stack, order_id)) == 1
    assert await stock_levels(stack.db) == opening_levels(SHIPPED)
    assert await money_moved(stack) == CHARGED_ONCE


async def test_a_poll_answering_after_a_pushed_delivery_does_not_undo_it(temporal_env, db):
    # Given a shipped order whose first tracking poll is still waiting for the carrier
    carriers = simulated_carriers(db, latency_ms=0)
    held = Held(carriers["sim-standard"], "track")
    async with running_stack(temporal_env, db, carriers={**carriers, "sim-standard": held}) as stack:
        placed = await manual_service(stack).place(checkout())
        order_id = placed.order.order_id
        await confirm_pick_and_pack(placed.handle)
        await asyncio.wait_for(held.reached.wait(), WAIT_S)

        # When the carrier pushes "delivered", and only then the poll answers with older scans
        await placed.handle.signal(OrderWorkflow.carrier_event,
                                   CarrierEvent("delivered", datetime.now(UTC)))
        await noted(placed.handle, "carrier.delivered")
        held.opened.set()
        await noted(placed.handle, "carrier.picked_up")

        # Then the order and its parcel stay delivered; the late scans only join the timeline
        await reach(placed.handle, "DELIVERED")
        view = await placed.handle.query(OrderWorkflow.view)
        assert [s.status for s in view.shipments] == ["delivered"]
        result = await placed.handle.result()
        assert result.status == "COMPLETED"
        timeline = await assert_recorded(stack, placed.handle, order_id, "COMPLETED")
        assert kinds(timeline).index("carrier.delivered") < kinds(timeline).index(
            "carrier.picked_up")
        assert await stock_levels(stack.db) == opening_levels(SHIPPED)
        assert await money_moved(stack) == CHARGED_ONCE


async def test_a_delivered_order_stays_open_until_the_return_window_closes(stack: Stack,
                                                                         manual_orders):
    # Given an order delivered just now, with a 30-day return window
    placed = await manual_orders.place(checkout())
    order_id = placed.order.order_id
    await deliver_now(placed.handle)

    # When 29 days pass
    await stack.env.sleep(timedelta(days=29))

    # Then it is still DELIVERED, in the workflow and in the database
    assert await placed.handle.query(OrderWorkflow.status) == "DELIVERED"
    async with stack.db() as session:
        row = await OrderRepository(session).get(order_id)
    assert row is not None and row.status == "DELIVERED"

    # When the window's timer fires
    result = await placed.handle.result()

    # Then the order is COMPLETED, exactly one window after it opened
    assert result.status == "COMPLETED"
    timeline = await assert_recorded(stack, placed.handle, order_id, "COMPLETED")
    assert kinds(timeline)[-4:] == ["returns.window_opened", "survey.sent", "survey.expired",
                                    "order.completed"]
    opened, completed = timeline[-4].at, timeline[-1].at
    assert opened + timedelta(seconds=TIMINGS.return_window_s) <= completed
    assert completed - opened < timedelta(seconds=TIMINGS.return_window_s + 60)
    assert await stock_levels(stack.db) == opening_levels(SHIPPED)
    assert await money_moved(stack) == CHARGED_ONCE
