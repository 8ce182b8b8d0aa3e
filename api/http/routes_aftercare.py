"""After delivery: returns (open, receive, accept or reject), what to do with a parcel that
did not arrive, and the customer's rating. Each answers through a Workflow Update: 200 with
the new state, or 409 with the reason the order refused."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path
from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag

from api.api_keys import ApiKey
from api.checkout import ORDER_ID_PATTERN
from api.http.auth import require, services
from api.http.problems import problem_responses
from api.http.routes_orders import MoneyOut
from api.http.services import ApiServices
from api.numbers import Whole
from api.text import Comment, Matching, OptionalReason, Reason, Text
from domain.access import Right
from domain.order import MAX_LINES, MAX_UNITS_PER_LINE
from domain.text_rules import MAX_CODE, MAX_COMMENT
from workers.render import order_json, return_json, survey_json

router = APIRouter(prefix="/v1", tags=["returns and aftercare"])
Services = Annotated[ApiServices, Depends(services)]
OrderId = Annotated[str, Path(description="The order's id."), Matching(ORDER_ID_PATTERN)]
Rma = Annotated[str, Path(description="The RMA."), Matching(r"^RMA-[A-Za-z0-9._-]{1,80}$")]
Sku = Annotated[str, Matching(r"^[A-Za-z0-9._-]+$", MAX_CODE)]
Quantity = Annotated[int, Whole(1, MAX_UNITS_PER_LINE)]
Units = Annotated[int, Whole(0, MAX_UNITS_PER_LINE)]
REFUSALS = problem_responses(401, 403, 404, 409, 422, 504)


class ReturnLineIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    sku: Sku
    quantity: Quantity
    exchange_sku: Sku | None = Field(
        None, description="For an exchange: the other variant of the same product to send.")


ReturnLines = Annotated[list[ReturnLineIn], Field(min_length=1, max_length=MAX_LINES)]
# Every ReturnReason but OTHER, spelt out for the type checker (a unit test compares them).
ListedReason = Literal["SIZE_TOO_SMALL", "SIZE_TOO_LARGE", "DEFECTIVE", "DAMAGED_IN_TRANSIT",
                       "WRONG_ITEM", "NOT_AS_DESCRIBED", "CHANGED_MIND", "ARRIVED_LATE"]


class ReturnIn(BaseModel):
    """A return for one of the listed reasons; the comment is optional."""

    model_config = ConfigDict(extra="forbid")
    lines: ReturnLines
    reason: ListedReason
    comment: Comment = ""


class OtherReturnIn(BaseModel):
    """A return for another reason, which the comment must say."""

    model_config = ConfigDict(extra="forbid")
    lines: ReturnLines
    reason: Literal["OTHER"]
    comment: Annotated[str, Text(MAX_COMMENT, required=True, multiline=True)]


AnyReturnIn = Annotated[ReturnIn | OtherReturnIn, Field(discriminator="reason")]


class ResellableIn(BaseModel):
    """A returned SKU with at least one resellable unit."""

    model_config = ConfigDict(extra="forbid")
    sku: Sku
    resellable: Quantity
    damaged: Units = 0


class DamagedIn(BaseModel):
    """A returned SKU with damaged units only."""

    model_config = ConfigDict(extra="forbid")
    sku: Sku
    resellable: Annotated[int, Whole(0, 0)] = 0
    damaged: Quantity


class ReceiptIn(BaseModel):
    """What came back; lines naming the same SKU are added together."""

    model_config = ConfigDict(extra="forbid")
    lines: Annotated[list[ResellableIn | DamagedIn], Field(min_length=1, max_length=MAX_LINES)]


class AcceptIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    accept: Literal[True]
    reason: OptionalReason = ""


class RejectIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    accept: Literal[False]
    reason: Reason = Field(description="Why the return is rejected.")


def _accepts(body: Any) -> str | None:
    accept = body.get("accept") if isinstance(body, dict) else getattr(body, "accept", None)
    return {True: "Accepted", False: "Rejected"}.get(accept) if isinstance(accept, bool) else None


# Tags start with a capital letter, so error paths can leave them out (api.http.problems).
DecisionIn = Annotated[Annotated[AcceptIn, Tag("Accepted")] | Annotated[RejectIn, Tag("Rejected")],
                       Discriminator(_accepts, custom_error_type="invalid_decision",
                                     custom_error_message="accept must be true or false",
                                     custom_error_context={"discriminator": "'accept'"})]


class DeliveryDecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    action: Literal["reship", "refund"]
    tracking_number: Annotated[str, Text(MAX_CODE)] = ""


class RatingIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    rating: Annotated[int, Whole(1, 5)]
    comment: Comment = ""


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
async def open_return(order_id: OrderId, body: AnyReturnIn, svc: Services,
                      caller: Annotated[ApiKey, Depends(require(Right.OPEN_RETURN))]) -> Any:
    """Opens a return (an RMA with a prepaid label) for delivered units; with exchange SKUs
    the other variant is sent instead of a refund."""
    exchange = {line.sku: line.exchange_sku for line in body.lines if line.exchange_sku}
    lines: dict[str, int] = {}
    for line in body.lines:
        lines[line.sku] = lines.get(line.sku, 0) + line.quantity
    view = await svc.aftercare.request_return(order_id, lines, body.reason, body.comment,
                                              exchange=exchange, actor=caller.name)
    return return_json(view)


@router.post("/returns/{rma}/receipt", response_model=ReturnOut, responses=REFUSALS)
async def receive_return(rma: Rma, body: ReceiptIn, svc: Services,
                         caller: Annotated[ApiKey, Depends(require(Right.RECEIVE_RETURN))]) -> Any:
    """Books the returned parcel: resellable units go back into stock, damaged are written
    off. A clean return is refunded at once; damaged units wait for support's decision."""
    counts: dict[str, dict[str, int]] = {}
    for line in body.lines:
        count = counts.setdefault(line.sku, {"resellable": 0, "damaged": 0})
        count["resellable"] += line.resellable
        count["damaged"] += line.damaged
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
