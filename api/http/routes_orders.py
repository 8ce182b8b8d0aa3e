"""/v1/orders: place and read (storefront), search, cancel and refund (support), and the
warehouse's pick and pack confirmations."""

from __future__ import annotations

import base64
import json
import re
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, HTTPException, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from activities.db.tables import OrderRow
from api.api_keys import ApiKey
from api.checkout import (
    ORDER_ID_PATTERN,
    FieldError,
    InvalidCheckout,
    field_errors,
    parse_checkout,
)
from api.http.auth import authenticated, require, services
from api.http.problems import BUSINESS_RULE, InvalidField, problem_responses
from api.http.services import ApiServices
from api.text import DateTime, Matching, Reason, Text, error_message
from domain.access import Right, may
from domain.errors import InvalidMoney, InvalidOrder
from domain.status import OrderStatus
from domain.text_rules import MAX_CODE, MAX_NAME
from workers.render import order_json, order_row_json
from workflows.order_workflow import OrderWorkflow

router = APIRouter(prefix="/v1/orders", tags=["orders"])
Services = Annotated[ApiServices, Depends(services)]
OrderId = Annotated[str, Path(description="The order's id."), Matching(ORDER_ID_PATTERN)]
# A decimal sum such as 5.00; how many decimals the order's currency allows is checked
# against the order (a business rule, since no schema knows the order's currency).
Amount = Annotated[str, Matching(r"^[0-9]{1,13}(\.[0-9]{1,3})?$")]
Timestamp = Annotated[str, Field(json_schema_extra={"format": "date-time"})]
_ORDER_ID: TypeAdapter[str] = TypeAdapter(Annotated[str, Matching(ORDER_ID_PATTERN)])
MAX_PAGE = 100


class CancelIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: Reason


class RefundIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    amount: Amount
    reason: Reason


class ConfirmationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    warehouse: Annotated[str, Text(MAX_CODE)] = Field(
        "", description="The warehouse whose parcel this is, when the order ships from several.")


class PlacedOut(BaseModel):
    order_id: str
    workflow_id: str
    status: str
    created: bool


class MoneyOut(BaseModel):
    amount: int = Field(description="Minor units (cents).")
    currency: str
    display: str


class CustomerOut(BaseModel):
    id: str
    email: str
    name: str


class AddressOut(BaseModel):
    name: str
    line1: str
    line2: str
    city: str
    postal_code: str
    country: str


class LineOut(BaseModel):
    sku: str
    name: str
    quantity: int
    unit_price: MoneyOut
    total: MoneyOut


class TotalsOut(BaseModel):
    subtotal: MoneyOut
    shipping: MoneyOut
    grand_total: MoneyOut


class ShippingOut(BaseModel):
    method: str
    carrier: str
    address: AddressOut


class PaymentsOut(BaseModel):
    method: str
    authorization: str
    authorized: MoneyOut
    captured: MoneyOut
    refunded: MoneyOut


class ShipmentLineOut(BaseModel):
    sku: str
    quantity: int


class ShipmentOut(BaseModel):
    # Open to the fields later slices add to a parcel (returns, claims).
    model_config = ConfigDict(extra="allow")
    carrier: str
    tracking_number: str
    label_url: str
    status: str
    warehouse: str
    lines: list[ShipmentLineOut]


class BackorderOut(BaseModel):
    sku: str
    quantity: int
    expected_at: Timestamp | None


class EventOut(BaseModel):
    seq: int
    at: Timestamp
    status: str
    kind: str
    detail: str
    actor: str


class OrderOut(BaseModel):
    """The order as its workflow sees it, as `fulfil order show --json` prints it."""

    # Open to the parts later slices add to the order's view (returns, survey).
    model_config = ConfigDict(extra="allow")
    order_id: str
    status: str
    customer: CustomerOut
    lines: list[LineOut]
    totals: TotalsOut
    shipping: ShippingOut
    payments: PaymentsOut
    shipments: list[ShipmentOut]
    backorders: list[BackorderOut]
    timeline: list[EventOut]
    failure: str
    attention: list[str] = Field(
        description="What failed beyond any retry, oldest first; the timeline's "
                    "attention.resolved events say which were resolved.")
    waiting_for_support: list[str] = Field(
        description="Steps waiting for support to fix the cause and retry them.")


class OrderSummary(BaseModel):
    order_id: str
    status: str
    customer_id: str
    customer_email: str
    grand_total: MoneyOut
    carrier: str
    placed_at: Timestamp


class OrderPage(BaseModel):
    orders: list[OrderSummary] = Field(description="Newest first.")
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null on the last page.")


class ConfirmationOut(BaseModel):
    order_id: str
    step: Literal["pick", "pack"]
    warehouse: str
    actor: str


def _with_idempotency_key(raw: bytes, key: str | None) -> bytes | dict[str, Any]:
    """The body, with the Idempotency-Key as its order id when it names none itself."""
    if key is None:
        return raw
    try:
        body = json.loads(raw)
    except ValueError:  # not JSON, or not UTF-8: the checkout parser names the malformed body
        return raw
    if isinstance(body, dict) and body.get("order_id") is None:
        return {**body, "order_id": key}
    return raw


def _check_idempotency_key(key: str | None, raw: bytes) -> None:
    """Refuses a malformed Idempotency-Key (checked here, not by FastAPI, so the refusal names
    the body's bad fields beside it), whether or not the body names its own order id."""
    if key is None:
        return
    try:
        _ORDER_ID.validate_python(key)
    except ValidationError as invalid:
        header = [FieldError("header.Idempotency-Key", error_message(e)) for e in invalid.errors()]
        try:
            parse_checkout(raw)
        except InvalidOrder as error:
            raise InvalidCheckout([*header, *field_errors(error)]) from None
        raise InvalidCheckout(header) from None


def _blaming_the_header(error: InvalidOrder) -> InvalidOrder:
    """The checkout's errors, with an order id that came from the Idempotency-Key named as it."""
    errors = field_errors(error)
    if all(e.field != "order_id" for e in errors):
        return error
    return InvalidCheckout([FieldError("header.Idempotency-Key", e.message)
                            if e.field == "order_id" else e for e in errors])


@router.post("", status_code=202, response_model=PlacedOut,
             responses=problem_responses(
                 401, 403, 409, 422, why={409: "The order id was placed before with another body."}),
             openapi_extra={"requestBody": {"required": True, "content": {
                 "application/json": {"schema": {"$ref": "#/components/schemas/CheckoutPayload"}}}}})
async def place_order(
        request: Request, response: Response, svc: Services,
        _caller: Annotated[ApiKey, Depends(require(Right.PLACE_ORDER))],
        idempotency_key: Annotated[str | None, Header(
            description="The order's id, when the body names none.",
            json_schema_extra={"pattern": ORDER_ID_PATTERN})] = None) -> PlacedOut:
    """Places an order from a checkout payload; replaying the same order id is harmless."""
    raw = await request.body()
    _check_idempotency_key(idempotency_key, raw)
    body = _with_idempotency_key(raw, idempotency_key)
    try:
        placed = await svc.orders.place(body)
    except InvalidOrder as error:
        if idempotency_key is not None and isinstance(body, dict):
            raise _blaming_the_header(error) from None
        raise
    status = "PLACED" if placed.created else await placed.handle.query(OrderWorkflow.status)
    response.headers["Location"] = f"/v1/orders/{placed.order.order_id}"
    return PlacedOut(order_id=placed.order.order_id, workflow_id=placed.workflow_id,
                     status=status, created=placed.created)


def _cursor(row: OrderRow) -> str:
    raw = json.dumps([row.placed_at.isoformat(), row.order_id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _position(cursor: str) -> tuple[datetime, str]:
    """The (placed_at, order_id) a cursor this API issued points after."""
    try:
        at, order_id = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        when = datetime.fromisoformat(at)
        if when.tzinfo is None or not re.fullmatch(ORDER_ID_PATTERN, order_id):
            raise ValueError(cursor)
    except (ValueError, TypeError):
        raise InvalidField("query.cursor", "not a cursor this API issued",
                           kind=BUSINESS_RULE) from None
    return when, order_id


def _check_may_list(caller: ApiKey, customer_id: str | None) -> None:
    if may(caller.role, Right.LIST_ORDERS):
        return
    if not may(caller.role, Right.LIST_CUSTOMER_ORDERS):
        raise HTTPException(403, f"the {caller.role} role may not list orders")
    if not customer_id:
        raise HTTPException(403, f"the {caller.role} role may list orders only by customer_id")


SearchText = Annotated[Annotated[str, Text(MAX_NAME, required=True)] | None, Query()]


@router.get("", response_model=OrderPage, responses=problem_responses(
    401, 403, 422, why={403: "The key's role may not list orders, or (storefront) "
                             "not without customer_id."}))
async def list_orders(
        svc: Services, caller: Annotated[ApiKey, Depends(authenticated)],
        order_id: Annotated[Annotated[str, Matching(ORDER_ID_PATTERN)] | None, Query()] = None,
        customer_id: SearchText = None, email: SearchText = None,
        status: OrderStatus | None = None,
        placed_from: Annotated[DateTime | None, Query(
            description="Placed at or after (ISO 8601 with a zone).")] = None,
        placed_to: Annotated[DateTime | None, Query(
            description="Placed before (ISO 8601 with a zone).")] = None,
        cursor: Annotated[Annotated[str, Matching(r"^[A-Za-z0-9_-]*$", 500)] | None,
                          Query()] = None,
        limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50) -> OrderPage:
    """Searches the orders' database record, newest first, a page at a time (support; the
    storefront lists one customer's orders)."""
    _check_may_list(caller, customer_id)
    if placed_from and placed_to and placed_to <= placed_from:
        # A rule across two parameters, which no schema of either can state.
        raise InvalidField("query.placed_to", "must be after placed_from", kind=BUSINESS_RULE)
    rows = await svc.orders.list(
        status=status and status.value, customer_id=customer_id, order_id=order_id, email=email,
        placed_from=placed_from, placed_to=placed_to,
        after=_position(cursor) if cursor else None, limit=limit + 1)
    page = rows[:limit]
    return OrderPage(
        orders=[OrderSummary(**order_row_json(row) | {"customer_email": row.customer_email})
                for row in page],
        next_cursor=_cursor(page[-1]) if len(rows) > limit else None)


@router.get("/{order_id}", response_model=OrderOut, responses=problem_responses(
    401, 403, 404, 409, 422, why={409: "The order's workflow was terminated or failed."}))
async def get_order(order_id: OrderId, svc: Services,
                    _caller: Annotated[ApiKey, Depends(require(Right.READ_ORDER))]) -> Any:
    """The order as its workflow sees it now: status, money, shipments, timeline."""
    return order_json(await svc.orders.view(order_id))


@router.post("/{order_id}/cancel", response_model=OrderOut,
             responses=problem_responses(401, 403, 404, 409, 422, 504))
async def cancel_order(order_id: OrderId, body: CancelIn, svc: Services,
                       caller: Annotated[ApiKey, Depends(require(Right.CANCEL_ORDER))]) -> Any:
    """Cancels an order that has not shipped and answers once it is unwound."""
    return order_json(await svc.orders.cancel(order_id, body.reason, actor=caller.name))


@router.post("/{order_id}/retry", response_model=OrderOut,
             responses=problem_responses(401, 403, 404, 409, 422, 504))
async def retry_order_step(
        order_id: OrderId, svc: Services,
        caller: Annotated[ApiKey, Depends(require(Right.RETRY_STEP))]) -> Any:
    """Runs again the step the order waits on for support, once its cause is fixed; 409 when
    no step waits. Answers at once: the outcome shows on the timeline."""
    return order_json(await svc.orders.retry(order_id, actor=caller.name))


@router.post("/{order_id}/refunds", response_model=OrderOut,
             responses=problem_responses(401, 403, 404, 409, 422, 504))
async def refund_order(order_id: OrderId, body: RefundIn, svc: Services,
                       caller: Annotated[ApiKey, Depends(require(Right.REFUND_ORDER))]) -> Any:
    """Refunds up to what was captured and not yet refunded."""
    try:
        view = await svc.orders.refund(order_id, body.amount, body.reason, actor=caller.name)
    except InvalidMoney as error:
        raise InvalidField("amount", str(error), kind=BUSINESS_RULE) from None
    return order_json(view)


_CONFIRMATION_REFUSALS = problem_responses(
    401, 403, 404, 409, 422, why={409: "The order has ended: it can no longer change."})


@router.post("/{order_id}/picks", status_code=202, response_model=ConfirmationOut,
             responses=_CONFIRMATION_REFUSALS)
async def confirm_pick(order_id: OrderId, svc: Services,
                       caller: Annotated[ApiKey, Depends(require(Right.CONFIRM_PICK))],
                       body: ConfirmationIn | None = None) -> ConfirmationOut:
    """Warehouse: the order's items are picked. The order notes a pick its state refuses on
    its timeline."""
    warehouse = body.warehouse if body else ""
    await svc.orders.confirm_pick(order_id, caller.name, warehouse)
    return ConfirmationOut(order_id=order_id, step="pick", warehouse=warehouse, actor=caller.name)


@router.post("/{order_id}/packs", status_code=202, response_model=ConfirmationOut,
             responses=_CONFIRMATION_REFUSALS)
async def confirm_pack(order_id: OrderId, svc: Services,
                       caller: Annotated[ApiKey, Depends(require(Right.CONFIRM_PACK))],
                       body: ConfirmationIn | None = None) -> ConfirmationOut:
    """Warehouse: the order's parcel is packed. The order notes a pack its state refuses (not
    yet picked) on its timeline."""
    warehouse = body.warehouse if body else ""
    await svc.orders.confirm_pack(order_id, caller.name, warehouse)
    return ConfirmationOut(order_id=order_id, step="pack", warehouse=warehouse, actor=caller.name)
