"""Support's, the warehouse's and the customer's actions after delivery: returns, their
receipt and decision, what to do with a parcel that did not arrive, and the rating.

Every input is checked here before the workflow sees it; the workflow's update validators
then refuse what its state does not allow, with the reason."""

from __future__ import annotations

from typing import TypeVar

import structlog

from activities.db.catalogue_repository import CatalogueRepository
from activities.db.return_repository import ReturnRepository
from api.asks import ask
from api.orders import OrderNotFound, OrderService, checked_actor
from domain.errors import InvalidOrder, InvalidRequest
from domain.returns import Condition, Resolution, ReturnLine, parse_reason
from domain.satisfaction import RATINGS
from domain.text_rules import MAX_CODE, MAX_COMMENT, MAX_REASON, checked_text
from workflows.order_contract import (
    DECIDE_RETURN,
    OPEN_RETURN,
    RATE,
    RECEIVE_RETURN,
    RESOLVE_DELIVERY,
    DeliveryDecision,
    InspectedLine,
    OrderView,
    Rating,
    ReturnDecision,
    ReturnReceipt,
    ReturnRequest,
    ReturnView,
    SupportRequest,
    SurveyView,
)

log = structlog.get_logger(__name__)
A = TypeVar("A")
R = TypeVar("R")


class AftercareService:
    def __init__(self, orders: OrderService) -> None:
        self.orders = orders

    async def request_return(self, order_id: str, lines: dict[str, int], reason: str,
                             comment: str = "", *, exchange: dict[str, str] | None = None,
                             actor: str = "support") -> ReturnView:
        """Opens a return (an RMA with a prepaid label) for delivered units."""
        comment, actor = _comment(comment), checked_actor(actor)
        request = ReturnRequest(
            await self._return_lines(lines, exchange or {}), _reason(reason), comment,
            (Resolution.EXCHANGE if exchange else Resolution.REFUND).value, actor)
        view = await self._ask(order_id, OPEN_RETURN, request)
        log.info("return.requested", order_id=order_id, rma=view.rma, reason=view.reason)
        return view

    async def receive_return(self, rma: str, lines: dict[str, int], condition: str,
                             actor: str = "warehouse") -> ReturnView:
        """Books what came back in one condition; several conditions are several lines."""
        return await self.inspect_return(rma, {sku: {condition: qty} for sku, qty in lines.items()},
                                         actor)

    async def inspect_return(self, rma: str, counts: dict[str, dict[str, int]],
                             actor: str = "warehouse") -> ReturnView:
        """Books the returned parcel: per SKU, how many units came back in each condition."""
        actor = checked_actor(actor)
        inspected = []
        for sku, by_condition in counts.items():
            for name in by_condition:
                _condition(name)
            quantities = {Condition(c).value: q for c, q in by_condition.items()}
            inspected.append(InspectedLine(sku, quantities.get("resellable", 0),
                                           quantities.get("damaged", 0)))
        _positive({line.sku: line.resellable + line.damaged for line in inspected})
        order_id = await self._order_of(rma)
        return await self._ask(order_id, RECEIVE_RETURN, ReturnReceipt(rma, inspected, actor))

    async def decide_return(self, rma: str, *, accept: bool, reason: str = "",
                            actor: str = "support") -> ReturnView:
        reason, actor = _optional_reason(reason), checked_actor(actor)
        if not accept and not reason:
            raise InvalidRequest("reason", "a rejection needs a reason")
        order_id = await self._order_of(rma)
        return await self._ask(order_id, DECIDE_RETURN,
                               ReturnDecision(rma, accept, reason.strip(), actor))

    async def resolve_delivery(self, order_id: str, action: str, tracking_number: str = "",
                               actor: str = "support") -> OrderView:
        """Support's answer to a parcel returned to sender or lost: reship or refund."""
        if action not in ("reship", "refund"):
            raise InvalidRequest("action", f"must be reship or refund, not {action!r}")
        tracking_number = checked_text("tracking_number", tracking_number, max_length=MAX_CODE)
        actor = checked_actor(actor)
        return await self._ask(order_id, RESOLVE_DELIVERY,
                               DeliveryDecision(tracking_number, action, actor))

    async def rate(self, order_id: str, rating: int, comment: str = "",
                   actor: str = "customer") -> SurveyView:
        if rating not in RATINGS:
            raise InvalidRequest("rating", f"must be between 1 and 5, not {rating}")
        comment, actor = _comment(comment), checked_actor(actor)
        return await self._ask(order_id, RATE, Rating(rating, comment, actor))

    async def _return_lines(self, lines: dict[str, int],
                            exchange: dict[str, str]) -> list[ReturnLine]:
        _positive(lines)
        unknown = sorted(set(exchange) - set(lines))
        if unknown:
            raise InvalidRequest("exchange", f"{', '.join(unknown)} is not in the return lines")
        async with self.orders.session_factory() as session:
            known = (await CatalogueRepository(session).load()).products
        missing = sorted(set(exchange.values()) - set(known))
        if missing:  # well formed, but the catalogue does not know it
            raise InvalidOrder("exchange", f"unknown SKU {', '.join(missing)}")
        return [ReturnLine(sku, qty, exchange.get(sku, "")) for sku, qty in lines.items()]

    async def _order_of(self, rma: str) -> str:
        async with self.orders.session_factory() as session:
            found = await ReturnRepository(session).get(rma)
        if found is None:
            raise OrderNotFound(f"no return {rma!r}")
        return found.order_id

    async def _ask(self, order_id: str, request: SupportRequest[A, R], argument: A) -> R:
        handle = await self.orders.running_handle(order_id)
        return await ask(handle, request, argument)


def _comment(text: str) -> str:
    return checked_text("comment", text, max_length=MAX_COMMENT, multiline=True)


def _optional_reason(text: str) -> str:
    return checked_text("reason", text, max_length=MAX_REASON)


def _reason(text: str) -> str:
    try:
        return parse_reason(text).value
    except ValueError as error:
        raise InvalidRequest("reason", str(error)) from None


def _condition(text: str) -> None:
    if text not in {c.value for c in Condition}:
        raise InvalidRequest("condition", f"must be resellable or damaged, not {text!r}")


def _positive(lines: dict[str, int]) -> None:
    if not lines:
        raise InvalidRequest("lines", "name at least one SKU and quantity")
    for sku, qty in lines.items():
        if not sku.strip():
            raise InvalidRequest("lines", "a SKU is empty")
        checked_text(f"lines.{sku!r}", sku, max_length=MAX_CODE)
        if qty <= 0:
            raise InvalidRequest(f"lines.{sku}", f"quantity must be positive, not {qty}")
