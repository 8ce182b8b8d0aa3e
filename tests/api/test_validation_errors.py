"""A 422 names every bad field with its path, not only the first; the CLI's one-line message
starts with the first and goes on with the rest."""

from __future__ import annotations

import httpx
import pytest

from api.checkout import InvalidCheckout, parse_checkout
from tests.api.conftest import Keys, bearer
from tests.api.test_placing_orders import assert_no_workflow, without_order_id
from tests.support import checkout
from tests.workflows.conftest import Stack


def several_bad_fields() -> dict:
    body = checkout(currency="eur", lines=[{"sku": "TEE-BLK-M", "quantity": 0}], coupon="X")
    body["customer"] = {**body["customer"], "email": "ada-at-example"}
    return body


async def test_a_checkout_with_several_bad_fields_is_a_422_naming_every_one(
        api: httpx.AsyncClient, keys: Keys, stack: Stack):
    # Given a checkout with four things wrong
    body = several_bad_fields()

    # When the storefront posts it
    response = await api.post("/v1/orders", json=body, headers=bearer(keys.storefront))

    # Then every one of them is named with its path, and nothing started
    assert response.status_code == 422
    problem = response.json()
    assert {e["field"] for e in problem["errors"]} == {
        "currency", "lines[0].quantity", "customer.email", "coupon"}
    assert all(e["message"] for e in problem["errors"])
    assert problem["detail"].count(";") == 3
    await assert_no_workflow(stack, body["order_id"])


def test_the_cli_message_is_one_line_starting_with_the_first_error():
    with pytest.raises(InvalidCheckout) as refused:
        parse_checkout(several_bad_fields())

    message = str(refused.value)
    assert message.startswith(f"{refused.value.field}: {refused.value.message}")
    assert "\n" not in message
    assert [e.field for e in refused.value.errors] == [
        "customer.email", "currency", "lines[0].quantity", "coupon"]


async def test_a_nul_character_is_refused_before_any_workflow_starts(
        api: httpx.AsyncClient, keys: Keys, stack: Stack):
    # Given a name with a NUL in it, which PostgreSQL could never record
    body = checkout()
    body["customer"] = {**body["customer"], "name": "Ada\x00Lovelace"}

    response = await api.post("/v1/orders", json=body, headers=bearer(keys.storefront))

    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["customer.name"]
    await assert_no_workflow(stack, body["order_id"])


async def test_a_bad_idempotency_key_is_named_beside_the_other_errors(
        api: httpx.AsyncClient, keys: Keys):
    body = without_order_id() | {"lines": [{"sku": "TEE-BLK-M", "quantity": 0}]}

    response = await api.post("/v1/orders", json=body, headers={
        **bearer(keys.storefront), "Idempotency-Key": "no spaces allowed"})

    assert response.status_code == 422
    assert {e["field"] for e in response.json()["errors"]} == {
        "header.Idempotency-Key", "lines[0].quantity"}


async def test_malformed_json_for_a_support_action_is_a_422_on_the_body(
        api: httpx.AsyncClient, keys: Keys):
    response = await api.post("/v1/orders/ANY-1/cancel", content=b'{"reason": ',
                              headers={**bearer(keys.support), "Content-Type": "application/json"})

    assert response.status_code == 422
    (error,) = response.json()["errors"]
    assert error["field"] == "body"
    assert error["message"].startswith("malformed JSON")
