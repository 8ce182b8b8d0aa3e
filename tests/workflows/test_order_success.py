"""Orders that go right: paid, picked, shipped, delivered, and closed when the return
window ends, with every payment method the gateway takes."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.support import checkout
from tests.workflows.checks import (
    HeldStock,
    Level,
    assert_recorded,
    confirm_pick_and_pack,
    event,
    labels,
    money_moved,
    opening_levels,
    payments,
    reach,
    reservations,
    shipment_statuses,
    stock_levels,
)
from tests.workflows.conftest import TIMINGS, Stack
from workflows.order_contract import CARRIER, CUSTOMER_ID, ORDER_STATUS, ORDER_TOTAL
from workflows.order_workflow import OrderWorkflow

TOTAL = 2 * 1999 + 490  # two T-shirts, standard shipping
HAPPY_TIMELINE = [
    ("order.placed", "PLACED"),
    ("payment.authorized", "PAYMENT_AUTHORIZED"),
    ("stock.reserved", "STOCK_RESERVED"),
    ("payment.captured", "PAYMENT_CAPTURED"),
    ("warehouse.pick_requested", "PICKING"),
    ("warehouse.picked", "PICKING"),
    ("warehouse.packed", "PACKED"),
    ("shipment.handed_over", "SHIPPED"),
    ("carrier.label_created", "SHIPPED"),
    ("carrier.picked_up", "SHIPPED"),
    ("carrier.in_transit", "SHIPPED"),
    ("carrier.out_for_delivery", "SHIPPED"),
    ("carrier.delivered", "SHIPPED"),
    ("shipment.delivered", "DELIVERED"),
    ("returns.window_opened", "DELIVERED"),
    ("survey.sent", "DELIVERED"),
    ("survey.expired", "DELIVERED"),
    ("order.completed", "COMPLETED"),
]
TWO_TEES_SHIPPED_FROM_BERLIN = {("TEE-BLK-M", "BER"): 2}


async def test_card_order_is_delivered_and_completes_after_the_return_window(stack: Stack):
    # Given a customer paying two T-shirts by card
    placed = await stack.orders.place(checkout(token="tok_visa"))
    order_id = placed.order.order_id

    # When the order runs its course (the server skips the warehouse, transit and returns waits)
    result = await placed.handle.result()

    # Then it is completed once the return window has elapsed
    assert (result.status, result.failure) == ("COMPLETED", "")
    timeline = await assert_recorded(stack, placed.handle, order_id, "COMPLETED")
    assert [(e.kind, e.status) for e in timeline] == HAPPY_TIMELINE
    assert event(timeline, "warehouse.picked").actor == "warehouse-sim"
    assert event(timeline, "carrier.delivered").actor == "sim-standard"
    window = event(timeline, "order.completed").at - event(timeline, "returns.window_opened").at
    assert window >= timedelta(seconds=TIMINGS.return_window_s)
    # and the two shirts left Berlin: reserved, then shipped, nothing still held
    assert await stock_levels(stack.db) == opening_levels(TWO_TEES_SHIPPED_FROM_BERLIN)
    assert await reservations(stack.db, order_id) == [
        HeldStock("shipped", [("TEE-BLK-M", "BER", 2)])]
    # and the card was charged exactly once, for the total
    view = await placed.handle.query(OrderWorkflow.view)
    ledger = await stack.gateway.ledger(view.payment.authorization)
    assert (ledger.authorized.amount, ledger.captured.amount, ledger.refunded.amount) == (
        TOTAL, TOTAL, 0)
    assert not ledger.voided
    assert await money_moved(stack) == {"authorize": 1, "capture": 1, "void": 0, "refund": 0}
    assert await payments(stack.db, order_id) == [("authorize", TOTAL), ("capture", TOTAL)]
    # and one label was bought and followed to the door
    assert await shipment_statuses(stack.db, order_id) == ["delivered"]
    assert await labels(stack, order_id) == [("delivered", False)]
    assert [s.status for s in view.shipments] == ["delivered"]


@pytest.mark.parametrize(("method", "token"), [
    ("paypal", "tok_mastercard"),
    ("invoice", ""),
    ("gift_card", "gc_10000"),
])
async def test_every_payment_method_pays_for_a_completed_order(stack: Stack, method: str,
                                                                token: str):
    # Given a customer paying with paypal, on invoice or with a 100.00 gift card
    placed = await stack.orders.place(checkout(method=method, token=token))
    order_id = placed.order.order_id

    # When the order runs its course
    result = await placed.handle.result()

    # Then it completes, charged once through that method
    assert result.status == "COMPLETED"
    timeline = await assert_recorded(stack, placed.handle, order_id, "COMPLETED")
    assert [(e.kind, e.status) for e in timeline] == HAPPY_TIMELINE
    view = await placed.handle.query(OrderWorkflow.view)
    ledger = await stack.gateway.ledger(view.payment.authorization)
    assert (ledger.method, ledger.captured.amount, ledger.refunded.amount) == (method, TOTAL, 0)
    assert await money_moved(stack) == {"authorize": 1, "capture": 1, "void": 0, "refund": 0}
    assert await payments(stack.db, order_id) == [("authorize", TOTAL), ("capture", TOTAL)]
    assert await stock_levels(stack.db) == opening_levels(TWO_TEES_SHIPPED_FROM_BERLIN)
    assert await labels(stack, order_id) == [("delivered", False)]


async def test_a_gift_card_is_spent_by_the_capture(stack: Stack):
    # Given a gift card holding 100.00
    placed = await stack.orders.place(checkout(method="gift_card", token="gc_10000"))

    # When an order of 44.88 is paid with it
    result = await placed.handle.result()

    # Then the card holds the rest
    assert result.status == "COMPLETED"
    await assert_recorded(stack, placed.handle, placed.order.order_id, "COMPLETED")
    assert await stack.gateway.gift_card_balance("gc_10000") == 10000 - TOTAL
    assert await payments(stack.db, placed.order.order_id) == [
        ("authorize", TOTAL), ("capture", TOTAL)]


async def test_search_attributes_follow_the_order(stack: Stack, manual_orders):
    # Given an express order waiting for the warehouse
    body = checkout()
    body["shipping"]["method"] = "express"
    placed = await manual_orders.place(body)
    await reach(placed.handle, "PICKING")
    total = 2 * 1999 + 1290

    # Then support can find it as it is now
    attributes = (await placed.handle.describe()).typed_search_attributes
    assert attributes.get(ORDER_STATUS) == "PICKING"
    assert attributes.get(CUSTOMER_ID) == "cus_42"
    assert attributes.get(ORDER_TOTAL) == total
    assert attributes.get(CARRIER) == "sim-express"

    # When it is picked, packed, delivered and closed
    await confirm_pick_and_pack(placed.handle)
    assert (await placed.handle.describe()).typed_search_attributes.get(ORDER_STATUS) == "SHIPPED"
    result = await placed.handle.result()

    # Then the status attribute is current and the others unchanged
    assert result.status == "COMPLETED"
    attributes = (await placed.handle.describe()).typed_search_attributes
    assert attributes.get(ORDER_STATUS) == "COMPLETED"
    assert (attributes.get(CUSTOMER_ID), attributes.get(ORDER_TOTAL),
            attributes.get(CARRIER)) == ("cus_42", total, "sim-express")
    await assert_recorded(stack, placed.handle, placed.order.order_id, "COMPLETED")
    assert await labels(stack, placed.order.order_id) == [("delivered", False)]
    assert await stock_levels(stack.db) == opening_levels(TWO_TEES_SHIPPED_FROM_BERLIN)
    assert await money_moved(stack) == {"authorize": 1, "capture": 1, "void": 0, "refund": 0}


async def test_the_database_keeps_the_same_timeline_as_the_workflow(stack: Stack):
    # Given an order of a mug and a T-shirt, both held in Berlin
    lines = [{"sku": "MUG-LOGO", "quantity": 3}, {"sku": "TEE-BLK-M", "quantity": 1}]
    placed = await stack.orders.place(checkout(lines=lines))

    # When it completes
    await placed.handle.result()

    # Then order_events hold the workflow's timeline seq by seq, and orders its final status
    timeline = await assert_recorded(stack, placed.handle, placed.order.order_id, "COMPLETED")
    assert len(timeline) == len(HAPPY_TIMELINE)
    assert event(timeline, "stock.reserved").detail == "3x MUG-LOGO@BER, 1x TEE-BLK-M@BER"
    levels = await stock_levels(stack.db)
    assert levels[("MUG-LOGO", "BER")] == Level(97, 0)
    assert levels[("TEE-BLK-M", "BER")] == Level(9, 0)
    assert await money_moved(stack) == {"authorize": 1, "capture": 1, "void": 0, "refund": 0}
