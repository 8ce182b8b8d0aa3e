"""Poison input is refused at the edge, before any workflow or database row sees it: text
with NUL or other control characters (API, signed webhooks, console, CLI), orders beyond the
order limits, numbers no float holds and JSON nested without end. Lines naming the same SKU
are merged into one."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from api.http.routes_carriers import sign
from api.http.services import ApiServices
from api.orders import OrderService
from domain.order import MAX_LINES, MAX_UNITS_PER_LINE
from tests.api.conftest import Keys, bearer, client_for
from tests.api.test_carrier_events import (
    SECRETS,
    Shipped,
    cli_env,
    post_webhook,
    pushed_events,
    scan,
    shipped,
)
from tests.api.test_console import browser, form_token, sign_in
from tests.api.test_placing_orders import assert_no_workflow
from tests.support import CATALOGUE, checkout
from tests.workflows.checks import deliver_now, reach
from tests.workflows.conftest import Stack
from workers.cli import app as fulfil
from workflows.order_workflow import OrderWorkflow

__all__ = ["browser", "shipped"]  # fixtures shared with the carrier and console tests

PROBLEM = "application/problem+json"
CONTROL = "must not contain control characters"


@pytest.fixture
async def lenient_api(stack: Stack, keys: Keys) -> AsyncIterator[httpx.AsyncClient]:
    """The API answering every error itself, as a server does (500 included)."""
    services = ApiServices.of(stack.orders, carrier_secrets=SECRETS)
    async with client_for(services, raise_app_exceptions=False) as client:
        yield client


def fields(response: httpx.Response) -> list[str]:
    return [error["field"] for error in response.json()["errors"]]


# -- text with control characters ------------------------------------------------------------

async def test_a_nul_in_a_scans_location_is_a_422_naming_it_and_reaches_no_order(
        lenient_api: httpx.AsyncClient, keys: Keys, shipped: Shipped):
    # Given a scan the warehouse types in, with a NUL in its location
    body = json.loads(scan(shipped.tracking_number, location="Berlin\x00DE"))

    # When it is entered
    response = await lenient_api.post("/v1/carrier-events", json=body,
                                      headers=bearer(keys.warehouse))

    # Then it is refused naming the location, and the order's workflow never hears of it
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == PROBLEM
    assert fields(response) == ["location"]
    assert await pushed_events(shipped.handle) == []


async def test_a_signed_webhook_with_a_control_character_in_its_description_is_a_422(
        lenient_api: httpx.AsyncClient, shipped: Shipped):
    body = scan(shipped.tracking_number, description="Delivered\x1b[2J")

    response = await post_webhook(lenient_api, body,
                                  signature=sign(SECRETS["sim-standard"], body, int(time.time())))

    assert response.status_code == 422, response.text
    assert fields(response) == ["description"]
    assert await pushed_events(shipped.handle) == []


@pytest.mark.parametrize("reason", ["changed\x00mind", "changed\x07mind", "a" * 501, " \t "])
async def test_a_cancel_reason_that_could_not_be_stored_is_a_422_and_cancels_nothing(
        lenient_api: httpx.AsyncClient, keys: Keys, manual_orders: OrderService, reason: str):
    placed = await manual_orders.place(checkout())
    await reach(placed.handle, "PICKING")

    response = await lenient_api.post(f"/v1/orders/{placed.order.order_id}/cancel",
                                      json={"reason": reason}, headers=bearer(keys.support))

    assert response.status_code == 422, response.text
    assert fields(response) == ["reason"]
    assert await placed.handle.query(OrderWorkflow.status) == "PICKING"


async def test_the_console_refuses_a_cancel_reason_with_a_nul_and_says_why(
        browser: httpx.AsyncClient, keys: Keys, manual_orders: OrderService):
    # Given an agent on the page of an order waiting for the warehouse
    placed = await manual_orders.place(checkout())
    order_id = placed.order.order_id
    await reach(placed.handle, "PICKING")
    await sign_in(browser, keys.support)
    token = form_token((await browser.get(f"/console/orders/{order_id}")).text)

    # When the agent confirms a cancellation whose reason holds a NUL
    response = await browser.post(f"/console/orders/{order_id}/cancel", data={
        "csrf": token, "reason": "fraud\x00check", "confirmed": "yes"})

    # Then the form shows the refusal, and the order goes on
    assert response.status_code == 422
    assert f"Reason: {CONTROL}" in response.text
    assert await placed.handle.query(OrderWorkflow.status) == "PICKING"


async def test_the_console_refuses_a_return_comment_with_a_control_character(
        browser: httpx.AsyncClient, keys: Keys, manual_orders: OrderService):
    placed = await manual_orders.place(checkout())
    order_id = placed.order.order_id
    await deliver_now(placed.handle)
    await sign_in(browser, keys.support)
    token = form_token((await browser.get(f"/console/orders/{order_id}")).text)

    response = await browser.post(f"/console/orders/{order_id}/returns", data={
        "csrf": token, "qty-TEE-BLK-M": "1", "reason": "OTHER", "comment": "bad\x00sleeve"})

    assert response.status_code == 422
    assert f"Comment: {CONTROL}" in response.text
    assert await placed.handle.query(OrderWorkflow.status) == "DELIVERED"


def test_the_cli_refuses_a_scan_location_with_a_control_character_in_one_line(
        database_url: str):
    result = CliRunner().invoke(fulfil, ["carrier", "event", "SIMS1", "delivered",
                                         "--location", "Berlin\x1b[2J"],
                                env={"FULFIL_DATABASE_URL": database_url})

    assert result.exit_code == 2
    assert result.stderr.startswith(f"fulfil: location: {CONTROL}")
    assert result.stderr.count("\n") == 1


async def test_the_cli_refuses_a_cancel_reason_with_a_control_character_with_exit_2(
        stack: Stack, database_url: str, manual_orders: OrderService):
    placed = await manual_orders.place(checkout())
    await reach(placed.handle, "PICKING")

    result = await asyncio.to_thread(CliRunner().invoke, fulfil, [
        "order", "cancel", placed.order.order_id, "--reason", "oops\x1b[31m"],
        env=cli_env(stack, database_url))

    assert result.exit_code == 2, result.output
    assert result.stderr == f"fulfil: reason: {CONTROL} (such as NUL)\n"
    assert await placed.handle.query(OrderWorkflow.status) == "PICKING"


# -- order limits and duplicate SKUs ---------------------------------------------------------

def many_lines(count: int, quantity: int) -> list[dict[str, Any]]:
    """`count` lines of the catalogue's SKUs, taking each in turn."""
    skus = [product["sku"] for product in CATALOGUE["products"]]
    return [{"sku": skus[n % len(skus)], "quantity": quantity} for n in range(count)]


@pytest.mark.parametrize(("lines", "field"), [
    (many_lines(45, 10_000), "lines[0].quantity"),  # the order of issue 9
    (many_lines(1, MAX_UNITS_PER_LINE + 1), "lines[0].quantity"),
    (many_lines(MAX_LINES + 1, 1), "lines"),
])
async def test_an_order_beyond_the_limits_is_a_422_before_any_workflow_starts(
        lenient_api: httpx.AsyncClient, keys: Keys, stack: Stack, lines: list, field: str):
    body = checkout(lines=lines)

    response = await lenient_api.post("/v1/orders", json=body, headers=bearer(keys.storefront))

    assert response.status_code == 422, response.text
    assert fields(response)[0] == field
    await assert_no_workflow(stack, body["order_id"])


async def test_the_cli_refuses_an_order_beyond_the_limits_with_exit_2_in_one_line(
        stack: Stack, database_url: str, tmp_path: Path):
    order = tmp_path / "order.json"
    order.write_text(json.dumps(checkout(lines=many_lines(45, 10_000))))

    result = await asyncio.to_thread(CliRunner().invoke, fulfil, [
        "order", "place", str(order)], env=cli_env(stack, database_url))

    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("fulfil: lines[0].quantity: ")
    assert result.stderr.count("\n") == 1


async def test_lines_naming_the_same_sku_are_merged_into_one(
        lenient_api: httpx.AsyncClient, keys: Keys, stack: Stack):
    body = checkout(lines=[{"sku": "TEE-BLK-M", "quantity": 1}, {"sku": "MUG-LOGO", "quantity": 1},
                           {"sku": "TEE-BLK-M", "quantity": 2}])

    response = await lenient_api.post("/v1/orders", json=body, headers=bearer(keys.storefront))

    assert response.status_code == 202, response.text
    order = (await lenient_api.get(f"/v1/orders/{body['order_id']}",
                                   headers=bearer(keys.support))).json()
    assert [(line["sku"], line["quantity"]) for line in order["lines"]] == [
        ("TEE-BLK-M", 3), ("MUG-LOGO", 1)]
    assert order["totals"]["subtotal"]["amount"] == 3 * 1999 + 950


# -- numbers and nesting no parser should be asked to hold -----------------------------------

HUGE_NUMBER = '{"sku": "MUG-LOGO", "warehouse": "BER", "quantity": 1e999999}'
NESTED = "[" * 100_000 + "]" * 100_000


def huge_checkout() -> str:
    body = json.dumps(checkout(lines=[{"sku": "MUG-LOGO", "quantity": 7}]))
    return body.replace('"quantity": 7', '"quantity": 1e999999')


@pytest.mark.parametrize(("path", "key", "body"), [
    ("/v1/orders", "storefront", huge_checkout()),
    ("/v1/orders", "storefront", NESTED),
    ("/v1/orders", "storefront", '{"order_id": ' + NESTED + "}"),
    ("/v1/stock/receipts", "warehouse", HUGE_NUMBER),
    ("/v1/stock/receipts", "warehouse", NESTED),
    ("/v1/carrier-events", "warehouse", '{"tracking_number": ' + NESTED + "}"),
])
async def test_numbers_beyond_any_float_and_endless_nesting_are_a_422_not_a_500(
        lenient_api: httpx.AsyncClient, keys: Keys, path: str, key: str, body: str):
    response = await lenient_api.post(path, content=body, headers={
        **bearer(getattr(keys, key)), "Content-Type": "application/json"})

    assert response.status_code == 422, response.text[:300]
    assert response.headers["content-type"] == PROBLEM
