"""Stock across warehouses against real PostgreSQL: receipts, adjustments, safety stock,
campaign holds, expected deliveries and low-stock alerts. Every change is a movement naming
who made it, and a refused change leaves everything as it was."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from structlog.testing import capture_logs
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.db.engine import SessionFactory
from activities.db.stock_repository import StockAlert, StockLevel, StockRepository
from activities.db.tables import (
    CampaignAllocationRow,
    CampaignRow,
    IncomingStockRow,
    StockAlertRow,
    StockMovementRow,
)
from activities.stock import ReserveInput, SettleInput, StockActivities, StockLine
from api.catalogue import parse_seed, seed_catalogue
from api.stock import Receipt, StockService, parse_expected_date
from domain.allocation import WarehouseStock
from domain.errors import InvalidStockChange
from tests.support import CATALOGUE, seed

TEE_BER = ("TEE-BLK-M", "BER")
DEC_3 = datetime(2026, 12, 3, tzinfo=UTC)
DEC_10 = datetime(2026, 12, 10, tzinfo=UTC)


@pytest.fixture
async def stock(db: SessionFactory) -> StockService:
    """The CATALOGUE's stock: TEE-BLK-M 10 in BER and 5 in HAM, MUG-LOGO 100 in BER,
    CAP-NAVY 1 in HAM; no safety stock, reorder points 0."""
    await seed(db)
    return StockService(db)


async def level(db: SessionFactory, sku: str, warehouse: str) -> StockLevel:
    async with db() as session:
        (found,) = await StockRepository(session).levels(sku, warehouse)
    return found


async def movements(db: SessionFactory, kind: str) -> list[tuple[str, str, int, int, str]]:
    m = StockMovementRow
    async with db() as session:
        rows = await session.execute(
            select(m.sku, m.warehouse, m.on_hand_delta, m.reserved_delta, m.reason)
            .where(m.kind == kind).order_by(m.id))
    return [tuple(row) for row in rows]  # type: ignore[misc]


async def everything(db: SessionFactory) -> dict[str, Any]:
    """Levels, movements, expected deliveries and alerts, to show a refusal changed nothing."""
    async with db() as session:
        return {
            "levels": await StockRepository(session).levels(),
            "movements": (await session.execute(
                select(StockMovementRow.kind, StockMovementRow.on_hand_delta))).all(),
            "incoming": (await session.execute(select(IncomingStockRow.id))).all(),
            "alerts": (await session.execute(select(StockAlertRow.id))).all(),
        }


async def open_alerts(db: SessionFactory) -> list[StockAlert]:
    async with db() as session:
        return await StockRepository(session).alerts()


async def offered(db: SessionFactory, sku: str) -> dict[str, int]:
    """What lock_stock offers ordinary orders, per warehouse."""
    async with db.begin() as session:
        rows: list[WarehouseStock] = await StockRepository(session).lock_stock([sku])
    return {row.warehouse: row.salable for row in rows}


async def reserve(db: SessionFactory, key: str, sku: str, quantity: int) -> None:
    await ActivityEnvironment().run(StockActivities(db).reserve_stock,
                                    ReserveInput(f"order-{key}", key, [StockLine(sku, quantity)]))


async def release(db: SessionFactory, key: str) -> None:
    await ActivityEnvironment().run(StockActivities(db).release_stock,
                                    SettleInput(f"order-{key}", key))


async def hold_for_campaign(db: SessionFactory, code: str, status: str, quantity: int,
                            used: int) -> None:
    async with db.begin() as session:
        session.add(CampaignRow(code=code, name=code, starts_at=DEC_3, ends_at=DEC_10,
                                status=status))
        await session.flush()
        session.add(CampaignAllocationRow(campaign=code, sku="TEE-BLK-M", warehouse="BER",
                                          quantity=quantity, used=used))


# -- receipts -------------------------------------------------------------------------------

async def test_a_receipt_adds_to_on_hand_and_the_ledger_names_who_received_it(
    db: SessionFactory, stock: StockService
) -> None:
    receipt = await stock.receive("TEE-BLK-M", "BER", 5, reference="PO-1", actor="alice")

    assert receipt == Receipt("TEE-BLK-M", "BER", 5, on_hand_after=15, salable_after=15)
    assert (await level(db, *TEE_BER)).on_hand == 15
    assert await movements(db, "receipt") == [("TEE-BLK-M", "BER", 5, 0, "receipt PO-1 by alice")]


async def test_a_receipt_for_a_warehouse_that_never_stocked_the_sku_starts_a_level(
    db: SessionFactory, stock: StockService
) -> None:
    receipt = await stock.receive("MUG-LOGO", "HAM", 8, actor="bob")

    assert (receipt.on_hand_after, receipt.salable_after) == (8, 8)
    found = await level(db, "MUG-LOGO", "HAM")
    assert (found.on_hand, found.reserved, found.safety_stock) == (8, 0, 0)


async def test_a_returned_parcel_restocked_is_a_receipt_with_its_reason(
    db: SessionFactory, stock: StockService
) -> None:
    await stock.receive("CAP-NAVY", "HAM", 1, reference="RMA-7", actor="carol",
                        reason="return restock")

    assert await movements(db, "receipt") == [
        ("CAP-NAVY", "HAM", 1, 0, "return restock RMA-7 by carol")]


@pytest.mark.parametrize(("sku", "warehouse", "quantity", "message"), [
    ("TEE-BLK-M", "PAR", 5, "unknown warehouse 'PAR'"),
    ("NOPE", "BER", 5, "unknown SKU 'NOPE'"),
    ("TEE-BLK-M", "BER", 0, "a receipt needs a quantity above 0, got 0"),
    ("TEE-BLK-M", "BER", -3, "a receipt needs a quantity above 0, got -3"),
    ("TEE-BLK-M", "BER", 2**31, f"a receipt may move at most 1000000 units, got {2**31}"),
    ("", "BER", 5, "sku may not be empty"),
])
async def test_a_bad_receipt_is_refused_and_changes_nothing(
    db: SessionFactory, stock: StockService, sku: str, warehouse: str, quantity: int,
    message: str,
) -> None:
    before = await everything(db)

    with pytest.raises(InvalidStockChange, match=f"^{message}$"):
        await stock.receive(sku, warehouse, quantity, actor="alice")

    assert await everything(db) == before


# -- adjustments ----------------------------------------------------------------------------

async def test_an_adjustment_by_a_delta_corrects_on_hand_and_names_why_and_who(
    db: SessionFactory, stock: StockService
) -> None:
    adjusted = await stock.adjust("TEE-BLK-M", "BER", delta=-3, reason="breakage", actor="bob")

    assert (adjusted.on_hand, adjusted.salable) == (7, 7)
    assert await movements(db, "adjust") == [("TEE-BLK-M", "BER", -3, 0, "breakage by bob")]


async def test_a_cycle_count_sets_on_hand_to_what_was_counted(
    db: SessionFactory, stock: StockService
) -> None:
    adjusted = await stock.adjust("TEE-BLK-M", "BER", counted=12, reason="cycle count",
                                  actor="alice")

    assert adjusted.on_hand == 12
    assert await movements(db, "adjust") == [("TEE-BLK-M", "BER", 2, 0, "cycle count by alice")]


@pytest.mark.parametrize(("change", "message"), [
    ({"counted": 7}, "adjusting below reserved: on hand would be 7, 8 reserved"),
    ({"delta": -3}, "adjusting below reserved: on hand would be 7, 8 reserved"),
    ({"delta": -11}, "adjusting below 0: on hand would be -1"),
    ({"counted": -1}, "a counted quantity may not be below 0, got -1"),
    ({}, "an adjustment needs either a delta or a counted quantity"),
    ({"delta": 1, "counted": 11}, "an adjustment needs either a delta or a counted quantity"),
    ({"delta": 0}, "an adjustment by 0 changes nothing"),
    ({"delta": 2**40}, f"an adjustment may move at most 1000000 units, got {2**40}"),
    ({"counted": 10**7}, "an adjustment may move at most 1000000 units, got 10000000"),
    ({"delta": 1, "reason": " "}, "reason may not be empty"),
    ({"delta": 1, "warehouse": "PAR"}, "unknown warehouse 'PAR'"),
])
async def test_a_bad_adjustment_is_refused_and_changes_nothing(
    db: SessionFactory, stock: StockService, change: dict[str, Any], message: str
) -> None:
    await reserve(db, "k1", "TEE-BLK-M", 8)
    before = await everything(db)
    arguments = {"warehouse": "BER", "reason": "cycle count", **change}

    with pytest.raises(InvalidStockChange, match=f"^{message}$"):
        await stock.adjust("TEE-BLK-M", actor="alice", **arguments)

    assert await everything(db) == before


# -- safety stock and campaign holds --------------------------------------------------------

async def test_safety_stock_is_held_back_from_ordinary_orders(
    db: SessionFactory, stock: StockService
) -> None:
    policy = await stock.set_policy("TEE-BLK-M", "BER", safety_stock=4, actor="purchasing")

    assert (policy.safety_stock, policy.salable) == (4, 6)
    assert await offered(db, "TEE-BLK-M") == {"BER": 6, "HAM": 5}
    with pytest.raises(ApplicationError, match="TEE-BLK-M short by 1"):
        await reserve(db, "k1", "TEE-BLK-M", 12)


async def test_units_an_active_campaign_holds_are_not_offered_to_ordinary_orders(
    db: SessionFactory, stock: StockService
) -> None:
    await hold_for_campaign(db, "XMAS", "active", quantity=3, used=1)
    await hold_for_campaign(db, "SUMMER", "ended", quantity=4, used=0)

    assert await offered(db, "TEE-BLK-M") == {"BER": 8, "HAM": 5}
    found = await level(db, *TEE_BER)
    assert (found.campaign_held, found.salable) == (2, 8)


async def test_salable_is_never_shown_below_zero(db: SessionFactory, stock: StockService) -> None:
    await stock.set_policy("CAP-NAVY", "HAM", safety_stock=3)

    assert (await level(db, "CAP-NAVY", "HAM")).salable == 0
    assert await offered(db, "CAP-NAVY") == {"HAM": 0}


async def test_a_policy_change_is_recorded_as_a_movement_that_moves_nothing(
    db: SessionFactory, stock: StockService
) -> None:
    await stock.set_policy("TEE-BLK-M", "BER", safety_stock=2, reorder_point=3, actor="dora")
    await stock.set_policy("TEE-BLK-M", "BER", safety_stock=2, actor="dora")

    assert await movements(db, "policy") == [
        ("TEE-BLK-M", "BER", 0, 0, "safety stock 0->2, reorder point 0->3 by dora")]
    found = await level(db, *TEE_BER)
    assert (found.on_hand, found.safety_stock, found.reorder_point) == (10, 2, 3)


@pytest.mark.parametrize(("policy", "message"), [
    ({"safety_stock": -1}, "safety stock may not be below 0, got -1"),
    ({"reorder_point": -2}, "a reorder point may not be below 0, got -2"),
    ({}, "a stock policy change needs a safety stock or a reorder point"),
])
async def test_a_bad_policy_is_refused_and_changes_nothing(
    db: SessionFactory, stock: StockService, policy: dict[str, Any], message: str
) -> None:
    before = await everything(db)

    with pytest.raises(InvalidStockChange, match=f"^{message}$"):
        await stock.set_policy("TEE-BLK-M", "BER", **policy)

    assert await everything(db) == before


async def test_a_seed_file_may_set_safety_stock_and_reorder_points(db: SessionFactory) -> None:
    catalogue = {**CATALOGUE, "stock": [
        {"sku": "TEE-BLK-M", "warehouse": "BER", "on_hand": 10, "safety_stock": 2,
         "reorder_point": 4},
        {"sku": "MUG-LOGO", "warehouse": "BER", "on_hand": 100}]}

    await seed_catalogue(db, parse_seed(catalogue))

    tee, mug = await level(db, *TEE_BER), await level(db, "MUG-LOGO", "BER")
    assert (tee.safety_stock, tee.reorder_point, tee.salable) == (2, 4, 8)
    assert (mug.safety_stock, mug.reorder_point) == (0, 0)


# -- expected deliveries --------------------------------------------------------------------

async def test_expected_deliveries_count_as_incoming_until_received(
    db: SessionFactory, stock: StockService
) -> None:
    await stock.expect("TEE-BLK-M", "BER", 20, DEC_10, reference="PO-2")
    await stock.expect("TEE-BLK-M", "HAM", 6, DEC_3, reference="PO-3")
    assert ((await level(db, *TEE_BER)).incoming, (await level(db, "TEE-BLK-M", "HAM")).incoming
            ) == (20, 6)

    await stock.receive("TEE-BLK-M", "HAM", 6, reference="PO-3", actor="alice")

    found = await level(db, "TEE-BLK-M", "HAM")
    assert (found.on_hand, found.incoming) == (11, 0)
    async with db() as session:
        statuses = (await session.execute(
            select(IncomingStockRow.reference, IncomingStockRow.status)
            .order_by(IncomingStockRow.reference))).all()
    assert [tuple(s) for s in statuses] == [("PO-2", "expected"), ("PO-3", "received")]


async def test_the_next_expected_delivery_of_a_sku_is_the_earliest_still_expected(
    db: SessionFactory, stock: StockService
) -> None:
    await stock.expect("TEE-BLK-M", "BER", 20, DEC_10, reference="PO-2")
    await stock.expect("TEE-BLK-M", "HAM", 6, DEC_3, reference="PO-3")

    async def next_expected(sku: str) -> datetime | None:
        async with db() as session:
            return await StockRepository(session).next_expected(sku)

    assert await next_expected("TEE-BLK-M") == DEC_3
    assert await next_expected("MUG-LOGO") is None
    await stock.receive("TEE-BLK-M", "HAM", 6, reference="PO-3", actor="alice")
    assert await next_expected("TEE-BLK-M") == DEC_10


@pytest.mark.parametrize(("sku", "warehouse", "quantity", "message"), [
    ("TEE-BLK-M", "BER", 0, "expected stock needs a quantity above 0, got 0"),
    ("TEE-BLK-M", "BER", 10**9, "expected stock may move at most 1000000 units, got 1000000000"),
    ("NOPE", "BER", 3, "unknown SKU 'NOPE'"),
    ("TEE-BLK-M", "PAR", 3, "unknown warehouse 'PAR'"),
])
async def test_a_bad_expected_delivery_is_refused_and_changes_nothing(
    db: SessionFactory, stock: StockService, sku: str, warehouse: str, quantity: int,
    message: str,
) -> None:
    before = await everything(db)

    with pytest.raises(InvalidStockChange, match=f"^{message}$"):
        await stock.expect(sku, warehouse, quantity, DEC_3)

    assert await everything(db) == before


@pytest.mark.parametrize(("text", "expected"), [
    ("2026-12-03", DEC_3),
    ("2026-12-03T00:00:00Z", DEC_3),
    ("2026-12-03T01:00:00+01:00", DEC_3),
])
def test_an_expected_date_without_a_zone_is_utc(text: str, expected: datetime) -> None:
    assert parse_expected_date(text) == expected


def test_an_expected_date_that_is_not_iso_is_refused() -> None:
    with pytest.raises(InvalidStockChange, match="^expected date: not an ISO date 'soon'$"):
        parse_expected_date("soon")


# -- low-stock alerts -----------------------------------------------------------------------

async def test_a_reservation_that_takes_salable_to_the_reorder_point_raises_one_alert(
    db: SessionFactory, stock: StockService
) -> None:
    await stock.set_policy("TEE-BLK-M", "BER", reorder_point=4)

    with capture_logs() as logs:
        await reserve(db, "k1", "TEE-BLK-M", 5)
        assert await open_alerts(db) == []
        await reserve(db, "k2", "TEE-BLK-M", 1)
        await reserve(db, "k3", "TEE-BLK-M", 1)

    (alert,) = await open_alerts(db)
    assert (alert.sku, alert.warehouse, alert.salable, alert.reorder_point) == (
        "TEE-BLK-M", "BER", 4, 4)
    low = [e for e in logs if e["event"] == "stock.low"]
    assert low == [{"event": "stock.low", "log_level": "warning", "sku": "TEE-BLK-M",
                    "warehouse": "BER", "salable": 4, "reorder_point": 4}]


async def test_a_receipt_that_lifts_salable_above_the_reorder_point_resolves_the_alert(
    db: SessionFactory, stock: StockService
) -> None:
    await stock.set_policy("TEE-BLK-M", "BER", reorder_point=4)
    await stock.adjust("TEE-BLK-M", "BER", delta=-7, reason="water damage", actor="bob")
    assert len(await open_alerts(db)) == 1

    await stock.receive("TEE-BLK-M", "BER", 1, actor="alice")
    assert len(await open_alerts(db)) == 1
    await stock.receive("TEE-BLK-M", "BER", 1, actor="alice")

    assert await open_alerts(db) == []
    async with db() as session:
        (alert,) = await StockRepository(session).alerts(include_resolved=True)
    assert (alert.salable, alert.resolved_at is not None) == (3, True)


async def test_stock_released_above_the_reorder_point_resolves_the_alert_too(
    db: SessionFactory, stock: StockService
) -> None:
    await stock.set_policy("TEE-BLK-M", "BER", reorder_point=4)
    await reserve(db, "k1", "TEE-BLK-M", 8)
    assert len(await open_alerts(db)) == 1

    await release(db, "k1")

    assert await open_alerts(db) == []


@pytest.mark.parametrize("policy", [{"safety_stock": 7}, {"reorder_point": 10}])
async def test_a_policy_that_puts_salable_at_the_reorder_point_raises_an_alert(
    db: SessionFactory, stock: StockService, policy: dict[str, Any]
) -> None:
    await stock.set_policy("TEE-BLK-M", "BER", reorder_point=3)
    assert await open_alerts(db) == []

    await stock.set_policy("TEE-BLK-M", "BER", **policy)

    (alert,) = await open_alerts(db)
    assert (alert.sku, alert.warehouse) == TEE_BER


async def test_a_sell_out_alerts_even_without_a_reorder_point(
    db: SessionFactory, stock: StockService
) -> None:
    await reserve(db, "k1", "CAP-NAVY", 1)

    (alert,) = await open_alerts(db)
    assert (alert.sku, alert.warehouse, alert.salable, alert.reorder_point) == (
        "CAP-NAVY", "HAM", 0, 0)


async def test_alerts_are_listed_oldest_first_and_resolved_ones_only_on_request(
    db: SessionFactory, stock: StockService
) -> None:
    await reserve(db, "k1", "CAP-NAVY", 1)
    await stock.adjust("TEE-BLK-M", "HAM", counted=0, reason="lost", actor="bob")
    await release(db, "k1")

    assert [(a.sku, a.warehouse) for a in await stock.alerts()] == [("TEE-BLK-M", "HAM")]
    every = await stock.alerts(include_resolved=True)
    assert [(a.sku, a.resolved_at is None) for a in every] == [
        ("CAP-NAVY", False), ("TEE-BLK-M", True)]
    assert every[0].at <= every[1].at < datetime.now(UTC) + timedelta(seconds=1)
