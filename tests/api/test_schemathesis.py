"""Property-based tests of the API from its own OpenAPI document (schemathesis): requests
generated for every operation, valid and invalid, against the real app on the time-skipping
server, its worker and PostgreSQL. No answer may be a 500, and every answer of the orders
and stock operations must be one the document describes: status code, content type,
headers and body schema."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

import httpx
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode, checks
from schemathesis.schemas import APIOperation

from api.http.services import ApiServices
from api.orders import OrderService
from tests.api.conftest import Keys, bearer, client_for
from tests.support import checkout
from tests.workflows.checks import reach
from tests.workflows.conftest import Stack

# The built-in checks are looked up by name in schemathesis's registry.
CONFORMANCE = [checks.not_a_server_error, checks.status_code_conformance,
               checks.content_type_conformance, checks.response_headers_conformance,
               checks.response_schema_conformance]
# Other slices' operations (carrier webhooks, metrics) are held to no 500 here; their own
# tests decide how precisely they document themselves.
DOCUMENTED_HERE = {"orders", "stock"}
# Per operation and generation mode: about 15 s for the whole document.
EXAMPLES = 40
REQUEST_TIMEOUT_S = 30.0
# Which key calls what: the role that owns each operation, so requests get past the 403.
WAREHOUSE_PATHS = ("/v1/stock", "/picks", "/packs")


def key_for(operation: APIOperation, keys: Keys) -> str:
    if operation.method.upper() == "POST" and operation.path == "/v1/orders":
        return keys.storefront
    if any(part in operation.path for part in WAREHOUSE_PATHS):
        return keys.warehouse
    return keys.support


def checks_for(operation: APIOperation) -> list[Any]:
    return CONFORMANCE if DOCUMENTED_HERE & set(operation.tags or ()) else [
        checks.not_a_server_error]


def fuzz(operation: APIOperation, mode: GenerationMode, key: str,
         send: Callable[[dict[str, Any]], httpx.Response], **fixed: Any) -> None:
    """Runs hypothesis over one operation in this (worker) thread; `send` answers each case."""
    applied = checks_for(operation)

    @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck), print_blob=True)
    @given(case=operation.as_strategy(generation_mode=mode, **fixed))
    def check(case: schemathesis.Case) -> None:
        headers = bearer(key)
        request = case.as_transport_kwargs(base_url="http://fulfil.test", headers=headers)
        response = send(request)
        case.validate_response(response, checks=applied, headers=headers,
                               transport_kwargs=request)
    check()


def _httpx_kwargs(request: dict[str, Any]) -> dict[str, Any]:
    """The requests-style arguments schemathesis serialized, as httpx takes them."""
    sent = {name: request[name] for name in ("method", "url", "headers", "params", "cookies")
            if request.get(name)}
    if "json" in request:
        sent["json"] = request["json"]
    elif request.get("data") is not None:
        sent["content"] = request["data"]
    return sent


async def waiting_order(orders: OrderService) -> str:
    """A paid order waiting in PICKING for the warehouse (a mug: 100 are in stock)."""
    placed = await orders.place(checkout(lines=[{"sku": "MUG-LOGO", "quantity": 1}]))
    await reach(placed.handle, "PICKING")
    return placed.order.order_id


async def test_no_generated_request_is_a_server_error_or_breaks_the_document(
        stack: Stack, keys: Keys, manual_orders: OrderService):
    loop = asyncio.get_running_loop()
    async with client_for(ApiServices.of(stack.orders)) as client:
        # Given the app's own OpenAPI document, and for each operation on one order a paid
        # order of its own waiting for the warehouse (a generated cancel ends its order)
        schema = schemathesis.openapi.from_dict((await client.get("/openapi.json")).json())
        operations = [result.ok() for result in schema.get_all_operations()]  # type: ignore[union-attr]
        live = {operation.label: await waiting_order(manual_orders)
                for operation in operations if "{order_id}" in operation.path}

        def send(request: dict[str, Any]) -> httpx.Response:
            # The app, its database pool and its Temporal client live on the test's event
            # loop; hypothesis runs in a worker thread and hands each request back to it.
            call = client.request(**_httpx_kwargs(request))
            return asyncio.run_coroutine_threadsafe(call, loop).result(REQUEST_TIMEOUT_S)

        def run_all() -> None:
            for operation in operations:
                key = key_for(operation, keys)
                fuzz(operation, GenerationMode.POSITIVE, key, send)
                # An operation with no parameters and no body has nothing to make invalid.
                with contextlib.suppress(Unsatisfiable):
                    fuzz(operation, GenerationMode.NEGATIVE, key, send)
                if operation.label in live:
                    fuzz(operation, GenerationMode.POSITIVE, key, send,
                         path_parameters={"order_id": live[operation.label]})

        # When schemathesis generates valid and invalid requests for every operation
        await asyncio.to_thread(run_all)

    # Then none failed its checks (fuzz raises on the first that does), and this slice's
    # operations were among those tried
    assert {"POST /v1/orders", "GET /v1/orders", "GET /v1/orders/{order_id}",
            "POST /v1/orders/{order_id}/cancel", "POST /v1/orders/{order_id}/refunds",
            "POST /v1/orders/{order_id}/picks", "POST /v1/orders/{order_id}/packs",
            "POST /v1/stock/receipts", "GET /v1/stock"} <= {op.label for op in operations}
