"""The chaos run's checks catch what they promise to: a database event the workflow never
had, a message for it, a second authorization, reserved stock nobody holds."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

from activities.payments.simulator import AuthorizationState
from domain.money import Money
from workers.chaos.checks import check_stock, messages_once, money_matches, record_agrees
from workers.chaos.evidence import OrderEvidence, StockEvidence
from workers.chaos.play import Outcome
from workers.chaos.scenarios import SCENARIOS, PlannedOrder
from workflows.order_contract import TimelineEvent

AT = datetime(2026, 1, 1, tzinfo=UTC)
EUR = "EUR"


def _view(timeline: list[TimelineEvent], captured: int = 2489) -> Any:
    order = SimpleNamespace(order_id="CH-1", customer=SimpleNamespace(name="Chaos Monkey"),
                            totals=SimpleNamespace(grand_total=Money(2489, EUR)))
    payment = SimpleNamespace(captured=Money(captured, EUR), refunded=Money(0, EUR))
    return SimpleNamespace(order=order, status="CANCELLED", timeline=timeline, payment=payment,
                           shipments=[], returns=[], failure="")


def _evidence(timeline: list[TimelineEvent], **fields: Any) -> OrderEvidence:
    outcome = Outcome(PlannedOrder("CH-1", SCENARIOS[0]), "COMPLETED", _view(timeline))
    return OrderEvidence(outcome, **fields)


HISTORY = [TimelineEvent(1, AT, "PLACED", "order.placed"),
           TimelineEvent(2, AT, "PICKING", "compensation.started", "cancelled"),
           TimelineEvent(3, AT, "CANCELLED", "order.cancelled", "cancelled")]


def test_a_database_event_the_history_lacks_is_reported() -> None:
    # Given a worker that wrote event 2 "packed" and died before its task completed
    rows = [(1, "PLACED", "order.placed", ""), (2, "PACKED", "warehouse.packed", ""),
            (3, "CANCELLED", "order.cancelled", "cancelled")]
    evidence = _evidence(HISTORY, row={"status": "CANCELLED"}, events=rows)
    # Then the record check names the event
    assert list(record_agrees(evidence)) == [
        "event 2: history compensation.started (PICKING), database warehouse.packed (PACKED)"]


def test_a_message_for_an_event_the_history_lacks_is_reported() -> None:
    # Given an outbox row for event 3 that was a shipment in the lost task, sent once
    evidence = _evidence(HISTORY, outbox=[(7, 3, "shipped", "sent")],
                         sent=[("outbox-7", "shipped")])
    # Then the customer heard of the wrong event
    assert list(messages_once(evidence)) == [
        "event 3: history says order_cancelled, outbox shipped"]


def test_a_second_authorization_is_reported() -> None:
    auth = [AuthorizationState(f"auth_{n}", "card", "cus", Money(2489, EUR), Money(0, EUR),
                               Money(0, EUR), True) for n in (1, 2)]
    evidence = _evidence(HISTORY, authorizations=auth)
    evidence.outcome.view.payment.captured = Money(0, EUR)
    assert "2 authorizations at the gateway: auth_1, auth_2" in list(money_matches(evidence))


def test_reserved_stock_that_no_reservation_holds_is_reported() -> None:
    place = ("TEE-BLK-M", "BER")
    stock = StockEvidence({place: (10, 2, 0)}, {place: (10, 2)}, {place: 10}, {place: 0},
                          {place: 0})
    result = check_stock(stock, [], hot_units=0)
    assert result.failures == [("TEE-BLK-M@BER", "reserved 2, open reservations hold 0")]
