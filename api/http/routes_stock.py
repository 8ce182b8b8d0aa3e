"""/v1/stock: the warehouse books deliveries and reads levels (support reads them too)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field

from api.api_keys import ApiKey
from api.checkout import ORDER_ID_PATTERN
from api.http.auth import require, services
from api.http.problems import UnknownResource, problem_responses
from api.http.services import ApiServices
from api.numbers import Whole
from api.stock import Receipt
from api.text import Matching, Reference
from domain.access import Right
from domain.errors import InvalidStockChange
from domain.inventory import MAX_STOCK_CHANGE

router = APIRouter(prefix="/v1/stock", tags=["stock"])
Services = Annotated[ApiServices, Depends(services)]
# The stock repository names an unknown SKU or warehouse in an InvalidStockChange; these are
# the openings of those messages, which the API answers with 404 rather than 422.
_UNKNOWN = {"unknown SKU": "SKU not found", "unknown warehouse": "Warehouse not found"}


Code = Annotated[str, Matching(ORDER_ID_PATTERN)]  # a SKU or warehouse code


class ReceiptIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    sku: Code
    warehouse: Code
    quantity: Annotated[int, Whole(1, MAX_STOCK_CHANGE)]
    reference: Reference = Field(
        "", description="The delivery's purchase order; marks a matching expected delivery received.")


class FillOut(BaseModel):
    order_id: str
    quantity: int
    order_complete: bool = Field(description="Every backordered unit of the order is now held.")


class ReceiptOut(BaseModel):
    sku: str
    warehouse: str
    quantity: int
    on_hand: int = Field(description="On hand after the receipt.")
    salable: int = Field(description="Salable after the receipt and the backorders it filled.")
    backorders_filled: list[FillOut] = Field(description="Oldest first.")


class LevelOut(BaseModel):
    sku: str
    warehouse: str
    on_hand: int
    reserved: int
    safety_stock: int
    campaign_held: int
    salable: int
    incoming: int
    reorder_point: int


def _receipt_out(receipt: Receipt) -> ReceiptOut:
    return ReceiptOut(
        sku=receipt.sku, warehouse=receipt.warehouse, quantity=receipt.quantity,
        on_hand=receipt.on_hand_after, salable=receipt.salable_after,
        backorders_filled=[FillOut(order_id=f.order_id, quantity=f.quantity,
                                   order_complete=f.order_complete) for f in receipt.fills])


@router.post("/receipts", status_code=201, response_model=ReceiptOut,
             responses=problem_responses(401, 403, 404, 422,
                                         why={404: "No such SKU or warehouse."}))
async def receive_stock(body: ReceiptIn, svc: Services,
                        caller: Annotated[ApiKey, Depends(require(Right.RECEIVE_STOCK))]
                        ) -> ReceiptOut:
    """Books a delivery into a warehouse; waiting backorders get its units oldest first and
    their orders are woken."""
    try:
        receipt = await svc.stock.receive(body.sku, body.warehouse, body.quantity,
                                          reference=body.reference, actor=caller.name)
    except InvalidStockChange as error:
        title = next((t for opening, t in _UNKNOWN.items() if str(error).startswith(opening)), None)
        if title is None:
            raise
        raise UnknownResource(title, str(error)) from None
    return _receipt_out(receipt)


@router.get("", response_model=list[LevelOut], responses=problem_responses(401, 403, 422))
async def stock_levels(
        svc: Services, _caller: Annotated[ApiKey, Depends(require(Right.READ_STOCK))],
        sku: Annotated[Code | None, Query()] = None,
        warehouse: Annotated[Code | None, Query()] = None) -> list[LevelOut]:
    """Stock levels by SKU and warehouse: on hand, reserved, held back, salable, incoming."""
    return [LevelOut(sku=level.sku, warehouse=level.warehouse, on_hand=level.on_hand,
                     reserved=level.reserved, safety_stock=level.safety_stock,
                     campaign_held=level.campaign_held, salable=level.salable,
                     incoming=level.incoming, reorder_point=level.reorder_point)
            for level in await svc.stock.show(sku, warehouse)]
