"""What fulfil needs from a payment gateway. Every call carries an idempotency key: the
gateway answers a repeated key with the first answer and moves no money twice."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from domain.money import Money


class PaymentDeclined(Exception):
    """The gateway refused for a business reason; retrying will not help."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code  # card_declined | insufficient_funds | invalid_token | ...
        self.message = message


class GatewayUnavailable(Exception):
    """A transient failure (timeout, 5xx, rate limit): the same call may be retried."""


@dataclass(frozen=True)
class GatewayReceipt:
    """The gateway's answer to authorize, capture, void or refund."""

    reference: str  # authorization id for authorize; operation id otherwise
    amount: Money
    status: str  # authorized | captured | voided | refunded


class PaymentGateway(Protocol):
    async def authorize(
        self, *, idempotency_key: str, method: str, token: str, amount: Money, customer_id: str
    ) -> GatewayReceipt: ...

    async def capture(
        self, *, idempotency_key: str, authorization: str, amount: Money
    ) -> GatewayReceipt: ...

    async def void(self, *, idempotency_key: str, authorization: str) -> GatewayReceipt: ...

    async def refund(
        self, *, idempotency_key: str, authorization: str, amount: Money
    ) -> GatewayReceipt: ...
