"""POST /v1/orders: the storefront places a checkout; replays are harmless, bad ones named."""

from __future__ import annotations

import json
import uuid

import httpx
import pytest
from temporalio.service import RPCError, RPCStatusCode

from tests.api.conftest import Keys, bearer
from tests.support import checkout
from tests.workflows.conftest import Stack
from workflows.order_contract import order_workflow_id

PROBLEM = "application/problem+json"


def without_order_id() -> dict:
    body = checkout()
    del body["order_id"]
    return body


async def assert_no_workflow(stack: Stack, order_id: str) -> None:
    with pytest.raises(RPCError) as missing:
        await stack.orders.client.get_workflow_handle(order_workflow_id(order_id)).describe()
    assert missing.value.status == RPCStatusCode.NOT_FOUND


async def test_placing_an_order_answers_202_and_starts_its_workflow(
        api: httpx.AsyncClient, keys: Keys, stack: Stack):
    # Given a checkout
    body = checkout()

    # When the storefront posts it
    response = await api.post("/v1/orders", json=body, headers=bearer(keys.storefront))

    # Then the order is accepted and its workflow runs
    assert response.status_code == 202
    assert response.json() == {"order_id": body["order_id"], "status": "PLACED", "created": True,
                               "workflow_id": f"order-{body['order_id']}"}
    assert response.headers["location"] == f"/v1/orders/{body['order_id']}"
    handle = stack.orders.client.get_workflow_handle(f"order-{body['order_id']}")
    assert (await handle.describe()).workflow_type == "OrderWorkflow"


async def test_the_same_idempotency_key_and_body_return_the_same_order(
        api: httpx.AsyncClient, keys: Keys):
    # Given a checkout without an order id, posted under an Idempotency-Key
    body, key = without_order_id(), f"K-{uuid.uuid4().hex[:10]}"
    headers = {**bearer(keys.storefront), "Idempotency-Key": key}
    first = await api.post("/v1/orders", json=body, headers=headers)

    # When the storefront retries the same request
    again = await api.post("/v1/orders", json=body, headers=headers)

    # Then both answers name the same order, and only the first created it
    assert (first.status_code, again.status_code) == (202, 202)
    assert first.json()["order_id"] == again.json()["order_id"] == key
    assert again.json()["workflow_id"] == f"order-{key}"
    assert (first.json()["created"], again.json()["created"]) == (True, False)


async def test_the_same_idempotency_key_with_another_body_is_a_409(
        api: httpx.AsyncClient, keys: Keys):
    # Given an order placed under an Idempotency-Key
    key = f"K-{uuid.uuid4().hex[:10]}"
    headers = {**bearer(keys.storefront), "Idempotency-Key": key}
    await api.post("/v1/orders", json=without_order_id(), headers=headers)

    # When another body arrives under the same key
    other = without_order_id() | {"lines": [{"sku": "MUG-LOGO", "quantity": 1}]}
    response = await api.post("/v1/orders", json=other, headers=headers)

    # Then it is refused as a conflict, with the reason
    assert response.status_code == 409
    assert response.headers["content-type"] == PROBLEM
    problem = response.json()
    assert (problem["status"], problem["title"]) == (409, "Duplicate order")
    assert problem["detail"] == f"order id {key!r} was already placed with a different body"


@pytest.mark.parametrize(("change", "field", "message"), [
    ({"lines": [{"sku": "NOPE", "quantity": 1}]}, "lines[0].sku", "unknown SKU 'NOPE'"),
    ({"lines": [{"sku": "TEE-BLK-M", "quantity": 0}]}, "lines[0].quantity", "greater than or equal"),
    ({"payment": {"method": "cheque"}}, "payment.method", "cheque"),
])
async def test_an_invalid_checkout_is_a_422_naming_the_field_and_starts_nothing(
        api: httpx.AsyncClient, keys: Keys, stack: Stack, change: dict, field: str, message: str):
    # Given a checkout with one bad field
    body = checkout(**change)

    # When the storefront posts it
    response = await api.post("/v1/orders", json=body, headers=bearer(keys.storefront))

    # Then the answer names the field, and no workflow was started
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM
    (error,) = response.json()["errors"]
    assert error["field"] == field
    assert message in error["message"]
    await assert_no_workflow(stack, body["order_id"])


async def test_malformed_json_is_a_422_on_the_body(api: httpx.AsyncClient, keys: Keys,
                                                   stack: Stack):
    # Given a body that is not JSON, sent under an Idempotency-Key
    key = f"K-{uuid.uuid4().hex[:10]}"
    text = json.dumps(checkout())[:-5]

    # When the storefront posts it
    response = await api.post("/v1/orders", content=text, headers={
        **bearer(keys.storefront), "Idempotency-Key": key, "Content-Type": "application/json"})

    # Then the body is named as malformed, and nothing started under the key
    assert response.status_code == 422
    (error,) = response.json()["errors"]
    assert error["field"] == "body"
    assert error["message"].startswith("malformed JSON")
    await assert_no_workflow(stack, key)


async def test_a_bad_idempotency_key_is_named_as_the_header(api: httpx.AsyncClient, keys: Keys):
    response = await api.post("/v1/orders", json=without_order_id(), headers={
        **bearer(keys.storefront), "Idempotency-Key": "no spaces allowed"})

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "header.Idempotency-Key"
