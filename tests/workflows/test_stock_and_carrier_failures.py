"""Orders the warehouses cannot fill or the carrier will not take, and orders that need
two warehouses."""

from __future__ import annotations

import pytest

from tests.support import checkout
from tests.workflows.checks import (
    HeldStock,
    assert_recorded,
    event,
    kinds,
    labels,
    money_moved,
    opening_levels,
    payments,
    reservations,
    shipment_statuses,
    stock_levels,
)
from tests.workflows.conftest import Stack
from workflows.order_workflow import OrderWorkflow


@pytest.mark.parametrize(("lines", "total", "shortage"), [
    ([{"sku": "TEE-BLK-M", "quantity": 20}], 20 * 1999 + 490, "TEE-BLK-M short by 5"),
    ([{"sku": "CAP-NAVY", "quantity": 2}], 2 * 1490 + 490, "CAP-NAVY short by 1"),
], ids=["tees", "caps"])
async def test_a_stock_shortage_fails_the_order_and_voids_the_authorization(
        stack: Stack, lines: list, total: int, shortage: str):
    # Given an order for more than the warehouses hold together
    placed = await stack.orders.place(checkout(lines=lines))
    order_id = placed.order.order_id

    # When the order runs
    result = await placed.handle.result()

    # Then it fails naming the shortage, and the authorization is voided, not captured
    assert result.status == "FAILED"
    assert result.failure == f"not enough stock: {shortage}"
    timeline = await assert_recorded(stack, placed.handle, order_id, "FAILED")
    assert kinds(timeline) == ["order.placed", "payment.authorized", "compensation.started",
                               "payment.voided", "order.failed"]
    view = await placed.handle.query(OrderWorkflow.view)
    ledger = await stack.gateway.ledger(view.payment.authorization)
    assert (ledger.authorized.amount, ledger.captured.amount, ledger.voided) == (total, 0, True)
    assert await money_moved(stack) == {"authorize": 1, "capture": 0, "void": 1, "refund": 0}
    assert await payments(stack.db, order_id) == [("authorize", total), ("void", total)]
    # and nothing is held
    assert await stock_levels(stack.db) == opening_levels()
    assert await reservations(stack.db, order_id) == []
    assert await labels(stack, order_id) == []


async def test_an_order_bigger_than_one_warehouse_is_split_across_two(stack: Stack):
    # Given 12 T-shirts wanted, with 10 in Berlin and 5 in Hamburg
    placed = await stack.orders.place(checkout(lines=[{"sku": "TEE-BLK-M", "quantity": 12}]))
    order_id = placed.order.order_id

    # When the order runs
    result = await placed.handle.result()

    # Then Berlin (first by priority) gives all 10 and Hamburg the other 2, and each
    # warehouse ships its own parcel
    assert result.status == "COMPLETED"
    timeline = await assert_recorded(stack, placed.handle, order_id, "COMPLETED")
    assert event(timeline, "stock.reserved").detail == "10x TEE-BLK-M@BER, 2x TEE-BLK-M@HAM"
    assert await reservations(stack.db, order_id) == [
        HeldStock("shipped", [("TEE-BLK-M", "BER", 10), ("TEE-BLK-M", "HAM", 2)])]
    assert await stock_levels(stack.db) == opening_levels(
        {("TEE-BLK-M", "BER"): 10, ("TEE-BLK-M", "HAM"): 2})
    total = 12 * 1999 + 490
    assert await payments(stack.db, order_id) == [("authorize", total), ("capture", total)]
    assert await money_moved(stack) == {"authorize": 1, "capture": 1, "void": 0, "refund": 0}
    assert await labels(stack, order_id) == [("delivered", False), ("delivered", False)]


async def test_a_rejected_address_fails_the_order_and_gives_everything_back(stack: Stack):
    # Given an address the carrier does not deliver to
    placed = await stack.orders.place(checkout(postal_code="00000"))
    order_id = placed.order.order_id

    # When the order has been paid, picked and packed and the label is bought
    result = await placed.handle.result()

    # Then it fails with the carrier's reason, and compensation runs in reverse
    assert result.status == "FAILED"
    assert result.failure == "sim-standard does not deliver to 00000"
    timeline = await assert_recorded(stack, placed.handle, order_id, "FAILED")
    assert kinds(timeline)[-5:] == ["warehouse.packed", "compensation.started", "stock.released",
                                    "payment.refunded", "order.failed"]
    # and the stock is salable again, untouched
    assert await stock_levels(stack.db) == opening_levels()
    assert await reservations(stack.db, order_id) == [
        HeldStock("released", [("TEE-BLK-M", "BER", 2)])]
    # and the capture is refunded in full, once
    total = 2 * 1999 + 490
    view = await placed.handle.query(OrderWorkflow.view)
    assert (view.payment.captured.amount, view.payment.refunded.amount) == (total, total)
    ledger = await stack.gateway.ledger(view.payment.authorization)
    assert (ledger.captured.amount, ledger.refunded.amount) == (total, total)
    assert await money_moved(stack) == {"authorize": 1, "capture": 1, "void": 0, "refund": 1}
    assert await payments(stack.db, order_id) == [
        ("authorize", total), ("capture", total), ("refund", total)]
    # and no label exists
    assert await labels(stack, order_id) == []
    assert await shipment_statuses(stack.db, order_id) == []
