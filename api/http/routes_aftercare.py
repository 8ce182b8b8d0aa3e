"""After delivery: returns (open, receive, accept or reject), what to do with a parcel that
did not arrive, and the customer's rating. Each answers through a Workflow Update: 200 with
the new state, or 409 with the reason the order refused."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from api.api_keys import ApiKey
from api.checkout import NO_NUL, ORDER_ID_PATTERN
from api.http.auth import require, services
from api.http.problems import problem_responses
from api.http.routes_orders import MoneyOut
from api.http.services import ApiServices
from domain.access import Right
from domain.returns import ReturnReason
from workers.render import order_json, return_json, survey_json

router = APIRouter(prefix="/v1", tags=["returns and aftercare"])
Services = Annotated[ApiServices, Depends(services)]
OrderId = Annotated[str, Path(pattern=ORDER_ID_PATTERN, description="The order's id.")]
Rma = Annotated[str, Path(pattern=r"^RMA-[A-Za-z0-9._-]{1,80}$", description="The RMA.")]
Sku = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64,
                                       pattern=r"^[A-Za-z0-9._-]+$")]
Text = Annotated[str, StringConstraints(strip_whitespace=True, max_length=500, pattern=NO_NUL)]
Quantity = Annotated[int, Field(ge=1, le=10_000)]
REFUSALS = problem_responses(401, 403, 404, 409, 422)


class ReturnLineIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    sku: Sku
    quantity: Quantity
    exchange_sku: Sku | None = Field(
        None, description="For an exchange: the other variant of the same product to send.")


class ReturnIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    lines: Annotated[list[ReturnLineIn], Field(min_length=1, max_length=100)]
    reason: ReturnReason
    comment: Text = Field("", description="Required with reason OTHER.")


class InspectedIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    sku: Sku
    resellable: Annotated[int, Field(ge=0, le=10_000)] = 0
    damaged: Annotated[int, Field(ge=0, le=10_000)] = 0


class ReceiptIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    lines: Annotated[list[InspectedIn], Field(min_length=1, max_length=100)]


class DecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    accept: bool
    reason: Text = Field("", description="Required when rejecting.")


class DeliveryDecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    action: Literal["reship", "refund"]
    tracking_number: Annotated[str, StringConstraints(max_length=64, pattern=NO_NUL)] = ""


class RatingIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    rating: Annotated[int, Field(ge=1, le=5)]
    comment: Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000,
                                              pattern=NO_NUL)] = ""


class ReturnLineOut(BaseModel):
    sku: str
    quantity: int
    exchange_sku: str


class ReturnOut(BaseModel):
    rma: str
    reason: str
    comment: str
    resolution: str
    lines: list[ReturnLineOut]
    reception: str = Field(description="awaiting | in_transit | received | lost")
    acceptance: str = Field(description="pending | accepted | rejected")
    rejection_reason: str
    carrier: str
    tracking_number: str
    label_url: str
    refunded: MoneyOut | None


class SurveyOut(BaseModel):
    status: str
    sent_at: str
    expires_at: str
    rating: int | None
    comment: str


@router.post("/orders/{order_id}/returns", response_model=ReturnOut, responses=REFUSALS)
async def open_return(order_id: OrderId, body: ReturnIn, svc: Services,
                      caller: Annotated[ApiKey, Depends(require(Right.OPEN_RETURN))]) -> Any:
    """Opens a return (an RMA with a prepaid label) for delivered units; with exchange SKUs
    the other variant is sent instead of a refund."""
    exchange = {line.sku: line.exchange_sku for line in body.lines if line.exchange_sku}
    lines: dict[str, int] = {}
    for line in body.lines:
        lines[line.sku] = lines.get(line.sku, 0) + line.quantity
    view = await svc.aftercare.request_return(order_id, lines, body.reason.value, body.comment,
                                              exchange=exchange, actor=caller.name)
    return return_json(view)


@router.post("/returns/{rma}/receipt", response_model=ReturnOut, responses=REFUSALS)
async def receive_return(rma: Rma, body: ReceiptIn, svc: Services,
                         caller: Annotated[ApiKey, Depends(require(Right.RECEIVE_RETURN))]) -> Any:
    """Books the returned parcel: resellable units go back into stock, damaged are written
    off. A clean return is refunded at once; damaged units wait for support's decision."""
    counts = {line.sku: {"resellable": line.resellable, "damaged": line.damaged}
              for line in body.lines}
    return return_json(await svc.aftercare.inspect_return(rma, counts, actor=caller.name))


@router.post("/returns/{rma}/decision", response_model=ReturnOut, responses=REFUSALS)
async def decide_return(rma: Rma, body: DecisionIn, svc: Services,
                        caller: Annotated[ApiKey, Depends(require(Right.DECIDE_RETURN))]) -> Any:
    """Accepts a return held for review (then refunds or exchanges), or rejects it."""
    return return_json(await svc.aftercare.decide_return(
        rma, accept=body.accept, reason=body.reason, actor=caller.name))


@router.post("/orders/{order_id}/delivery-decision", responses=REFUSALS)
async def resolve_delivery(order_id: OrderId, body: DeliveryDecisionIn, svc: Services,
                           caller: Annotated[ApiKey, Depends(
                               require(Right.RESOLVE_DELIVERY))]) -> Any:
    """Reships or refunds a parcel the carrier returned to sender or lost."""
    return order_json(await svc.aftercare.resolve_delivery(
        order_id, body.action, body.tracking_number, actor=caller.name))


@router.post("/orders/{order_id}/rating", response_model=SurveyOut, responses=REFUSALS)
async def rate_order(order_id: OrderId, body: RatingIn, svc: Services,
                     caller: Annotated[ApiKey, Depends(require(Right.RATE_ORDER))]) -> Any:
    """The customer's answer to the satisfaction survey: once, 1 to 5, while it is open."""
    return survey_json(await svc.aftercare.rate(order_id, body.rating, body.comment,
                                                actor=caller.name))
