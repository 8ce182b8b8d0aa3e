"""Who may call what (401 without a valid key, 403 without the right), errors as problem
details, and the published OpenAPI document."""

from __future__ import annotations

import httpx
import pytest

from api.api_keys import ApiKeyService
from api.http.services import ApiServices
from api.stock import StockService
from domain.errors import OutOfStock
from tests.api.conftest import Keys, bearer, client_for
from tests.support import checkout
from tests.workflows.conftest import Stack

PROBLEM = "application/problem+json"


@pytest.mark.parametrize("headers", [
    {},
    {"Authorization": "Bearer fk_not-a-key-we-issued"},
    {"Authorization": "Basic dXNlcjpwYXNz"},
    {"X-API-Key": "fk_not-a-key-we-issued"},
])
async def test_a_request_without_a_valid_key_is_a_401_problem(api: httpx.AsyncClient, headers):
    response = await api.post("/v1/orders", json=checkout(), headers=headers)

    assert response.status_code == 401
    assert response.headers["content-type"] == PROBLEM
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert response.json()["title"] == "Unauthorized"


async def test_a_revoked_key_is_a_401(api: httpx.AsyncClient, keys: Keys):
    response = await api.get("/v1/orders", headers=bearer(keys.revoked))

    assert response.status_code == 401
    assert response.json()["detail"] == "the API key is unknown or revoked"


async def test_the_key_may_also_come_as_x_api_key(api: httpx.AsyncClient, keys: Keys):
    response = await api.get("/v1/orders", headers={"X-API-Key": keys.support})

    assert (response.status_code, response.json()) == (200, {"orders": [], "next_cursor": None})


async def test_a_storefront_key_may_not_cancel_or_list(api: httpx.AsyncClient, keys: Keys):
    # Given the storefront's key
    headers = bearer(keys.storefront)

    # When it tries support's actions
    cancel = await api.post("/v1/orders/ANY-1/cancel", json={"reason": "x"}, headers=headers)
    listing = await api.get("/v1/orders", headers=headers)
    refund = await api.post("/v1/orders/ANY-1/refunds", json={"amount": "1.00", "reason": "x"},
                            headers=headers)

    # Then each is forbidden, as a problem that says which right is missing
    assert [r.status_code for r in (cancel, listing, refund)] == [403, 403, 403]
    assert cancel.headers["content-type"] == PROBLEM
    assert cancel.json()["detail"] == "the storefront role may not cancel order"


async def test_a_warehouse_key_may_read_but_not_place(api: httpx.AsyncClient, keys: Keys):
    placing = await api.post("/v1/orders", json=checkout(), headers=bearer(keys.warehouse))
    reading = await api.get("/v1/orders/NOPE-1", headers=bearer(keys.warehouse))

    assert (placing.status_code, reading.status_code) == (403, 404)


class _BrokenOrders:
    """An order service whose every answer fails: unexpectedly, or by a business rule."""

    async def view(self, order_id: str):  # type: ignore[no-untyped-def]
        raise RuntimeError("database password is hunter2")

    async def cancel(self, order_id: str, reason: str, actor: str):  # type: ignore[no-untyped-def]
        raise OutOfStock("no TEE-BLK-M left")


async def test_an_unexpected_error_is_a_500_problem_without_the_traceback(
        stack: Stack, keys: Keys):
    # Given an app whose order service breaks
    services = ApiServices(_BrokenOrders(), ApiKeyService(stack.db),  # type: ignore[arg-type]
                           StockService(stack.db))
    async with client_for(services, raise_app_exceptions=False) as client:
        # When an order is read
        response = await client.get("/v1/orders/ANY-1", headers=bearer(keys.storefront))

    # Then the caller learns only that the server failed
    assert response.status_code == 500
    assert response.headers["content-type"] == PROBLEM
    assert response.json() == {"type": "/problems/internal", "title": "Internal server error",
                               "status": 500,
                               "detail": "the server could not handle the request"}


async def test_any_other_business_rule_is_a_422_problem(stack: Stack, keys: Keys):
    services = ApiServices(_BrokenOrders(), ApiKeyService(stack.db),  # type: ignore[arg-type]
                           StockService(stack.db))
    async with client_for(services) as client:
        response = await client.post("/v1/orders/ANY-1/cancel", json={"reason": "x"},
                                     headers=bearer(keys.support))

    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["detail"] == "no TEE-BLK-M left"


async def test_the_api_publishes_its_openapi_document_and_docs(api: httpx.AsyncClient):
    spec = (await api.get("/openapi.json")).json()
    docs = await api.get("/docs")

    assert {"/v1/orders", "/v1/orders/{order_id}", "/v1/orders/{order_id}/cancel",
            "/v1/orders/{order_id}/refunds"} <= set(spec["paths"])
    place = spec["paths"]["/v1/orders"]["post"]["requestBody"]["content"]["application/json"]
    assert place["schema"] == {"$ref": "#/components/schemas/CheckoutPayload"}
    assert "LineIn" in spec["components"]["schemas"]
    assert docs.status_code == 200
