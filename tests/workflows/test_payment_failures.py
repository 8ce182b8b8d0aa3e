"""Payments the gateway refuses, and payments it only accepts on a retry."""

from __future__ import annotations

import pytest

from tests.support import checkout
from tests.workflows.checks import (
    HeldStock,
    assert_recorded,
    kinds,
    labels,
    money_moved,
    opening_levels,
    payments,
    reservations,
    stock_levels,
)
from tests.workflows.conftest import Stack

TOTAL = 2 * 1999 + 490
NOTHING_MOVED = {"authorize": 0, "capture": 0, "void": 0, "refund": 0}


@pytest.mark.parametrize(("method", "token", "decline"), [
    ("card", "tok_declined", "card_declined"),
    ("card", "tok_insufficient_funds", "insufficient_funds"),
    ("paypal", "tok_stolen", "invalid_token"),
    ("gift_card", "gc_1000", "insufficient_funds"),
])
async def test_a_declined_payment_fails_the_order_before_anything_is_held(
        stack: Stack, method: str, token: str, decline: str):
    # Given a customer whose payment the issuer will decline
    placed = await stack.orders.place(checkout(method=method, token=token))
    order_id = placed.order.order_id

    # When the order runs
    result = await placed.handle.result()

    # Then it ends in PAYMENT_FAILED with the issuer's reason, after a single attempt
    assert result.status == "PAYMENT_FAILED"
    assert result.failure.startswith(f"{decline}: ")
    timeline = await assert_recorded(stack, placed.handle, order_id, "PAYMENT_FAILED")
    assert kinds(timeline) == ["order.placed", "compensation.started", "payment.failed"]
    operations = await stack.gateway.operations_for(placed.workflow_id)
    assert [(op.kind, op.status, op.decline_code, op.attempts) for op in operations] == [
        ("authorize", "declined", decline, 1)]
    # and nothing is held: no stock, no authorization, no charge, no label
    assert await stock_levels(stack.db) == opening_levels()
    assert await reservations(stack.db, order_id) == []
    assert await stack.gateway.authorizations_for("cus_42") == []
    assert await money_moved(stack) == NOTHING_MOVED
    assert await payments(stack.db, order_id) == []
    assert await labels(stack, order_id) == []


async def test_a_flaky_issuer_is_retried_and_charges_exactly_once(stack: Stack):
    # Given an issuer that times out twice before it answers
    placed = await stack.orders.place(checkout(token="tok_flaky"))
    order_id = placed.order.order_id

    # When the order runs
    result = await placed.handle.result()

    # Then the authorization was retried under one idempotency key and the order completes
    assert result.status == "COMPLETED"
    timeline = await assert_recorded(stack, placed.handle, order_id, "COMPLETED")
    assert kinds(timeline).count("payment.authorized") == 1
    operations = {op.kind: op for op in await stack.gateway.operations_for(placed.workflow_id)}
    assert (operations["authorize"].attempts, operations["authorize"].status) == (3, "authorized")
    assert (operations["capture"].attempts, operations["capture"].status) == (1, "captured")
    # and the money moved once each way
    assert await money_moved(stack) == {"authorize": 1, "capture": 1, "void": 0, "refund": 0}
    assert await payments(stack.db, order_id) == [("authorize", TOTAL), ("capture", TOTAL)]
    (authorization,) = await stack.gateway.authorizations_for("cus_42")
    assert (authorization.authorized.amount, authorization.captured.amount) == (TOTAL, TOTAL)
    assert await reservations(stack.db, order_id) == [
        HeldStock("shipped", [("TEE-BLK-M", "BER", 2)])]
    assert await stock_levels(stack.db) == opening_levels({("TEE-BLK-M", "BER"): 2})
