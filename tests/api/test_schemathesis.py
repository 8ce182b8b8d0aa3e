"""Property-based tests of the API from its own OpenAPI document (schemathesis 4, every
check on): requests generated for every operation, valid and invalid, by the coverage and
fuzzing phases, against the real app on the time-skipping server, its worker and PostgreSQL.
No answer may be a 500; every answer must be one the document describes (status, content
type, headers, body); every request the schema allows must be accepted and every request it
forbids refused. The one refusal of schema-valid data allowed is a 422 whose problem type says
the server's state refused it (an unknown SKU, a scan from the future): no schema can list the
catalogue."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from typing import Any

import httpx
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode, checks
from schemathesis.core.failures import FailureGroup
from schemathesis.schemas import APIOperation

from api.http.problems import BEYOND_THE_SCHEMA
from api.http.routes_carriers import SIGNATURE_HEADER, sign
from api.http.services import ApiServices
from api.orders import OrderService
from tests.api.conftest import Keys, bearer, client_for
from tests.api.test_carrier_events import SECRETS
from tests.support import checkout
from tests.workflows.checks import reach
from tests.workflows.conftest import Stack

checks.load_all_checks()
ACCEPTANCE = checks.positive_data_acceptance


def positive_data_acceptance_but_state(ctx: Any, response: Any, case: Any) -> bool | None:
    """positive_data_acceptance, except for the refusals no schema can express."""
    if response.status_code == 422 and _problem_type(response) in BEYOND_THE_SCHEMA:
        return None
    return ACCEPTANCE(ctx, response, case)  # type: ignore[no-any-return]


def _problem_type(response: Any) -> str:
    try:
        return str(json.loads(response.content).get("type", ""))
    except (ValueError, AttributeError):
        return ""


EVERY_CHECK = [check for check in checks.CHECKS.get_all() if check is not ACCEPTANCE] + [
    positive_data_acceptance_but_state]
# Per operation, phase and generation mode: about 60 s for the whole document.
EXAMPLES = 25
REQUEST_TIMEOUT_S = 90.0  # generous: a loaded CI machine answers updates slowly
# Which key calls what: the role that owns each operation, so requests get past the 403.
WAREHOUSE_PATHS = ("/v1/stock", "/picks", "/packs", "/v1/carrier-events", "/receipt")
WEBHOOK = "/v1/webhooks/carriers/"


def key_for(operation: APIOperation, keys: Keys) -> str:
    if operation.method.upper() == "POST" and operation.path == "/v1/orders":
        return keys.storefront
    if any(part in operation.path for part in WAREHOUSE_PATHS):
        return keys.warehouse
    return keys.support


Failures = dict[str, str]  # the first failure of each operation, with its request


def run_case(case: schemathesis.Case, key: str, send: Callable[[dict[str, Any]], httpx.Response],
             failures: Failures) -> None:
    """Sends one generated request and runs every check on the answer; the first failure of
    an operation is kept (not raised, so one run reports every operation that fails)."""
    headers = bearer(key)
    request = case.as_transport_kwargs(base_url="http://fulfil.test", headers=headers)
    response = send(request)
    try:
        case.validate_response(response, checks=EVERY_CHECK, headers=headers,
                               transport_kwargs=request)
    except (AssertionError, FailureGroup) as failure:
        failures.setdefault(case.operation.label, f"{failure}\n{_httpx_kwargs(request)}")


def fuzz(operation: APIOperation, mode: GenerationMode, key: str,
         send: Callable[[dict[str, Any]], httpx.Response], failures: Failures,
         **fixed: Any) -> None:
    """Runs hypothesis over one operation in this (worker) thread; `send` answers each case."""
    @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck), print_blob=True)
    @given(case=operation.as_strategy(generation_mode=mode, **fixed))
    def check(case: schemathesis.Case) -> None:
        run_case(case, key, send, failures)
    try:
        check()
    except Unsatisfiable:  # an operation without parameters or body has nothing to spoil
        assert mode is GenerationMode.NEGATIVE


def cover(operation: APIOperation, key: str, send: Callable[[dict[str, Any]], httpx.Response],
          failures: Failures) -> None:
    """The coverage phase: boundary values, missing fields and headers, unlisted methods."""
    schema = operation.schema
    for case in schema.iter_coverage_cases(
            operation, generation_modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
            generation_config=schema.config.generation_for(operation=operation)):
        run_case(case, key, send, failures)


def _httpx_kwargs(request: dict[str, Any]) -> dict[str, Any]:
    """The requests-style arguments schemathesis serialized, as httpx takes them; a webhook
    is signed with its carrier's secret, so its body gets past the signature."""
    sent = {name: request[name] for name in ("method", "url", "headers", "params", "cookies")
            if request.get(name)}
    if "json" in request:
        sent["content"] = json.dumps(request["json"]).encode()
        sent["headers"] = {**sent.get("headers", {}), "Content-Type": "application/json"}
    elif request.get("data") is not None:
        sent["content"] = request["data"]
    carrier = str(sent["url"]).partition(WEBHOOK)[2]
    if carrier in SECRETS and isinstance(sent.get("content"), bytes):
        signature = sign(SECRETS[carrier], sent["content"], int(time.time()))
        sent["headers"] = {**sent.get("headers", {}), SIGNATURE_HEADER: signature}
    return sent


async def waiting_order(orders: OrderService) -> str:
    """A paid order waiting in PICKING for the warehouse (a mug: 100 are in stock)."""
    placed = await orders.place(checkout(lines=[{"sku": "MUG-LOGO", "quantity": 1}]))
    await reach(placed.handle, "PICKING")
    return placed.order.order_id


async def test_every_generated_request_gets_the_answer_the_document_promises(
        stack: Stack, keys: Keys, manual_orders: OrderService):
    loop = asyncio.get_running_loop()
    failures: Failures = {}
    async with client_for(ApiServices.of(stack.orders, carrier_secrets=SECRETS)) as client:
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
                cover(operation, key, send, failures)
                for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                    fuzz(operation, mode, key, send, failures)
                if operation.label in live:
                    fuzz(operation, GenerationMode.POSITIVE, key, send, failures,
                         path_parameters={"order_id": live[operation.label]})
                if WEBHOOK in operation.path:
                    fuzz(operation, GenerationMode.POSITIVE, key, send, failures,
                         path_parameters={"carrier": "sim-standard"})

        # When schemathesis generates valid and invalid requests for every operation
        await asyncio.to_thread(run_all)

    # Then no answer failed a check, and every operation was among those tried
    assert failures == {}, "\n\n".join(f"{label}: {failure}" for label, failure in failures.items())
    assert {"POST /v1/orders", "GET /v1/orders", "GET /v1/orders/{order_id}",
            "POST /v1/orders/{order_id}/cancel", "POST /v1/orders/{order_id}/refunds",
            "POST /v1/orders/{order_id}/picks", "POST /v1/orders/{order_id}/packs",
            "POST /v1/stock/receipts", "GET /v1/stock", "POST /v1/carrier-events",
            "POST /v1/webhooks/carriers/{carrier}", "POST /v1/orders/{order_id}/returns",
            "POST /v1/returns/{rma}/receipt", "POST /v1/returns/{rma}/decision",
            } <= {op.label for op in operations}
