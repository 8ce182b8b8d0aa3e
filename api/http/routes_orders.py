"""/v1/orders: place (storefront), read (storefront), list, cancel and refund (support)."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request, Response
from pydantic import BaseModel, ConfigDict, StringConstraints

from api.api_keys import ApiKey
from api.http.auth import require, services
from api.http.problems import InvalidField
from api.http.services import ApiServices
from domain.access import Right
from domain.errors import InvalidMoney, InvalidOrder
from workers.render import order_json, order_row_json
from workflows.order_workflow import OrderWorkflow

router = APIRouter(prefix="/v1/orders", tags=["orders"])
Services = Annotated[ApiServices, Depends(services)]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]


class CancelIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: Reason


class RefundIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    amount: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20)]
    reason: Reason


class PlacedOut(BaseModel):
    order_id: str
    workflow_id: str
    status: str
    created: bool


def _with_idempotency_key(raw: bytes, key: str | None) -> bytes | dict[str, Any]:
    """The body, with the Idempotency-Key as its order id when it names none itself."""
    if key is None:
        return raw
    try:
        body = json.loads(raw)
    except json.JSONDecodeError:
        return raw  # the checkout parser names the malformed body
    if isinstance(body, dict) and body.get("order_id") is None:
        return {**body, "order_id": key}
    return raw


@router.post("", status_code=202, response_model=PlacedOut,
             openapi_extra={"requestBody": {"required": True, "content": {
                 "application/json": {"schema": {"$ref": "#/components/schemas/CheckoutPayload"}}}}})
async def place_order(
        request: Request, response: Response, svc: Services,
        _caller: Annotated[ApiKey, Depends(require(Right.PLACE_ORDER))],
        idempotency_key: Annotated[str | None, Header()] = None) -> PlacedOut:
    """Places an order from a checkout payload; replaying the same order id is harmless."""
    body = _with_idempotency_key(await request.body(), idempotency_key)
    try:
        placed = await svc.orders.place(body)
    except InvalidOrder as error:
        if idempotency_key is not None and error.field == "order_id" and isinstance(body, dict):
            raise InvalidOrder("header.Idempotency-Key", error.message) from None
        raise
    status = "PLACED" if placed.created else await placed.handle.query(OrderWorkflow.status)
    response.headers["Location"] = f"/v1/orders/{placed.order.order_id}"
    return PlacedOut(order_id=placed.order.order_id, workflow_id=placed.workflow_id,
                     status=status, created=placed.created)


@router.get("")
async def list_orders(
        svc: Services, _caller: Annotated[ApiKey, Depends(require(Right.LIST_ORDERS))],
        customer_id: str | None = None, status: str | None = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 50) -> dict[str, Any]:
    """Recent orders from the database, newest first."""
    rows = await svc.orders.list(status=status, customer_id=customer_id, limit=limit)
    return {"orders": [order_row_json(row) for row in rows]}


@router.get("/{order_id}")
async def get_order(order_id: str, svc: Services,
                    _caller: Annotated[ApiKey, Depends(require(Right.READ_ORDER))]) -> dict[str, Any]:
    """The order as its workflow sees it now: status, money, shipments, timeline."""
    return order_json(await svc.orders.view(order_id))


@router.post("/{order_id}/cancel")
async def cancel_order(order_id: str, body: CancelIn, svc: Services,
                       caller: Annotated[ApiKey, Depends(require(Right.CANCEL_ORDER))]
                       ) -> dict[str, Any]:
    """Cancels an order that has not shipped and answers once it is unwound."""
    return order_json(await svc.orders.cancel(order_id, body.reason, actor=caller.name))


@router.post("/{order_id}/refunds")
async def refund_order(order_id: str, body: RefundIn, svc: Services,
                       caller: Annotated[ApiKey, Depends(require(Right.REFUND_ORDER))]
                       ) -> dict[str, Any]:
    """Refunds up to what was captured and not yet refunded."""
    try:
        view = await svc.orders.refund(order_id, body.amount, body.reason, actor=caller.name)
    except InvalidMoney as error:
        raise InvalidField("amount", str(error)) from None
    return order_json(view)
