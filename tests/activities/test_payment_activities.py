"""Payment activities over the simulated gateway and real PostgreSQL: each operation is
recorded once per key, declines are final, gateway outages are left for Temporal to retry."""

from __future__ import annotations

import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.db.engine import SessionFactory
from activities.db.order_repository import PaymentRepository
from activities.payments.activities import (
    AuthorizeInput,
    PaymentActivities,
    PaymentInput,
    PaymentReceipt,
)
from activities.payments.gateway import GatewayUnavailable
from activities.payments.simulator import SimulatedGateway
from domain.money import Money

ORDER = "ORD-1"


def eur(text: str) -> Money:
    return Money.parse(text, "EUR")


@pytest.fixture
def payments(db: SessionFactory) -> PaymentActivities:
    return PaymentActivities(SimulatedGateway(db, latency_ms=0), db)


async def authorize(env: ActivityEnvironment, payments: PaymentActivities, *,
                    token: str = "tok_visa", amount: str = "50.00") -> PaymentReceipt:
    return await env.run(payments.authorize_payment, AuthorizeInput(
        ORDER, f"{ORDER}:authorize", "card", token, eur(amount), "cus_42"))


def against(authorization: PaymentReceipt, step: str, amount: str, reason: str = "") -> PaymentInput:
    return PaymentInput(ORDER, f"{ORDER}:{step}", "card", authorization.reference, eur(amount),
                        reason)


async def recorded(db: SessionFactory) -> list[tuple[str, str, int, str, str]]:
    """The order's payments rows as (key, kind, amount, gateway_ref, reason)."""
    async with db() as session:
        rows = await PaymentRepository(session).for_order(ORDER)
    return [(r.idempotency_key, r.kind, r.amount, r.gateway_ref, r.reason) for r in rows]


async def test_an_authorization_called_twice_with_one_key_is_recorded_once(
    db: SessionFactory, payments: PaymentActivities, activity_env: ActivityEnvironment
) -> None:
    first = await authorize(activity_env, payments)
    again = await authorize(activity_env, payments)

    assert again == first == PaymentReceipt(first.reference, eur("50.00"))
    assert await recorded(db) == [(f"{ORDER}:authorize", "authorize", 5000, first.reference, "")]


async def test_a_capture_and_a_refund_called_twice_are_each_recorded_once(
    db: SessionFactory, payments: PaymentActivities, activity_env: ActivityEnvironment
) -> None:
    auth = await authorize(activity_env, payments)

    captures = [await activity_env.run(payments.capture_payment, against(auth, "capture", "50.00"))
                for _ in range(2)]
    refund = against(auth, "refund-1", "20.00", "damaged mug")
    refunds = [await activity_env.run(payments.refund_payment, refund) for _ in range(2)]

    assert captures[0] == captures[1] and refunds[0] == refunds[1]
    assert await recorded(db) == [
        (f"{ORDER}:authorize", "authorize", 5000, auth.reference, ""),
        (f"{ORDER}:capture", "capture", 5000, captures[0].reference, ""),
        (f"{ORDER}:refund-1", "refund", 2000, refunds[0].reference, "damaged mug"),
    ]


async def test_a_void_called_twice_is_recorded_once_with_the_released_amount(
    db: SessionFactory, payments: PaymentActivities, activity_env: ActivityEnvironment
) -> None:
    auth = await authorize(activity_env, payments)
    void = against(auth, "void", "50.00", "order unwound")

    voids = [await activity_env.run(payments.void_payment, void) for _ in range(2)]

    assert voids[0] == voids[1] == PaymentReceipt(voids[0].reference, eur("50.00"))
    assert (await recorded(db))[1:] == [
        (f"{ORDER}:void", "void", 5000, voids[0].reference, "order unwound")]


@pytest.mark.parametrize("token", ["tok_declined", "tok_insufficient_funds", "tok_unknown"])
async def test_a_declined_payment_fails_for_good_and_records_nothing(
    db: SessionFactory, payments: PaymentActivities, activity_env: ActivityEnvironment, token: str
) -> None:
    with pytest.raises(ApplicationError) as failure:
        await authorize(activity_env, payments, token=token)

    assert (failure.value.type, failure.value.non_retryable) == ("PaymentDeclined", True)
    assert await recorded(db) == []


async def test_refunding_more_than_was_captured_is_declined_and_not_recorded(
    db: SessionFactory, payments: PaymentActivities, activity_env: ActivityEnvironment
) -> None:
    auth = await authorize(activity_env, payments)
    await activity_env.run(payments.capture_payment, against(auth, "capture", "30.00"))

    with pytest.raises(ApplicationError, match="amount_exceeds_captured") as failure:
        await activity_env.run(payments.refund_payment, against(auth, "refund-1", "30.01"))

    assert (failure.value.type, failure.value.non_retryable) == ("PaymentDeclined", True)
    assert [kind for _, kind, *_ in await recorded(db)] == ["authorize", "capture"]


async def test_an_unavailable_gateway_is_raised_as_is_for_temporal_to_retry_until_it_answers(
    db: SessionFactory, payments: PaymentActivities, activity_env: ActivityEnvironment
) -> None:
    for _ in range(2):
        with pytest.raises(GatewayUnavailable):
            await authorize(activity_env, payments, token="tok_flaky")
        assert await recorded(db) == []

    receipt = await authorize(activity_env, payments, token="tok_flaky")

    assert receipt.amount == eur("50.00")
    assert await recorded(db) == [(f"{ORDER}:authorize", "authorize", 5000, receipt.reference, "")]
