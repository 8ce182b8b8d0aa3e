"""A payment gateway that behaves like a real one and keeps its books in PostgreSQL.

The books outlive any worker process, so a test can kill a worker mid-payment and still ask
the gateway how often it moved money.

Test tokens for `card` and `paypal`: `tok_visa` and `tok_mastercard` approve, `tok_declined`
and `tok_insufficient_funds` are declined, `tok_flaky` is unavailable on the first two
attempts of each idempotency key and then approves; anything else is an `invalid_token`.
`invoice` ignores the token and gives each customer 1000.00 of open credit per currency.
`gift_card` takes `gc_<minor units>`: a card holding that balance, which captures spend.
"""

from __future__ import annotations

import random
import re
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from activities.db.base import utcnow
from activities.db.engine import SessionFactory
from activities.payments.gateway import GatewayReceipt, GatewayUnavailable, PaymentDeclined
from activities.payments.sim_tables import (
    PaysimAuthorizationRow,
    PaysimGiftCardRow,
    PaysimOperationRow,
)
from activities.simulated_network import SimulatedNetwork
from domain.money import Money

APPROVED_TOKENS = frozenset({"tok_visa", "tok_mastercard"})
DECLINED_TOKENS = {"tok_declined": "card_declined", "tok_insufficient_funds": "insufficient_funds"}
FLAKY_TOKEN = "tok_flaky"
FLAKY_FAILURES = 2
INVOICE_CREDIT_LIMIT = "1000.00"
GIFT_CARD_TOKEN = re.compile(r"gc_(\d{1,12})")
PENDING, DECLINED = "pending", "declined"

Decision = Callable[[AsyncSession, PaysimOperationRow], Awaitable[GatewayReceipt]]


@dataclass(frozen=True)
class AuthorizationState:
    """What the gateway holds, has taken and has given back on one authorization."""

    reference: str
    method: str
    customer_id: str
    authorized: Money
    captured: Money
    refunded: Money
    voided: bool


@dataclass(frozen=True)
class OperationRecord:
    """One idempotency key as the gateway remembers it."""

    idempotency_key: str
    kind: str  # authorize | capture | void | refund
    status: str  # pending | declined | authorized | captured | voided | refunded
    attempts: int
    authorization: str | None
    reference: str | None
    amount: Money | None
    decline_code: str | None


class SimulatedGateway:
    """A PaymentGateway over a pretend network whose books are the `paysim_` tables."""

    def __init__(
        self,
        session_factory: SessionFactory,
        *,
        latency_ms: int = 40,
        transient_failure_rate: float = 0.0,
        rng: random.Random | None = None,
    ) -> None:
        self._sessions = session_factory
        self._network_link = SimulatedNetwork(latency_ms, transient_failure_rate,
                                              rng or random.Random())

    async def authorize(
        self, *, idempotency_key: str, method: str, token: str, amount: Money, customer_id: str
    ) -> GatewayReceipt:
        request = f"authorize {method} {token} {amount.amount} {amount.currency} {customer_id}"
        decide = partial(
            _authorize, method=method, token=token, amount=amount, customer_id=customer_id
        )
        return await self._call(idempotency_key, request, None, decide)

    async def capture(
        self, *, idempotency_key: str, authorization: str, amount: Money
    ) -> GatewayReceipt:
        request = f"capture {authorization} {amount.amount} {amount.currency}"
        decide = partial(_capture, authorization=authorization, amount=amount)
        return await self._call(idempotency_key, request, authorization, decide)

    async def void(self, *, idempotency_key: str, authorization: str) -> GatewayReceipt:
        decide = partial(_void, authorization=authorization)
        return await self._call(idempotency_key, f"void {authorization}", authorization, decide)

    async def refund(
        self, *, idempotency_key: str, authorization: str, amount: Money
    ) -> GatewayReceipt:
        request = f"refund {authorization} {amount.amount} {amount.currency}"
        decide = partial(_refund, authorization=authorization, amount=amount)
        return await self._call(idempotency_key, request, authorization, decide)

    async def ledger(self, authorization: str) -> AuthorizationState:
        """The authorization's running totals; LookupError if the gateway never issued it."""
        async with self._sessions() as session:
            row = await session.get(PaysimAuthorizationRow, authorization)
        if row is None:
            raise LookupError(f"no authorization {authorization!r}")
        return _state(row)

    async def authorizations_for(self, customer_id: str) -> list[AuthorizationState]:
        async with self._sessions() as session:
            rows = await session.scalars(
                select(PaysimAuthorizationRow)
                .where(PaysimAuthorizationRow.customer_id == customer_id)
                .order_by(PaysimAuthorizationRow.created_at)
            )
            return [_state(row) for row in rows]

    async def operations_for(self, idempotency_prefix: str) -> list[OperationRecord]:
        """Every key starting with the prefix (fulfil derives keys from the order id)."""
        op = PaysimOperationRow
        async with self._sessions() as session:
            rows = await session.scalars(
                select(op)
                .where(op.idempotency_key.startswith(idempotency_prefix, autoescape=True))
                .order_by(op.created_at, op.idempotency_key)
            )
            return [_record(row) for row in rows]

    async def count_operations(self, kind: str, *, authorization: str | None = None) -> int:
        """How many times money really moved this way: replays and declines do not count."""
        op = PaysimOperationRow
        query = select(func.count()).where(op.kind == kind, op.status.not_in([PENDING, DECLINED]))
        if authorization is not None:
            query = query.where(op.authorization == authorization)
        async with self._sessions() as session:
            return (await session.scalar(query)) or 0

    async def gift_card_balance(self, token: str) -> int:
        """The card's remaining balance in minor units."""
        async with self._sessions() as session:
            card = await session.get(PaysimGiftCardRow, token)
        return card.balance if card is not None else _gift_card_value(token)

    async def _call(
        self, key: str, request: str, authorization: str | None, decide: Decision
    ) -> GatewayReceipt:
        """Answers a key once, in one transaction; later calls with the key get that answer."""
        await self._network()
        async with self._sessions.begin() as session:
            op = await _claim(session, key, request, authorization)
            if op.status == PENDING:
                await _attempt(session, op, decide)
            outcome = _outcome(op)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    async def _network(self) -> None:
        """A round trip's delay, and now and then a failure before the gateway sees the call."""
        await self._network_link.round_trip(GatewayUnavailable)


async def _claim(
    session: AsyncSession, key: str, request: str, authorization: str | None
) -> PaysimOperationRow:
    """Locks the key's row, creating it on first use, so concurrent retries take turns."""
    await session.execute(
        insert(PaysimOperationRow)
        .values(
            idempotency_key=key,
            kind=request.split(" ", 1)[0],
            request=request,
            authorization=authorization,
        )
        .on_conflict_do_nothing(index_elements=["idempotency_key"])
    )
    op = await session.scalar(
        select(PaysimOperationRow).where(PaysimOperationRow.idempotency_key == key).with_for_update()
    )
    assert op is not None
    if op.request != request:
        raise PaymentDeclined("idempotency_key_reuse", f"{key!r} was first used for {op.request!r}")
    return op


async def _attempt(session: AsyncSession, op: PaysimOperationRow, decide: Decision) -> None:
    op.attempts += 1
    try:
        receipt = await decide(session, op)
    except PaymentDeclined as declined:
        op.status, op.decline_code, op.decline_message = DECLINED, declined.code, declined.message
    except GatewayUnavailable:
        return  # the attempt is counted and the key stays unanswered, so a retry tries again
    else:
        op.status, op.reference = receipt.status, receipt.reference
        op.amount, op.currency = receipt.amount.amount, receipt.amount.currency
        if op.kind == "authorize":
            op.authorization = receipt.reference
    op.answered_at = utcnow()


def _outcome(op: PaysimOperationRow) -> GatewayReceipt | Exception:
    if op.status == PENDING:
        return GatewayUnavailable(f"issuer timed out (attempt {op.attempts})")
    if op.status == DECLINED:
        return PaymentDeclined(op.decline_code or "declined", op.decline_message or "")
    assert op.reference is not None and op.amount is not None and op.currency is not None
    return GatewayReceipt(op.reference, Money(op.amount, op.currency), op.status)


async def _authorize(
    session: AsyncSession,
    op: PaysimOperationRow,
    *,
    method: str,
    token: str,
    amount: Money,
    customer_id: str,
) -> GatewayReceipt:
    _require_positive(amount)
    if method in ("card", "paypal"):
        _check_token(token, op.attempts)
    elif method == "invoice":
        await _check_credit(session, customer_id, amount)
    elif method == "gift_card":
        card = await _lock_gift_card(session, token)
        _require_funds(card, amount)
    else:
        raise PaymentDeclined("unsupported_method", f"the gateway does not take {method!r}")
    reference = f"auth_{secrets.token_hex(12)}"
    session.add(
        PaysimAuthorizationRow(
            reference=reference,
            method=method,
            token=token,
            customer_id=customer_id,
            currency=amount.currency,
            authorized=amount.amount,
        )
    )
    return GatewayReceipt(reference, amount, "authorized")


async def _capture(
    session: AsyncSession, op: PaysimOperationRow, *, authorization: str, amount: Money
) -> GatewayReceipt:
    auth = await _lock_authorization(session, authorization, amount)
    if auth.voided:
        raise PaymentDeclined("authorization_voided", f"{authorization} was voided")
    if auth.captured + amount.amount > auth.authorized:
        raise PaymentDeclined("amount_exceeds_authorization", f"{authorization} holds less")
    if auth.method == "gift_card":
        card = await _lock_gift_card(session, auth.token)
        _require_funds(card, amount)
        card.balance -= amount.amount
    auth.captured += amount.amount
    return GatewayReceipt(f"cap_{secrets.token_hex(12)}", amount, "captured")


async def _void(
    session: AsyncSession, op: PaysimOperationRow, *, authorization: str
) -> GatewayReceipt:
    auth = await _lock_authorization(session, authorization)
    if auth.captured > 0:
        raise PaymentDeclined("already_captured", f"{authorization} has captures; refund them")
    auth.voided = True
    released = Money(auth.authorized, auth.currency)
    return GatewayReceipt(f"void_{secrets.token_hex(12)}", released, "voided")


async def _refund(
    session: AsyncSession, op: PaysimOperationRow, *, authorization: str, amount: Money
) -> GatewayReceipt:
    auth = await _lock_authorization(session, authorization, amount)
    if auth.refunded + amount.amount > auth.captured:
        raise PaymentDeclined("amount_exceeds_captured", f"{authorization} captured less")
    if auth.method == "gift_card":
        card = await _lock_gift_card(session, auth.token)
        card.balance += amount.amount
    auth.refunded += amount.amount
    return GatewayReceipt(f"ref_{secrets.token_hex(12)}", amount, "refunded")


def _check_token(token: str, attempt: int) -> None:
    if token in DECLINED_TOKENS:
        raise PaymentDeclined(DECLINED_TOKENS[token], "the issuer declined the payment")
    if token == FLAKY_TOKEN and attempt <= FLAKY_FAILURES:
        raise GatewayUnavailable(f"issuer timed out (attempt {attempt})")
    if token not in APPROVED_TOKENS and token != FLAKY_TOKEN:
        raise PaymentDeclined("invalid_token", f"{token!r} is not a payment token")


async def _check_credit(session: AsyncSession, customer_id: str, amount: Money) -> None:
    # Two orders of one customer may ask for credit at once: the lock makes them take turns.
    lock_key = func.hashtext(f"paysim-credit:{customer_id}")
    await session.execute(select(func.pg_advisory_xact_lock(lock_key)))
    auth = PaysimAuthorizationRow
    fully_refunded = (auth.captured > 0) & (auth.refunded >= auth.captured)
    open_total = await session.scalar(
        select(func.coalesce(func.sum(auth.authorized), 0)).where(
            auth.customer_id == customer_id,
            auth.method == "invoice",
            auth.currency == amount.currency,
            auth.voided.is_(False),
            ~fully_refunded,
        )
    )
    limit = Money.parse(INVOICE_CREDIT_LIMIT, amount.currency)
    if (open_total or 0) + amount.amount > limit.amount:
        raise PaymentDeclined("credit_limit_exceeded", f"open invoices would exceed {limit}")


async def _lock_authorization(
    session: AsyncSession, reference: str, amount: Money | None = None
) -> PaysimAuthorizationRow:
    auth = await session.scalar(
        select(PaysimAuthorizationRow)
        .where(PaysimAuthorizationRow.reference == reference)
        .with_for_update()
    )
    if auth is None:
        raise PaymentDeclined("unknown_authorization", f"no authorization {reference!r}")
    if amount is not None:
        _require_positive(amount)
        if amount.currency != auth.currency:
            raise PaymentDeclined("currency_mismatch", f"{reference} is in {auth.currency}")
    return auth


async def _lock_gift_card(session: AsyncSession, token: str) -> PaysimGiftCardRow:
    """The card's row, locked; a card is issued with its face value the first time it is seen."""
    await session.execute(
        insert(PaysimGiftCardRow)
        .values(token=token, balance=_gift_card_value(token))
        .on_conflict_do_nothing(index_elements=["token"])
    )
    card = await session.scalar(
        select(PaysimGiftCardRow).where(PaysimGiftCardRow.token == token).with_for_update()
    )
    assert card is not None
    return card


def _gift_card_value(token: str) -> int:
    match = GIFT_CARD_TOKEN.fullmatch(token)
    if match is None:
        raise PaymentDeclined("invalid_token", f"{token!r} is not a gift card")
    return int(match.group(1))


def _require_funds(card: PaysimGiftCardRow, amount: Money) -> None:
    if amount.amount > card.balance:
        raise PaymentDeclined("insufficient_funds", "the gift card's balance is too low")


def _require_positive(amount: Money) -> None:
    if amount.amount <= 0:
        raise PaymentDeclined("invalid_amount", f"{amount} is not a positive amount")


def _state(row: PaysimAuthorizationRow) -> AuthorizationState:
    return AuthorizationState(
        reference=row.reference,
        method=row.method,
        customer_id=row.customer_id,
        authorized=Money(row.authorized, row.currency),
        captured=Money(row.captured, row.currency),
        refunded=Money(row.refunded, row.currency),
        voided=row.voided,
    )


def _record(row: PaysimOperationRow) -> OperationRecord:
    amount = Money(row.amount, row.currency) if row.amount is not None and row.currency else None
    return OperationRecord(
        idempotency_key=row.idempotency_key,
        kind=row.kind,
        status=row.status,
        attempts=row.attempts,
        authorization=row.authorization,
        reference=row.reference,
        amount=amount,
        decline_code=row.decline_code,
    )
