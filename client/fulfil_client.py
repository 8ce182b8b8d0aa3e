"""FulfilClient: the fulfil HTTP API for Python storefronts, async on httpx."""

from __future__ import annotations

import asyncio
import random
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from types import TracebackType
from typing import Any
from urllib.parse import quote

import httpx

from client.errors import FulfilError, Unreachable, error_from_response
from client.results import Order, OrderPage, PlacedOrder, ReturnAuthorization

# A gateway or load balancer answering for a server that is restarting or overloaded.
RETRYABLE_STATUSES = frozenset({502, 503, 504})


@dataclass(frozen=True)
class Backoff:
    """How often and how patiently a call that is safe to repeat is retried."""

    attempts: int = 4  # the first try and up to three retries
    first_delay_s: float = 0.2
    max_delay_s: float = 5.0

    def delay(self, retry: int) -> float:
        # Full jitter: storefronts that lost the API together do not all come back together.
        return random.uniform(0, min(self.max_delay_s, self.first_delay_s * 2 ** retry))


def new_idempotency_key() -> str:
    """A fresh order id in the server's own format, to place an order exactly once."""
    return f"ORD-{secrets.token_hex(8).upper()}"


class FulfilClient:
    """`async with FulfilClient("https://fulfil.internal", api_key) as fulfil: ...`

    Reads and placing an order are retried on connection errors and 502/503/504 (placing is
    idempotent through its order id); cancel, refund and return requests are sent once.
    Refusals raise `OrderRefused`, bad input `InvalidOrder`, key problems `NotAuthorized`."""

    def __init__(self, base_url: str, api_key: str, *, timeout: float = 10.0,
                 backoff: Backoff | None = None,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self._http = httpx.AsyncClient(
            base_url=base_url, timeout=timeout, transport=transport,
            headers={"Authorization": f"Bearer {api_key}", "Accept": "application/json"})
        self._backoff = backoff or Backoff()

    async def __aenter__(self) -> FulfilClient:
        return self

    async def __aexit__(self, kind: type[BaseException] | None, error: BaseException | None,
                        traceback: TracebackType | None) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def place_order(self, payload: Mapping[str, Any],
                          idempotency_key: str | None = None) -> PlacedOrder:
        """Places an order from a checkout payload. Its order id (the payload's, the given
        key, or one generated here) makes every retry the same order, charged once."""
        headers = {}
        if payload.get("order_id") is None:
            headers["Idempotency-Key"] = idempotency_key or new_idempotency_key()
        response = await self._send("POST", "/v1/orders", idempotent=True, json=dict(payload),
                                    headers=headers)
        return PlacedOrder.model_validate(response.json())

    async def get_order(self, order_id: str) -> Order:
        """The order as its workflow sees it now."""
        response = await self._send("GET", _order_path(order_id), idempotent=True)
        return Order.model_validate(response.json())

    async def list_orders(self, **filters: Any) -> OrderPage:
        """A page of orders, newest first: `customer_id=`, `status=`, `email=`, `order_id=`,
        `placed_from=`/`placed_to=` (aware datetimes), `limit=`, `cursor=` (the last page's
        `next_cursor`)."""
        params = {name: _query_value(value) for name, value in filters.items()
                  if value is not None}
        response = await self._send("GET", "/v1/orders", idempotent=True, params=params)
        return OrderPage.model_validate(response.json())

    async def cancel(self, order_id: str, reason: str) -> Order:
        """Cancels an order that has not shipped; answers once it is unwound."""
        response = await self._send("POST", f"{_order_path(order_id)}/cancel", idempotent=False,
                                    json={"reason": reason})
        return Order.model_validate(response.json())

    async def refund(self, order_id: str, amount: str | Decimal, reason: str) -> Order:
        """Refunds `amount` ("5.00", in the order's currency) of what was captured."""
        if not isinstance(amount, str | Decimal):
            raise TypeError("amount must be a str or Decimal such as '5.00', never a float")
        response = await self._send("POST", f"{_order_path(order_id)}/refunds", idempotent=False,
                                    json={"amount": str(amount), "reason": reason})
        return Order.model_validate(response.json())

    async def request_return(self, order_id: str, lines: Mapping[str, int], reason: str,
                             comment: str = "") -> ReturnAuthorization:
        """Opens a return of `lines` ({sku: quantity}) of a delivered order; `reason` is one
        of the API's return reasons (SIZE_TOO_LARGE, DEFECTIVE, ..., OTHER with a comment)."""
        body = {"lines": [{"sku": sku, "quantity": quantity} for sku, quantity in lines.items()],
                "reason": reason, "comment": comment}
        response = await self._send("POST", f"{_order_path(order_id)}/returns",
                                    idempotent=False, json=body)
        return ReturnAuthorization.model_validate(response.json())

    async def _send(self, method: str, path: str, *, idempotent: bool,
                    **request: Any) -> httpx.Response:
        attempts = self._backoff.attempts if idempotent else 1
        for retry in range(attempts):
            outcome = await self._attempt(method, path, request)
            if isinstance(outcome, httpx.Response) and (
                    outcome.status_code not in RETRYABLE_STATUSES or retry == attempts - 1):
                return _checked(outcome)
            if isinstance(outcome, FulfilError) and retry == attempts - 1:
                raise outcome
            await asyncio.sleep(self._backoff.delay(retry))
        raise AssertionError("the loop returns or raises on its last attempt")

    async def _attempt(self, method: str, path: str,
                       request: dict[str, Any]) -> httpx.Response | Unreachable:
        try:
            return await self._http.request(method, path, **request)
        except httpx.TransportError as error:
            return Unreachable(error)


def _checked(response: httpx.Response) -> httpx.Response:
    if response.is_success:
        return response
    raise error_from_response(response)


def _order_path(order_id: str) -> str:
    return f"/v1/orders/{quote(order_id, safe='')}"


def _query_value(value: Any) -> str:
    if hasattr(value, "isoformat"):
        return str(value.isoformat())
    return str(getattr(value, "value", value))
