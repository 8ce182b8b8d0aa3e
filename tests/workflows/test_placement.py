"""Placing orders: exactly once per checkout, and never for a payload that cannot be one."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import func, select
from temporalio.service import RPCError, RPCStatusCode

from activities.db.tables import OrderRow
from api.orders import DuplicateOrder, OrderNotFound
from domain.errors import InvalidOrder
from tests.support import checkout
from tests.workflows.checks import assert_recorded, money_moved, opening_levels, stock_levels
from tests.workflows.conftest import Stack
from workflows.order_contract import order_workflow_id

TOTAL = 2 * 1999 + 490
Body = dict[str, Any]


async def orders_recorded(stack: Stack) -> int:
    async with stack.db() as session:
        return await session.scalar(select(func.count()).select_from(OrderRow)) or 0


async def assert_no_workflow(stack: Stack, order_id: str) -> None:
    with pytest.raises(RPCError) as missing:
        await stack.env.client.get_workflow_handle(order_workflow_id(order_id)).describe()
    assert missing.value.status == RPCStatusCode.NOT_FOUND
    with pytest.raises(OrderNotFound):
        await stack.orders.view(order_id)


async def test_placing_the_same_checkout_twice_starts_one_order_and_charges_once(stack: Stack):
    # Given a checkout the storefront submits twice (a double click, a retried request)
    body = checkout()

    # When both submissions arrive
    first = await stack.orders.place(body)
    second = await stack.orders.place(body)

    # Then the second finds the first's workflow
    assert (first.created, second.created) == (True, False)
    assert second.workflow_id == first.workflow_id
    assert (await second.handle.describe()).run_id == (await first.handle.describe()).run_id
    result = await first.handle.result()
    assert result.status == "COMPLETED"
    await assert_recorded(stack, first.handle, first.order.order_id, "COMPLETED")
    # and the customer was charged once, for one order's stock
    assert await money_moved(stack) == {"authorize": 1, "capture": 1, "void": 0, "refund": 0}
    assert await orders_recorded(stack) == 1
    assert await stock_levels(stack.db) == opening_levels({("TEE-BLK-M", "BER"): 2})
    # and placing it once more after completion still does not start a new order
    assert (await stack.orders.place(body)).created is False


async def test_reusing_an_order_id_for_another_checkout_is_refused(stack: Stack):
    # Given an order placed for two T-shirts
    body = checkout()
    placed = await stack.orders.place(body)

    # When another checkout arrives with the same order id but five T-shirts
    other = {**body, "lines": [{"sku": "TEE-BLK-M", "quantity": 5}]}
    with pytest.raises(DuplicateOrder, match="already placed with a different body"):
        await stack.orders.place(other)

    # Then the original order runs on untouched
    result = await placed.handle.result()
    assert result.status == "COMPLETED"
    await assert_recorded(stack, placed.handle, placed.order.order_id, "COMPLETED")
    assert await money_moved(stack) == {"authorize": 1, "capture": 1, "void": 0, "refund": 0}
    (ledger,) = await stack.gateway.authorizations_for("cus_42")
    assert ledger.captured.amount == TOTAL
    assert await stock_levels(stack.db) == opening_levels({("TEE-BLK-M", "BER"): 2})


def _set(path: str, value: Any) -> Callable[[Body], None]:
    *parents, leaf = path.split(".")

    def change(body: Body) -> None:
        node = body
        for part in parents:
            node = node[part]
        node[leaf] = value
    return change


def _drop_city(body: Body) -> None:
    del body["shipping"]["address"]["city"]


MALFORMED: dict[str, tuple[Callable[[Body], None], str]] = {
    "unknown sku": (_set("lines", [{"sku": "HAT-RED", "quantity": 1}]), "lines[0].sku"),
    "quantity zero": (_set("lines", [{"sku": "TEE-BLK-M", "quantity": 0}]), "lines[0].quantity"),
    "no lines": (_set("lines", []), "lines"),
    "wrong currency": (_set("currency", "USD"), "currency"),
    "unknown payment method": (_set("payment.method", "bitcoin"), "payment.method"),
    "unknown shipping method": (_set("shipping.method", "teleport"), "shipping.method"),
    "missing address field": (_drop_city, "shipping.address.city"),
    "bad email": (_set("customer.email", "ada-at-example"), "customer.email"),
}


@pytest.mark.parametrize("case", list(MALFORMED))
async def test_a_malformed_checkout_is_refused_naming_the_field_and_starts_nothing(
        stack: Stack, case: str):
    # Given a checkout with one thing wrong
    change, field = MALFORMED[case]
    body = checkout()
    change(body)

    # When it is placed
    with pytest.raises(InvalidOrder) as refused:
        await stack.orders.place(body)

    # Then the error names the field, and no workflow, order, hold or charge exists
    assert refused.value.field == field
    await assert_no_workflow(stack, body["order_id"])
    assert await orders_recorded(stack) == 0
    assert await stock_levels(stack.db) == opening_levels()
    assert await money_moved(stack) == {"authorize": 0, "capture": 0, "void": 0, "refund": 0}


async def test_malformed_json_is_refused_and_starts_nothing(stack: Stack):
    # Given a checkout cut off in transit
    body = checkout()
    text = json.dumps(body)[:-20]

    # When it is placed
    with pytest.raises(InvalidOrder, match="malformed JSON") as refused:
        await stack.orders.place(text)

    # Then the body is blamed and nothing was started
    assert refused.value.field == "body"
    await assert_no_workflow(stack, body["order_id"])
    assert await orders_recorded(stack) == 0
    assert await money_moved(stack) == {"authorize": 0, "capture": 0, "void": 0, "refund": 0}
