"""Return activities against real PostgreSQL: an RMA is recorded once, the warehouse's count is
booked once (resellable units back into stock and on to waiting backorders, damaged units
written off in the ledger), a bad count changes nothing, and a return is settled once."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.backorders import BackorderActivities, BackorderInput, BackorderRef
from activities.db.engine import SessionFactory
from activities.db.return_repository import Return, ReturnRepository
from activities.db.tables import StockMovementRow
from activities.returns import (
    InspectedLine,
    OpenReturnInput,
    ReceivedReturn,
    ReceiveReturnInput,
    ReceptionInput,
    ReturnActivities,
    ReturnLabelRecord,
    ReturnLineInput,
    SettleReturnInput,
    StockedUnits,
)
from activities.stock import ReserveInput, StockActivities, StockLine
from domain.allocation import Allocation
from domain.money import Money
from tests.activities.test_stock_activities import ledger, levels
from tests.support import seed

AT = datetime(2030, 5, 4, 10, 0, tzinfo=UTC)
RMA = "RMA-ORD-1-1"


@pytest.fixture
async def returns(db: SessionFactory) -> ReturnActivities:
    """The CATALOGUE's stock: TEE-BLK-M 10 in BER and 5 in HAM, MUG-LOGO 100 in BER,
    CAP-NAVY 1 in HAM."""
    await seed(db)
    return ReturnActivities(db)


def tee_and_mug(rma: str = RMA, order_id: str = "ORD-1") -> OpenReturnInput:
    """Two T-shirts back to Hamburg and a mug back to Berlin, for a refund."""
    return OpenReturnInput(
        order_id=order_id, rma=rma, reason="SIZE_TOO_SMALL", comment="runs small",
        resolution="refund", currency="EUR", requested_at=AT,
        lines=[ReturnLineInput("TEE-BLK-M", 2, Money(1999, "EUR"), "HAM"),
               ReturnLineInput("MUG-LOGO", 1, Money(950, "EUR"), "BER")])


def received(*lines: InspectedLine, rma: str = RMA, order_id: str = "ORD-1"
             ) -> ReceiveReturnInput:
    return ReceiveReturnInput(rma=rma, order_id=order_id, lines=list(lines),
                              at=AT + timedelta(days=3), actor="alice")


async def stored(db: SessionFactory, rma: str = RMA) -> Return:
    async with db() as session:
        found = await ReturnRepository(session).get(rma)
    assert found is not None
    return found


async def movements(db: SessionFactory, kind: str) -> list[tuple[object, ...]]:
    m = StockMovementRow
    async with db() as session:
        rows = await session.execute(
            select(m.sku, m.warehouse, m.on_hand_delta, m.reserved_delta, m.order_id, m.reason)
            .where(m.kind == kind).order_by(m.sku, m.warehouse, m.id))
    return [tuple(row) for row in rows]


async def test_opening_a_return_twice_records_one_rma_with_its_lines(
    db: SessionFactory, returns: ReturnActivities, activity_env: ActivityEnvironment
) -> None:
    await activity_env.run(returns.open_return, tee_and_mug())
    await activity_env.run(returns.open_return, tee_and_mug())

    rma = await stored(db)
    assert (rma.order_id, rma.reason, rma.comment, rma.resolution) == (
        "ORD-1", "SIZE_TOO_SMALL", "runs small", "refund")
    assert (rma.reception, rma.acceptance, rma.requested_at) == ("awaiting", "pending", AT)
    assert [(line.sku, line.quantity, line.unit_price, line.warehouse) for line in rma.lines] == [
        ("MUG-LOGO", 1, Money(950, "EUR"), "BER"), ("TEE-BLK-M", 2, Money(1999, "EUR"), "HAM")]
    async with db() as session:
        assert [r.rma for r in await ReturnRepository(session).for_order("ORD-1")] == [RMA]


async def test_an_rma_already_used_by_another_order_is_refused(
    db: SessionFactory, returns: ReturnActivities, activity_env: ActivityEnvironment
) -> None:
    await activity_env.run(returns.open_return, tee_and_mug())

    with pytest.raises(ApplicationError) as failure:
        await activity_env.run(returns.open_return, tee_and_mug(order_id="ORD-2"))

    assert (failure.value.type, failure.value.non_retryable) == ("InvalidReturn", True)
    assert (await stored(db)).order_id == "ORD-1"


async def test_a_return_the_table_could_not_hold_is_refused_without_a_record(
    db: SessionFactory, returns: ReturnActivities, activity_env: ActivityEnvironment
) -> None:
    bad = OpenReturnInput(
        order_id="ORD-1", rma=RMA, reason="OTHER", comment="?", resolution="refund",
        currency="EUR", requested_at=AT,
        lines=[ReturnLineInput("TEE-BLK-M", 0, Money(1999, "EUR"), "HAM"),
               ReturnLineInput("MUG-LOGO", 1, Money(950, "USD"), "BER")])

    with pytest.raises(ApplicationError) as failure:
        await activity_env.run(returns.open_return, bad)

    assert (failure.value.type, failure.value.non_retryable) == ("InvalidReturn", True)
    assert "lines[0].quantity" in failure.value.message
    assert "lines[1].unit_price" in failure.value.message
    async with db() as session:
        assert await ReturnRepository(session).get(RMA) is None


async def test_the_label_and_the_parcel_on_its_way_back_are_recorded(
    db: SessionFactory, returns: ReturnActivities, activity_env: ActivityEnvironment
) -> None:
    await activity_env.run(returns.open_return, tee_and_mug())

    await activity_env.run(returns.attach_return_label, ReturnLabelRecord(
        RMA, "sim-standard", "RTN123", "https://labels.example/RTN123.pdf"))
    await activity_env.run(returns.mark_return_reception,
                           ReceptionInput(RMA, "in_transit", AT + timedelta(days=1)))

    rma = await stored(db)
    assert (rma.carrier, rma.tracking_number, rma.label_url) == (
        "sim-standard", "RTN123", "https://labels.example/RTN123.pdf")
    assert (rma.reception, rma.received_at) == ("in_transit", None)


async def test_a_received_parcel_stays_received_when_a_late_tracking_event_arrives(
    db: SessionFactory, returns: ReturnActivities, activity_env: ActivityEnvironment
) -> None:
    await activity_env.run(returns.open_return, tee_and_mug())
    arrived = AT + timedelta(days=2)

    await activity_env.run(returns.mark_return_reception, ReceptionInput(RMA, "received", arrived))
    await activity_env.run(returns.mark_return_reception,
                           ReceptionInput(RMA, "in_transit", arrived + timedelta(hours=1)))

    rma = await stored(db)
    assert (rma.reception, rma.received_at) == ("received", arrived)
    assert not rma.inspected


@pytest.mark.parametrize("call", ["label", "reception", "receive", "settle"])
async def test_an_unknown_rma_is_refused(
    db: SessionFactory, returns: ReturnActivities, activity_env: ActivityEnvironment, call: str
) -> None:
    runs = {
        "label": lambda: activity_env.run(returns.attach_return_label,
                                          ReturnLabelRecord("RMA-NOPE", "sim-standard", "T", "u")),
        "reception": lambda: activity_env.run(returns.mark_return_reception,
                                              ReceptionInput("RMA-NOPE", "lost", AT)),
        "receive": lambda: activity_env.run(returns.receive_return, received(rma="RMA-NOPE")),
        "settle": lambda: activity_env.run(returns.settle_return, SettleReturnInput(
            "RMA-NOPE", "accepted", "", Money(0, "EUR"), AT)),
    }
    with pytest.raises(ApplicationError) as failure:
        await runs[call]()

    assert (failure.value.type, failure.value.non_retryable) == ("UnknownReturn", True)


async def test_receiving_restocks_resellable_units_into_the_lines_warehouse_exactly_once(
    db: SessionFactory, returns: ReturnActivities, activity_env: ActivityEnvironment
) -> None:
    await activity_env.run(returns.open_return, tee_and_mug())
    count = received(InspectedLine("TEE-BLK-M", 2, 0), InspectedLine("MUG-LOGO", 1, 0))

    first = await activity_env.run(returns.receive_return, count)
    again = await activity_env.run(returns.receive_return, count)

    expected = ReceivedReturn(restocked=[StockedUnits("MUG-LOGO", "BER", 1),
                                         StockedUnits("TEE-BLK-M", "HAM", 2)], written_off=[])
    assert first == again == expected
    now = await levels(db)
    assert (now["TEE-BLK-M", "HAM"], now["TEE-BLK-M", "BER"]) == ((7, 0), (10, 0))
    assert now["MUG-LOGO", "BER"] == (101, 0)
    assert await movements(db, "return") == [
        ("MUG-LOGO", "BER", 1, 0, "ORD-1", f"return {RMA} by alice"),
        ("TEE-BLK-M", "HAM", 2, 0, "ORD-1", f"return {RMA} by alice")]
    rma = await stored(db)
    assert (rma.reception, rma.received_at) == ("received", AT + timedelta(days=3))
    assert [(line.sku, line.resellable, line.damaged) for line in rma.lines] == [
        ("MUG-LOGO", 1, 0), ("TEE-BLK-M", 2, 0)]
    assert await ledger(db) == await levels(db)


async def test_two_attempts_receiving_at_once_restock_once(
    db: SessionFactory, returns: ReturnActivities, activity_env: ActivityEnvironment
) -> None:
    await activity_env.run(returns.open_return, tee_and_mug())
    count = received(InspectedLine("TEE-BLK-M", 2, 0))

    outcomes = await asyncio.gather(*(activity_env.run(returns.receive_return, count)
                                      for _ in range(2)))

    assert outcomes[0] == outcomes[1]
    assert (await levels(db))["TEE-BLK-M", "HAM"] == (7, 0)
    assert len(await movements(db, "return")) == 1


async def test_damaged_units_are_written_off_in_the_ledger_and_never_reenter_stock(
    db: SessionFactory, returns: ReturnActivities, activity_env: ActivityEnvironment
) -> None:
    await activity_env.run(returns.open_return, tee_and_mug())
    before = await levels(db)

    outcome = await activity_env.run(returns.receive_return, received(
        InspectedLine("TEE-BLK-M", 1, 1), InspectedLine("MUG-LOGO", 0, 1)))

    assert outcome == ReceivedReturn(
        restocked=[StockedUnits("TEE-BLK-M", "HAM", 1)],
        written_off=[StockedUnits("MUG-LOGO", "BER", 1), StockedUnits("TEE-BLK-M", "HAM", 1)])
    now = await levels(db)
    assert now["MUG-LOGO", "BER"] == before["MUG-LOGO", "BER"]
    assert now["TEE-BLK-M", "HAM"] == (6, 0)
    assert await movements(db, "write_off") == [
        ("MUG-LOGO", "BER", 0, 0, "ORD-1", f"1 damaged in return {RMA} by alice"),
        ("TEE-BLK-M", "HAM", 0, 0, "ORD-1", f"1 damaged in return {RMA} by alice")]
    assert await ledger(db) == now


async def test_a_line_left_out_of_the_count_came_back_empty(
    db: SessionFactory, returns: ReturnActivities, activity_env: ActivityEnvironment
) -> None:
    await activity_env.run(returns.open_return, tee_and_mug())

    outcome = await activity_env.run(returns.receive_return,
                                     received(InspectedLine("MUG-LOGO", 1, 0)))

    assert outcome == ReceivedReturn([StockedUnits("MUG-LOGO", "BER", 1)], [])
    assert (await levels(db))["TEE-BLK-M", "HAM"] == (5, 0)


@pytest.mark.parametrize(("lines", "problem"), [
    ([InspectedLine("TEE-BLK-M", 2, 1)], "more than the 2 returned"),
    ([InspectedLine("MUG-LOGO", 1, 0), InspectedLine("CAP-NAVY", 1, 0)], "not part of the return"),
    ([InspectedLine("TEE-BLK-M", 1, 0), InspectedLine("TEE-BLK-M", 1, 0)], "counted twice"),
    ([InspectedLine("TEE-BLK-M", -1, 2)], "negative"),
])
async def test_a_count_the_return_cannot_hold_is_refused_and_changes_nothing(
    db: SessionFactory, returns: ReturnActivities, activity_env: ActivityEnvironment,
    lines: list[InspectedLine], problem: str,
) -> None:
    await activity_env.run(returns.open_return, tee_and_mug())
    before_stock, before_return = await levels(db), await stored(db)

    with pytest.raises(ApplicationError) as failure:
        await activity_env.run(returns.receive_return, received(*lines))

    assert (failure.value.type, failure.value.non_retryable) == ("ReturnInspectionInvalid", True)
    assert problem in failure.value.message
    assert await levels(db) == before_stock
    assert await stored(db) == before_return
    assert await movements(db, "return") == await movements(db, "write_off") == []


async def test_returned_units_go_to_the_order_that_has_waited_longest(
    db: SessionFactory, returns: ReturnActivities, activity_env: ActivityEnvironment
) -> None:
    # Given the only cap in stock is held, and then two orders wait for caps, oldest first.
    await activity_env.run(StockActivities(db).reserve_stock,
                           ReserveInput("ORD-0", "res-ORD-0", [StockLine("CAP-NAVY", 1)]))
    backorders = BackorderActivities(db)
    for order_id in ("ORD-OLD", "ORD-NEW"):
        await activity_env.run(backorders.register_backorder, BackorderInput(
            order_id, f"order-{order_id}", f"res-{order_id}", {"CAP-NAVY": 1}, "", "DE",
            AT + timedelta(days=14)))
    await activity_env.run(returns.open_return, OpenReturnInput(
        order_id="ORD-1", rma=RMA, reason="CHANGED_MIND", comment="", resolution="refund",
        currency="EUR", requested_at=AT,
        lines=[ReturnLineInput("CAP-NAVY", 1, Money(1490, "EUR"), "HAM")]))

    # When the returned cap is counted resellable
    await activity_env.run(returns.receive_return, received(InspectedLine("CAP-NAVY", 1, 0)))

    # Then the oldest waiting order holds it and the newer one still waits.
    old = await activity_env.run(backorders.backorder_state, BackorderRef("ORD-OLD", "res-ORD-OLD"))
    new = await activity_env.run(backorders.backorder_state, BackorderRef("ORD-NEW", "res-ORD-NEW"))
    assert (old.filled, old.allocations) == (True, [Allocation("CAP-NAVY", "HAM", 1)])
    assert (new.filled, new.missing) == (False, {"CAP-NAVY": 1})
    assert (await levels(db))["CAP-NAVY", "HAM"] == (2, 2)
    assert await ledger(db) == await levels(db)


async def test_an_accepted_return_is_closed_with_its_refund(
    db: SessionFactory, returns: ReturnActivities, activity_env: ActivityEnvironment
) -> None:
    await activity_env.run(returns.open_return, tee_and_mug())
    settled_at = AT + timedelta(days=4)

    await activity_env.run(returns.settle_return,
                           SettleReturnInput(RMA, "accepted", "", Money(4948, "EUR"), settled_at))

    rma = await stored(db)
    assert (rma.acceptance, rma.rejection_reason, rma.refund) == ("accepted", "", Money(4948, "EUR"))
    assert (rma.refunded_at, rma.closed_at) == (settled_at, settled_at)


async def test_a_rejected_return_stays_rejected_when_settled_again_as_accepted(
    db: SessionFactory, returns: ReturnActivities, activity_env: ActivityEnvironment
) -> None:
    await activity_env.run(returns.open_return, tee_and_mug())
    settled_at = AT + timedelta(days=4)
    rejection = SettleReturnInput(RMA, "rejected", "worn and washed", Money(0, "EUR"), settled_at)

    await activity_env.run(returns.settle_return, rejection)
    await activity_env.run(returns.settle_return, SettleReturnInput(
        RMA, "accepted", "", Money(4948, "EUR"), settled_at + timedelta(days=1)))

    rma = await stored(db)
    assert (rma.acceptance, rma.rejection_reason, rma.refund) == (
        "rejected", "worn and washed", Money(0, "EUR"))
    assert (rma.refunded_at, rma.closed_at) == (None, settled_at)


@pytest.mark.parametrize("settlement", [
    SettleReturnInput(RMA, "accepted", "", Money(500, "USD"), AT),
    SettleReturnInput(RMA, "accepted", "", Money(-1, "EUR"), AT),
    SettleReturnInput(RMA, "maybe", "", Money(0, "EUR"), AT),
])
async def test_a_settlement_in_another_currency_or_state_is_refused(
    db: SessionFactory, returns: ReturnActivities, activity_env: ActivityEnvironment,
    settlement: SettleReturnInput,
) -> None:
    await activity_env.run(returns.open_return, tee_and_mug())

    with pytest.raises(ApplicationError) as failure:
        await activity_env.run(returns.settle_return, settlement)

    assert (failure.value.type, failure.value.non_retryable) == ("InvalidReturn", True)
    assert (await stored(db)).acceptance == "pending"


async def test_an_exchange_that_falls_back_to_a_refund_records_the_refund(
    db: SessionFactory, returns: ReturnActivities, activity_env: ActivityEnvironment
) -> None:
    await activity_env.run(returns.open_return, tee_and_mug())
    accepted_at, refunded_at = AT + timedelta(days=4), AT + timedelta(days=6)
    await activity_env.run(returns.settle_return,
                           SettleReturnInput(RMA, "accepted", "", Money(0, "EUR"), accepted_at))

    await activity_env.run(returns.settle_return,
                           SettleReturnInput(RMA, "accepted", "", Money(3998, "EUR"), refunded_at))

    rma = await stored(db)
    assert (rma.acceptance, rma.refund) == ("accepted", Money(3998, "EUR"))
    assert (rma.refunded_at, rma.closed_at) == (refunded_at, accepted_at)


async def test_a_line_without_a_warehouse_is_recorded_but_its_units_cannot_be_booked(
    db: SessionFactory, returns: ReturnActivities, activity_env: ActivityEnvironment
) -> None:
    await activity_env.run(returns.open_return, OpenReturnInput(
        order_id="ORD-1", rma=RMA, reason="WRONG_ITEM", comment="", resolution="refund",
        currency="EUR", requested_at=AT,
        lines=[ReturnLineInput("CAP-NAVY", 1, Money(1490, "EUR"), "")]))
    before = await levels(db)

    with pytest.raises(ApplicationError) as failure:
        await activity_env.run(returns.receive_return, received(InspectedLine("CAP-NAVY", 0, 1)))

    assert (failure.value.type, failure.value.non_retryable) == ("ReturnInspectionInvalid", True)
    assert "unknown warehouse" in failure.value.message
    assert await levels(db) == before
    assert not (await stored(db)).inspected
