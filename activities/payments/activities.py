"""Activities that move money through the gateway and record each operation. The key the
workflow passes is the gateway's idempotency key, so a retried activity never charges twice."""

from __future__ import annotations

from dataclasses import dataclass

import structlog
from temporalio import activity

from activities.db.engine import SessionFactory
from activities.db.order_repository import PaymentRepository
from activities.errors import PAYMENT_DECLINED, business_failure
from activities.payments.gateway import GatewayReceipt, PaymentDeclined, PaymentGateway
from domain.money import Money

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class AuthorizeInput:
    order_id: str
    key: str
    method: str
    token: str
    amount: Money
    customer_id: str


@dataclass(frozen=True)
class PaymentInput:
    """Capture, void or refund against an authorization (amount unused by void)."""

    order_id: str
    key: str
    method: str
    authorization: str
    amount: Money
    reason: str = ""


@dataclass(frozen=True)
class PaymentReceipt:
    reference: str
    amount: Money


class PaymentActivities:
    def __init__(self, gateway: PaymentGateway, session_factory: SessionFactory) -> None:
        self.gateway = gateway
        self.session_factory = session_factory

    @activity.defn(name="authorize_payment")
    async def authorize_payment(self, input: AuthorizeInput) -> PaymentReceipt:
        """Holds the order total on the customer's payment method."""
        receipt = await self._call(self.gateway.authorize(
            idempotency_key=input.key, method=input.method, token=input.token,
            amount=input.amount, customer_id=input.customer_id))
        await self._record(input.order_id, input.key, "authorize", input.method, receipt)
        return PaymentReceipt(receipt.reference, receipt.amount)

    @activity.defn(name="capture_payment")
    async def capture_payment(self, input: PaymentInput) -> PaymentReceipt:
        """Takes the held money once stock is secured."""
        receipt = await self._call(self.gateway.capture(
            idempotency_key=input.key, authorization=input.authorization, amount=input.amount))
        await self._record(input.order_id, input.key, "capture", input.method, receipt)
        return PaymentReceipt(receipt.reference, receipt.amount)

    @activity.defn(name="void_payment")
    async def void_payment(self, input: PaymentInput) -> PaymentReceipt:
        """Releases an authorization that will not be captured."""
        receipt = await self._call(self.gateway.void(
            idempotency_key=input.key, authorization=input.authorization))
        await self._record(input.order_id, input.key, "void", input.method, receipt, input.reason)
        return PaymentReceipt(receipt.reference, receipt.amount)

    @activity.defn(name="refund_payment")
    async def refund_payment(self, input: PaymentInput) -> PaymentReceipt:
        """Gives captured money back, in part or in full."""
        receipt = await self._call(self.gateway.refund(
            idempotency_key=input.key, authorization=input.authorization, amount=input.amount))
        await self._record(input.order_id, input.key, "refund", input.method, receipt,
                           input.reason)
        return PaymentReceipt(receipt.reference, receipt.amount)

    @staticmethod
    async def _call(operation) -> GatewayReceipt:  # type: ignore[no-untyped-def]
        # GatewayUnavailable propagates unchanged: Temporal retries it under the same key.
        try:
            return await operation
        except PaymentDeclined as declined:
            raise business_failure(PAYMENT_DECLINED, str(declined)) from declined

    async def _record(self, order_id: str, key: str, kind: str, method: str,
                      receipt: GatewayReceipt, reason: str = "") -> None:
        async with self.session_factory.begin() as session:
            await PaymentRepository(session).record(
                key=key, order_id=order_id, kind=kind, method=method,
                amount=receipt.amount.amount, currency=receipt.amount.currency,
                gateway_ref=receipt.reference, reason=reason)
        log.info(f"payment.{kind}", key=key, amount=receipt.amount.amount,
                 currency=receipt.amount.currency, reference=receipt.reference)
