"""Property-based tests of the API from its own OpenAPI document (schemathesis): requests
generated for every operation, valid and invalid, against the real app on the time-skipping
server, its worker and PostgreSQL. No answer may be a 500, and every answer must be one the
document describes: status code, content type, headers and body schema."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.schemas import APIOperation

from api.orders import OrderService
from tests.api.conftest import Keys, bearer, client_for
from tests.support import checkout
from tests.workflows.checks import reach
from tests.workflows.conftest import Stack
from api.http.services import ApiServices

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_headers_conformance, response_schema_conformance]
# Per operation and generation mode; about 30 s for the whole document on a busy machine.
EXAMPLES = 12
REQUEST_TIMEOUT_S = 30.0
# Which key calls what: the role that owns each operation, so requests get past the 403.
WAREHOUSE_PATHS = ("/v1/stock", "/picks", "/packs")


def key_for(operation: APIOperation, keys: Keys) -> str:
    if operation.method.upper() == "POST" and operation.path == "/v1/orders":
        return keys.storefront
    if any(part in operation.path for part in WAREHOUSE_PATHS):
        return keys.warehouse
    return keys.support


def fuzz(operation: APIOperation, mode: GenerationMode, key: str,
         send: Callable[[dict[str, Any]], httpx.Response], **fixed: Any) -> None:
    """Runs hypothesis over one operation in this (worker) thread; `send` answers each case."""
    @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck), print_blob=True)
    @given(case=operation.as_strategy(generation_mode=mode, **fixed))
    def check(case: schemathesis.Case) -> None:
        headers = bearer(key)
        request = case.as_transport_kwargs(base_url="http://fulfil.test", headers=headers)
        response = send(request)
        case.validate_response(response, checks=CHECKS, headers=headers,
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


async def test_no_generated_request_is_a_server_error_or_breaks_the_document(
        stack: Stack, keys: Keys, manual_orders: OrderService):
    # Given the app on the stack, and one paid order waiting for the warehouse, so that
    # the order operations also meet a real, running order
    placed = await manual_orders.place(checkout())
    await reach(placed.handle, "PICKING")
    loop = asyncio.get_running_loop()

    async with client_for(ApiServices.of(stack.orders)) as client:
        app_schema = (await client.get("/openapi.json")).json()
        schema = schemathesis.openapi.from_dict(app_schema)

        def send(request: dict[str, Any]) -> httpx.Response:
            # The app, its database pool and its Temporal client live on the test's event
            # loop; hypothesis runs in a worker thread and hands each request back to it.
            call = client.request(**_httpx_kwargs(request))
            return asyncio.run_coroutine_threadsafe(call, loop).result(REQUEST_TIMEOUT_S)

        def run_all() -> list[str]:
            tested = []
            for result in schema.get_all_operations():
                operation = result.ok()
                key = key_for(operation, keys)
                for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                    fuzz(operation, mode, key, send)
                if "{order_id}" in operation.path:
                    fuzz(operation, GenerationMode.POSITIVE, key, send,
                         path_parameters={"order_id": placed.order.order_id})
                tested.append(operation.label)
            return tested

        # When schemathesis generates requests for every operation in the document
        tested = await asyncio.to_thread(run_all)

    # Then none failed its checks (fuzz raises on the first that does), and all were tried
    assert {"POST /v1/orders", "GET /v1/orders", "GET /v1/orders/{order_id}",
            "POST /v1/orders/{order_id}/picks", "POST /v1/stock/receipts",
            "GET /v1/stock"} <= set(tested)
