"""The simulated payment gateway against real PostgreSQL: money moves once per key."""

from __future__ import annotations

import asyncio
import random

import pytest

from activities.db.engine import SessionFactory
from activities.payments.gateway import GatewayReceipt, GatewayUnavailable, PaymentDeclined
from activities.payments.simulator import SimulatedGateway
from domain.money import Money


def eur(text: str) -> Money:
    return Money.parse(text, "EUR")


@pytest.fixture
def gateway(db: SessionFactory) -> SimulatedGateway:
    return SimulatedGateway(db, latency_ms=0)


async def authorize(
    gateway: SimulatedGateway,
    amount: str = "100.00",
    *,
    token: str = "tok_visa",
    method: str = "card",
    key: str = "order-1:authorize",
    customer: str = "cust-1",
) -> GatewayReceipt:
    return await gateway.authorize(
        idempotency_key=key, method=method, token=token, amount=eur(amount), customer_id=customer
    )


@pytest.mark.parametrize("method", ["card", "paypal"])
@pytest.mark.parametrize("token", ["tok_visa", "tok_mastercard"])
async def test_approving_test_tokens_are_authorized_and_hold_the_amount(
    gateway: SimulatedGateway, token: str, method: str
) -> None:
    receipt = await authorize(gateway, "42.50", token=token, method=method)

    assert receipt.reference.startswith("auth_")
    assert (receipt.amount, receipt.status) == (eur("42.50"), "authorized")
    ledger = await gateway.ledger(receipt.reference)
    assert (ledger.authorized, ledger.captured, ledger.voided) == (eur("42.50"), eur("0"), False)


@pytest.mark.parametrize(
    ("token", "code"),
    [
        ("tok_declined", "card_declined"),
        ("tok_insufficient_funds", "insufficient_funds"),
        ("tok_nonsense", "invalid_token"),
    ],
)
async def test_declined_card_is_refused_without_holding_money(
    gateway: SimulatedGateway, token: str, code: str
) -> None:
    with pytest.raises(PaymentDeclined) as declined:
        await authorize(gateway, token=token)

    assert declined.value.code == code
    assert await gateway.authorizations_for("cust-1") == []


async def test_a_decline_is_the_answer_for_its_key_on_every_retry(
    gateway: SimulatedGateway,
) -> None:
    for _ in range(2):
        with pytest.raises(PaymentDeclined, match="card_declined"):
            await authorize(gateway, token="tok_declined")

    [operation] = await gateway.operations_for("order-1:")
    assert (operation.status, operation.attempts) == ("declined", 1)


async def test_flaky_card_is_unavailable_twice_then_authorized_once(
    gateway: SimulatedGateway,
) -> None:
    for _ in range(2):
        with pytest.raises(GatewayUnavailable):
            await authorize(gateway, token="tok_flaky")

    receipt = await authorize(gateway, token="tok_flaky")

    assert receipt.status == "authorized"
    assert len(await gateway.authorizations_for("cust-1")) == 1
    [operation] = await gateway.operations_for("order-1:")
    assert operation.attempts == 3


async def test_flaky_failures_are_counted_per_idempotency_key(
    gateway: SimulatedGateway,
) -> None:
    for _ in range(2):
        with pytest.raises(GatewayUnavailable):
            await authorize(gateway, token="tok_flaky", key="order-1:authorize")

    with pytest.raises(GatewayUnavailable):
        await authorize(gateway, token="tok_flaky", key="order-2:authorize")


async def test_replayed_authorization_returns_the_same_reference_and_holds_once(
    gateway: SimulatedGateway,
) -> None:
    first = await authorize(gateway)
    second = await authorize(gateway)

    assert second == first
    assert await gateway.count_operations("authorize") == 1


async def test_replayed_capture_returns_the_same_receipt_and_takes_money_once(
    gateway: SimulatedGateway,
) -> None:
    auth = await authorize(gateway)
    first = await gateway.capture(idempotency_key="c1", authorization=auth.reference, amount=eur("60"))
    second = await gateway.capture(
        idempotency_key="c1", authorization=auth.reference, amount=eur("60")
    )

    assert second == first
    assert (await gateway.ledger(auth.reference)).captured == eur("60")
    assert await gateway.count_operations("capture", authorization=auth.reference) == 1


async def test_key_reused_with_different_parameters_is_refused(gateway: SimulatedGateway) -> None:
    auth = await authorize(gateway)
    await gateway.capture(idempotency_key="c1", authorization=auth.reference, amount=eur("10"))

    with pytest.raises(PaymentDeclined) as declined:
        await gateway.capture(idempotency_key="c1", authorization=auth.reference, amount=eur("20"))

    assert declined.value.code == "idempotency_key_reuse"
    assert (await gateway.ledger(auth.reference)).captured == eur("10")


async def test_partial_captures_and_refunds_add_up(gateway: SimulatedGateway) -> None:
    auth = await authorize(gateway, "100.00")
    ref = auth.reference

    await gateway.capture(idempotency_key="c1", authorization=ref, amount=eur("30"))
    await gateway.capture(idempotency_key="c2", authorization=ref, amount=eur("70"))
    refund = await gateway.refund(idempotency_key="r1", authorization=ref, amount=eur("25"))

    assert (refund.status, refund.amount) == ("refunded", eur("25"))
    ledger = await gateway.ledger(ref)
    assert (ledger.captured, ledger.refunded) == (eur("100"), eur("25"))


async def test_capture_beyond_the_authorization_is_refused(gateway: SimulatedGateway) -> None:
    auth = await authorize(gateway, "100.00")
    await gateway.capture(idempotency_key="c1", authorization=auth.reference, amount=eur("80"))

    with pytest.raises(PaymentDeclined) as declined:
        await gateway.capture(idempotency_key="c2", authorization=auth.reference, amount=eur("21"))

    assert declined.value.code == "amount_exceeds_authorization"
    assert (await gateway.ledger(auth.reference)).captured == eur("80")


async def test_refund_beyond_what_was_captured_is_refused(gateway: SimulatedGateway) -> None:
    auth = await authorize(gateway, "100.00")
    await gateway.capture(idempotency_key="c1", authorization=auth.reference, amount=eur("50"))
    await gateway.refund(idempotency_key="r1", authorization=auth.reference, amount=eur("40"))

    with pytest.raises(PaymentDeclined) as declined:
        await gateway.refund(idempotency_key="r2", authorization=auth.reference, amount=eur("11"))

    assert declined.value.code == "amount_exceeds_captured"
    assert (await gateway.ledger(auth.reference)).refunded == eur("40")


async def test_void_releases_an_uncaptured_authorization_and_may_be_repeated(
    gateway: SimulatedGateway,
) -> None:
    auth = await authorize(gateway)

    first = await gateway.void(idempotency_key="v1", authorization=auth.reference)
    again = await gateway.void(idempotency_key="v2", authorization=auth.reference)

    assert (first.status, again.status) == ("voided", "voided")
    assert (await gateway.ledger(auth.reference)).voided


async def test_void_after_capture_is_refused(gateway: SimulatedGateway) -> None:
    auth = await authorize(gateway)
    await gateway.capture(idempotency_key="c1", authorization=auth.reference, amount=eur("1"))

    with pytest.raises(PaymentDeclined) as declined:
        await gateway.void(idempotency_key="v1", authorization=auth.reference)

    assert declined.value.code == "already_captured"


async def test_capture_of_a_voided_authorization_is_refused(gateway: SimulatedGateway) -> None:
    auth = await authorize(gateway)
    await gateway.void(idempotency_key="v1", authorization=auth.reference)

    with pytest.raises(PaymentDeclined) as declined:
        await gateway.capture(idempotency_key="c1", authorization=auth.reference, amount=eur("1"))

    assert declined.value.code == "authorization_voided"


async def test_invoice_credit_is_limited_per_customer_across_open_invoices(
    gateway: SimulatedGateway,
) -> None:
    await authorize(gateway, "600.00", method="invoice", token="", key="a")
    await authorize(gateway, "400.00", method="invoice", token="", key="b")

    with pytest.raises(PaymentDeclined) as declined:
        await authorize(gateway, "0.01", method="invoice", token="", key="c")
    other_customer = await authorize(
        gateway, "1000.00", method="invoice", token="", key="d", customer="cust-2"
    )

    assert declined.value.code == "credit_limit_exceeded"
    assert other_customer.status == "authorized"


async def test_voided_and_refunded_invoices_give_the_credit_back(
    gateway: SimulatedGateway,
) -> None:
    voided = await authorize(gateway, "600.00", method="invoice", token="", key="a")
    refunded = await authorize(gateway, "400.00", method="invoice", token="", key="b")
    await gateway.void(idempotency_key="v", authorization=voided.reference)
    ref = refunded.reference
    await gateway.capture(idempotency_key="c", authorization=ref, amount=eur("400"))
    await gateway.refund(idempotency_key="r", authorization=ref, amount=eur("400"))

    receipt = await authorize(gateway, "1000.00", method="invoice", token="", key="e")

    assert receipt.status == "authorized"


async def test_gift_card_captures_spend_its_balance(gateway: SimulatedGateway) -> None:
    first = await authorize(gateway, "30.00", method="gift_card", token="gc_5000", key="a")
    await gateway.capture(idempotency_key="c1", authorization=first.reference, amount=eur("30"))

    with pytest.raises(PaymentDeclined) as declined:
        await authorize(gateway, "20.01", method="gift_card", token="gc_5000", key="b")
    second = await authorize(gateway, "20.00", method="gift_card", token="gc_5000", key="c")

    assert declined.value.code == "insufficient_funds"
    assert second.status == "authorized"
    assert await gateway.gift_card_balance("gc_5000") == 2000


async def test_gift_card_refund_restores_its_balance(gateway: SimulatedGateway) -> None:
    auth = await authorize(gateway, "50.00", method="gift_card", token="gc_5000")
    await gateway.capture(idempotency_key="c1", authorization=auth.reference, amount=eur("50"))
    await gateway.refund(idempotency_key="r1", authorization=auth.reference, amount=eur("15"))

    assert await gateway.gift_card_balance("gc_5000") == 1500


@pytest.mark.parametrize("token", ["gc_", "gc_12x", "tok_visa", "5000"])
async def test_malformed_gift_card_is_an_invalid_token(
    gateway: SimulatedGateway, token: str
) -> None:
    with pytest.raises(PaymentDeclined) as declined:
        await authorize(gateway, "1.00", method="gift_card", token=token)

    assert declined.value.code == "invalid_token"


async def test_concurrent_retries_of_one_capture_take_the_money_once(db: SessionFactory) -> None:
    gateway = SimulatedGateway(db, latency_ms=5)
    auth = await authorize(gateway)

    receipts = await asyncio.gather(
        *(
            gateway.capture(idempotency_key="c1", authorization=auth.reference, amount=eur("100"))
            for _ in range(5)
        )
    )

    assert len(set(receipts)) == 1
    assert (await gateway.ledger(auth.reference)).captured == eur("100")
    assert await gateway.count_operations("capture", authorization=auth.reference) == 1


async def test_concurrent_captures_under_new_keys_never_exceed_the_authorization(
    gateway: SimulatedGateway,
) -> None:
    auth = await authorize(gateway, "100.00")

    results = await asyncio.gather(
        *(
            gateway.capture(idempotency_key=f"c{i}", authorization=auth.reference, amount=eur("40"))
            for i in range(4)
        ),
        return_exceptions=True,
    )

    assert sum(isinstance(result, GatewayReceipt) for result in results) == 2
    assert (await gateway.ledger(auth.reference)).captured == eur("80")


async def test_a_new_gateway_instance_answers_from_the_same_books(db: SessionFactory) -> None:
    auth = await authorize(SimulatedGateway(db, latency_ms=0))

    restarted = SimulatedGateway(db, latency_ms=0)
    replay = await authorize(restarted)

    assert replay == auth


async def test_transient_failures_happen_before_the_gateway_does_anything(
    db: SessionFactory,
) -> None:
    unreliable = SimulatedGateway(db, latency_ms=0, transient_failure_rate=1.0)

    with pytest.raises(GatewayUnavailable):
        await authorize(unreliable)

    assert await SimulatedGateway(db, latency_ms=0).operations_for("") == []


async def test_operations_are_found_by_the_prefix_of_their_key(gateway: SimulatedGateway) -> None:
    auth = await authorize(gateway, key="order-1:authorize")
    await authorize(gateway, key="order-2:authorize")
    await gateway.capture(
        idempotency_key="order-1:capture", authorization=auth.reference, amount=eur("5")
    )

    operations = await gateway.operations_for("order-1:")

    assert [(op.kind, op.status) for op in operations] == [
        ("authorize", "authorized"),
        ("capture", "captured"),
    ]


async def test_latency_is_spread_around_the_configured_delay(db: SessionFactory) -> None:
    gateway = SimulatedGateway(db, latency_ms=20, rng=random.Random(7))
    loop = asyncio.get_running_loop()

    started = loop.time()
    await authorize(gateway)

    assert loop.time() - started >= 0.01
