"""The Python client against the real app (ASGI transport), on the time-skipping server, a
worker and PostgreSQL: typed answers, typed refusals, and retries only where they are safe."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import httpx
import pytest

from api.http.app import create_app
from api.http.services import ApiServices
from api.orders import OrderService
from client import (
    Backoff,
    FieldError,
    FulfilClient,
    InvalidOrder,
    NotAuthorized,
    NotFound,
    Order,
    OrderRefused,
    ServerError,
    Unreachable,
)
from tests.api.conftest import Keys
from tests.support import checkout
from tests.workflows.checks import deliver_now, eventually, reach
from tests.workflows.conftest import Stack

TOTAL = 2 * 1999 + 490
QUICK = Backoff(attempts=4, first_delay_s=0.01, max_delay_s=0.05)
Connect = Callable[..., AbstractAsyncContextManager[FulfilClient]]


class FlakyNetwork(httpx.AsyncBaseTransport):
    """The network between the storefront and the API: the first requests meet the listed
    failures (a refused connection, or a gateway answering 502/503/504), later ones reach
    the app."""

    def __init__(self, app: httpx.AsyncBaseTransport, failures: list[str]) -> None:
        self.app = app
        self.failures = list(failures)
        self.sent: list[httpx.Request] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.sent.append(request)
        if not self.failures:
            return await self.app.handle_async_request(request)
        failure = self.failures.pop(0)
        if failure == "refused":
            raise httpx.ConnectError("connection refused", request=request)
        return httpx.Response(int(failure), text="<html>bad gateway</html>", request=request)


def _without_order_id() -> dict[str, Any]:
    body = checkout()
    del body["order_id"]
    return body


@pytest.fixture
def app_transport(stack: Stack) -> httpx.ASGITransport:
    return httpx.ASGITransport(create_app(ApiServices.of(stack.orders)))


@pytest.fixture
def connect(app_transport: httpx.ASGITransport) -> Connect:
    """A client with `key`, over the app's transport or a given (flaky) network."""
    @asynccontextmanager
    async def open_client(key: str, transport: httpx.AsyncBaseTransport | None = None
                          ) -> AsyncIterator[FulfilClient]:
        async with FulfilClient("http://fulfil.test", key, backoff=QUICK,
                                transport=transport or app_transport) as client:
            yield client
    return open_client


async def test_the_storefront_places_and_reads_an_order_and_support_finds_it_in_the_list(
        connect: Connect, keys: Keys, stack: Stack):
    async with connect(keys.storefront) as storefront, connect(keys.support) as support:
        # When the storefront places a checkout without an order id, then reads it back
        placed = await storefront.place_order(_without_order_id())
        order = await storefront.get_order(placed.order_id)

        # Then it gets typed answers: the id the client chose, the priced order
        assert placed.created and placed.order_id.startswith("ORD-")
        assert placed.workflow_id == f"order-{placed.order_id}"
        assert isinstance(order, Order)
        assert order.totals.grand_total.amount == TOTAL
        assert order.totals.grand_total.currency == "EUR"
        assert [(line.sku, line.quantity) for line in order.lines] == [("TEE-BLK-M", 2)]

        # And support finds it among the customer's orders once its workflow recorded it
        async def listed() -> bool:
            page = await support.list_orders(customer_id="cus_42", limit=10)
            return placed.order_id in [row.order_id for row in page.orders]
        await eventually(listed, "the order in the list")


async def test_placing_the_same_order_again_with_its_key_is_the_same_order(
        connect: Connect, keys: Keys, stack: Stack):
    async with connect(keys.storefront) as storefront:
        body = _without_order_id()
        first = await storefront.place_order(body, idempotency_key="SHOP-CART-991")
        again = await storefront.place_order(body, idempotency_key="SHOP-CART-991")

    assert (first.order_id, first.created) == ("SHOP-CART-991", True)
    assert (again.order_id, again.created) == ("SHOP-CART-991", False)


async def test_support_cancels_an_order_in_picking(
        connect: Connect, keys: Keys, manual_orders: OrderService):
    # Given a paid order waiting in PICKING for the warehouse
    placed = await manual_orders.place(checkout())
    await reach(placed.handle, "PICKING")

    # When support cancels it through the client
    async with connect(keys.support) as support:
        order = await support.cancel(placed.order.order_id, "customer changed their mind")

    # Then the answer is the unwound order, its money given back
    assert (order.status, order.failure) == ("CANCELLED", "customer changed their mind")
    assert order.payments.refunded.amount == TOTAL
    assert (await placed.handle.result()).status == "CANCELLED"


async def test_cancelling_a_completed_order_raises_order_refused_with_the_reason(
        connect: Connect, keys: Keys, stack: Stack):
    placed = await stack.orders.place(checkout())
    order_id = placed.order.order_id
    assert (await placed.handle.result()).status == "COMPLETED"

    async with connect(keys.support) as support:
        with pytest.raises(OrderRefused) as refused:
            await support.cancel(order_id, "too late")

    assert refused.value.status == 409
    assert refused.value.reason == f"order {order_id!r} is already COMPLETED: it can no longer change"


async def test_support_refunds_part_of_a_delivered_order_and_an_over_refund_is_refused(
        connect: Connect, keys: Keys, manual_orders: OrderService):
    # Given a delivered order of 44.88 in its return window
    placed = await manual_orders.place(checkout())
    await deliver_now(placed.handle)
    order_id = placed.order.order_id

    async with connect(keys.support) as support:
        # When support refunds 5.00, then asks for 100.00 more
        order = await support.refund(order_id, "5.00", "late delivery")
        with pytest.raises(OrderRefused) as refused:
            await support.refund(order_id, "100.00", "goodwill")

    # Then the first is paid back, the second refused with why
    assert order.payments.refunded.amount == 500
    assert refused.value.reason == "refund of 100.00 EUR exceeds the refundable balance of 39.88 EUR"
    assert (await placed.handle.result()).status == "COMPLETED"


async def test_support_opens_a_return_of_a_delivered_order_and_gets_its_label(
        connect: Connect, keys: Keys, manual_orders: OrderService):
    # Given a delivered order of two T-shirts
    placed = await manual_orders.place(checkout())
    await deliver_now(placed.handle)
    order_id = placed.order.order_id

    async with connect(keys.support) as support:
        # When support opens a return of one, and then tries one for a reason that is none
        opened = await support.request_return(order_id, {"TEE-BLK-M": 1}, "SIZE_TOO_LARGE")
        with pytest.raises(InvalidOrder) as invalid:
            await support.request_return(order_id, {"TEE-BLK-M": 1}, "BORED")

    # Then the first has its RMA and prepaid label, the second names the field
    assert opened.rma.startswith("RMA-")
    assert opened.label_url.startswith("https://")
    assert [(line.sku, line.quantity) for line in opened.lines] == [("TEE-BLK-M", 1)]
    assert (opened.reason, opened.acceptance, opened.refunded) == ("SIZE_TOO_LARGE", "pending",
                                                                    None)
    assert [error.field for error in invalid.value.errors] == ["reason"]


async def test_a_refund_amount_must_never_be_a_float(connect: Connect, keys: Keys):
    async with connect(keys.support) as support:
        with pytest.raises(TypeError, match="never a float"):
            await support.refund("ORD-1", 5.0, "x")  # type: ignore[arg-type]


async def test_an_invalid_order_raises_invalid_order_naming_each_field(
        connect: Connect, keys: Keys):
    body = checkout(lines=[{"sku": "TEE-BLK-M", "quantity": 0}], currency="euro")

    async with connect(keys.storefront) as storefront:
        with pytest.raises(InvalidOrder) as invalid:
            await storefront.place_order(body)

    assert invalid.value.status == 422
    fields = {error.field for error in invalid.value.errors}
    assert fields == {"lines[0].quantity", "currency"}
    assert all(isinstance(error, FieldError) and error.message for error in invalid.value.errors)


async def test_an_unknown_sku_is_named_with_its_line(connect: Connect, keys: Keys):
    async with connect(keys.storefront) as storefront:
        with pytest.raises(InvalidOrder) as invalid:
            await storefront.place_order(checkout(lines=[{"sku": "NOPE", "quantity": 1}]))

    assert [error.field for error in invalid.value.errors] == ["lines[0].sku"]


async def test_a_bad_key_and_a_role_without_the_right_raise_not_authorized(
        connect: Connect, keys: Keys):
    async with connect("fk_not-a-key") as stranger, connect(keys.revoked) as former, \
            connect(keys.storefront) as storefront:
        with pytest.raises(NotAuthorized) as unknown:
            await stranger.get_order("ORD-1")
        with pytest.raises(NotAuthorized) as revoked:
            await former.list_orders()
        with pytest.raises(NotAuthorized) as forbidden:
            await storefront.cancel("ORD-1", "not mine to cancel")

    assert (unknown.value.status, revoked.value.status, forbidden.value.status) == (401, 401, 403)
    assert forbidden.value.detail == "the storefront role may not cancel order"


async def test_an_unknown_order_raises_not_found(connect: Connect, keys: Keys):
    async with connect(keys.storefront) as storefront:
        with pytest.raises(NotFound) as missing:
            await storefront.get_order("NOPE-1")
    assert missing.value.detail == "no order 'NOPE-1'"


async def test_placing_is_retried_through_network_failures_under_one_idempotency_key(
        connect: Connect, keys: Keys, stack: Stack, app_transport: httpx.ASGITransport):
    # Given a network that refuses the first connection and whose gateway then answers 503, 502
    network = FlakyNetwork(app_transport, ["refused", "503", "502"])

    # When the storefront places an order over it
    async with connect(keys.storefront, network) as storefront:
        placed = await storefront.place_order(_without_order_id())

    # Then the fourth try got through, and every try carried the same key: one order
    sent_keys = {request.headers["Idempotency-Key"] for request in network.sent}
    assert len(network.sent) == 4
    assert sent_keys == {placed.order_id}
    assert placed.created


async def test_a_cancel_is_sent_once_even_when_the_gateway_fails(
        connect: Connect, keys: Keys, app_transport: httpx.ASGITransport):
    network = FlakyNetwork(app_transport, ["503"])

    async with connect(keys.support, network) as support:
        with pytest.raises(ServerError) as failed:
            await support.cancel("ORD-1", "changed their mind")

    assert len(network.sent) == 1
    assert failed.value.status == 503


async def test_reads_give_up_after_the_last_attempt_when_the_api_stays_unreachable(
        connect: Connect, keys: Keys, app_transport: httpx.ASGITransport):
    network = FlakyNetwork(app_transport, ["refused"] * 10)

    async with connect(keys.storefront, network) as storefront:
        with pytest.raises(Unreachable):
            await storefront.get_order("ORD-1")

    assert len(network.sent) == QUICK.attempts
