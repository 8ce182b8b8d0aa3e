"""Stock activities against real PostgreSQL: holds are taken once per key, never oversell,
and every change of a stock level is explained by the movement ledger."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.db.engine import SessionFactory
from activities.db.stock_repository import StockRepository
from activities.db.tables import ReservationRow, StockLevelRow, StockMovementRow
from activities.stock import ReserveInput, ReserveResult, SettleInput, StockActivities, StockLine
from domain.allocation import Allocation
from tests.support import seed

Levels = dict[tuple[str, str], tuple[int, int]]


@pytest.fixture
async def stock(db: SessionFactory) -> StockActivities:
    """The CATALOGUE's stock: TEE-BLK-M 10 in BER (priority 1) and 5 in HAM (priority 2),
    MUG-LOGO 100 in BER, CAP-NAVY 1 in HAM."""
    await seed(db)
    return StockActivities(db)


async def reserve(env: ActivityEnvironment, stock: StockActivities, key: str,
                  **quantities: int) -> ReserveResult:
    """Reserves under `key`; keyword names are SKUs with `_` for `-` (TEE_BLK_M=2)."""
    lines = [StockLine(sku.replace("_", "-"), n) for sku, n in quantities.items()]
    return await env.run(stock.reserve_stock, ReserveInput(f"order-{key}", key, lines))


async def release(env: ActivityEnvironment, stock: StockActivities, key: str) -> bool:
    return await env.run(stock.release_stock, SettleInput(f"order-{key}", key))


async def ship(env: ActivityEnvironment, stock: StockActivities, key: str) -> bool:
    return await env.run(stock.ship_stock, SettleInput(f"order-{key}", key))


async def levels(db: SessionFactory) -> Levels:
    """(sku, warehouse) -> (on_hand, reserved)."""
    async with db() as session:
        rows = await StockRepository(session).levels()
    return {(r.sku, r.warehouse): (r.on_hand, r.reserved) for r in rows}


async def ledger(db: SessionFactory) -> Levels:
    """(sku, warehouse) -> (sum of on_hand_delta, sum of reserved_delta) over all movements."""
    m = StockMovementRow
    async with db() as session:
        rows = await session.execute(
            select(m.sku, m.warehouse, func.sum(m.on_hand_delta), func.sum(m.reserved_delta))
            .group_by(m.sku, m.warehouse))
    return {(sku, warehouse): (on_hand, reserved) for sku, warehouse, on_hand, reserved in rows}


async def movements(db: SessionFactory, kind: str) -> list[tuple[str, str, int, int]]:
    m = StockMovementRow
    async with db() as session:
        rows = await session.execute(
            select(m.sku, m.warehouse, m.on_hand_delta, m.reserved_delta)
            .where(m.kind == kind).order_by(m.sku, m.warehouse, m.id))
    return [tuple(row) for row in rows]  # type: ignore[misc]


async def reservations(db: SessionFactory) -> list[tuple[str, str]]:
    async with db() as session:
        rows = await session.execute(
            select(ReservationRow.idempotency_key, ReservationRow.status)
            .order_by(ReservationRow.idempotency_key))
    return [tuple(row) for row in rows]  # type: ignore[misc]


async def test_an_order_one_warehouse_can_fill_is_held_there(
    db: SessionFactory, stock: StockActivities, activity_env: ActivityEnvironment
) -> None:
    result = await reserve(activity_env, stock, "k1", TEE_BLK_M=3, MUG_LOGO=2)

    assert result.allocations == [Allocation("MUG-LOGO", "BER", 2), Allocation("TEE-BLK-M", "BER", 3)]
    now = await levels(db)
    assert now[("TEE-BLK-M", "BER")] == (10, 3)
    assert now[("MUG-LOGO", "BER")] == (100, 2)
    assert now[("TEE-BLK-M", "HAM")] == (5, 0)
    assert await reservations(db) == [("k1", "held")]


async def test_one_warehouse_that_can_fill_everything_wins_over_a_higher_priority_split(
    db: SessionFactory, stock: StockActivities, activity_env: ActivityEnvironment
) -> None:
    result = await reserve(activity_env, stock, "k1", TEE_BLK_M=2, CAP_NAVY=1)

    assert result.allocations == [Allocation("CAP-NAVY", "HAM", 1), Allocation("TEE-BLK-M", "HAM", 2)]
    assert (await levels(db))[("TEE-BLK-M", "BER")] == (10, 0)


async def test_an_order_no_single_warehouse_can_fill_is_split_by_priority(
    db: SessionFactory, stock: StockActivities, activity_env: ActivityEnvironment
) -> None:
    result = await reserve(activity_env, stock, "k1", TEE_BLK_M=12)

    assert result.allocations == [Allocation("TEE-BLK-M", "BER", 10), Allocation("TEE-BLK-M", "HAM", 2)]
    now = await levels(db)
    assert (now[("TEE-BLK-M", "BER")], now[("TEE-BLK-M", "HAM")]) == ((10, 10), (5, 2))


async def test_reserving_twice_with_the_same_key_holds_the_stock_once(
    db: SessionFactory, stock: StockActivities, activity_env: ActivityEnvironment
) -> None:
    first = await reserve(activity_env, stock, "k1", TEE_BLK_M=12)
    after_first = await levels(db)

    again = await reserve(activity_env, stock, "k1", TEE_BLK_M=12)

    assert again == first
    assert await levels(db) == after_first
    assert await reservations(db) == [("k1", "held")]
    assert len(await movements(db, "reserve")) == 2


async def test_a_retried_reserve_returns_its_first_allocations_even_when_stock_has_moved_since(
    db: SessionFactory, stock: StockActivities, activity_env: ActivityEnvironment
) -> None:
    first = await reserve(activity_env, stock, "k1", TEE_BLK_M=4)
    await reserve(activity_env, stock, "k2", TEE_BLK_M=8)

    again = await reserve(activity_env, stock, "k1", TEE_BLK_M=4)

    assert again == first == ReserveResult([Allocation("TEE-BLK-M", "BER", 4)])


@pytest.mark.parametrize("wanted", [{"TEE_BLK_M": 16}, {"TEE_BLK_M": 1, "CAP_NAVY": 2}])
async def test_an_order_short_of_stock_fails_as_out_of_stock_and_holds_nothing(
    db: SessionFactory, stock: StockActivities, activity_env: ActivityEnvironment,
    wanted: dict[str, int],
) -> None:
    before = await levels(db)

    with pytest.raises(ApplicationError) as failure:
        await reserve(activity_env, stock, "k1", **wanted)

    assert failure.value.type == "OutOfStock"
    assert failure.value.non_retryable
    assert "short by" in failure.value.message
    assert await levels(db) == before
    assert await reservations(db) == []
    assert await movements(db, "reserve") == []


async def test_releasing_returns_the_held_stock_to_salable(
    db: SessionFactory, stock: StockActivities, activity_env: ActivityEnvironment
) -> None:
    before = await levels(db)
    await reserve(activity_env, stock, "k1", TEE_BLK_M=12)

    assert await release(activity_env, stock, "k1") is True

    assert await levels(db) == before
    assert await reservations(db) == [("k1", "released")]
    assert await movements(db, "release") == [("TEE-BLK-M", "BER", 0, -10),
                                              ("TEE-BLK-M", "HAM", 0, -2)]


async def test_a_release_before_any_reserve_leaves_a_tombstone_so_a_late_reserve_holds_nothing(
    db: SessionFactory, stock: StockActivities, activity_env: ActivityEnvironment
) -> None:
    before = await levels(db)

    assert await release(activity_env, stock, "k1") is False
    assert await reservations(db) == [("k1", "released")]

    late = await reserve(activity_env, stock, "k1", TEE_BLK_M=3)

    assert late.allocations == []
    assert await levels(db) == before
    assert await reservations(db) == [("k1", "released")]
    assert await movements(db, "reserve") == []


async def test_shipping_takes_the_held_stock_out_of_the_warehouse(
    db: SessionFactory, stock: StockActivities, activity_env: ActivityEnvironment
) -> None:
    await reserve(activity_env, stock, "k1", TEE_BLK_M=12)

    assert await ship(activity_env, stock, "k1") is True

    now = await levels(db)
    assert (now[("TEE-BLK-M", "BER")], now[("TEE-BLK-M", "HAM")]) == ((0, 0), (3, 0))
    assert await reservations(db) == [("k1", "shipped")]
    assert await movements(db, "ship") == [("TEE-BLK-M", "BER", -10, -10),
                                           ("TEE-BLK-M", "HAM", -2, -2)]


@pytest.mark.parametrize(("first", "then"), [
    ("release", "release"), ("ship", "ship"), ("ship", "release"), ("release", "ship"),
])
async def test_a_reservation_already_released_or_shipped_is_left_as_it_is(
    db: SessionFactory, stock: StockActivities, activity_env: ActivityEnvironment,
    first: str, then: str,
) -> None:
    settle = {"release": release, "ship": ship}
    ended = {"release": "released", "ship": "shipped"}
    await reserve(activity_env, stock, "k1", TEE_BLK_M=2)
    await settle[first](activity_env, stock, "k1")
    after_first = await levels(db)

    assert await settle[then](activity_env, stock, "k1") is False

    assert await levels(db) == after_first
    assert await reservations(db) == [("k1", ended[first])]
    assert len(await movements(db, "release") + await movements(db, "ship")) == 1


async def test_shipping_a_key_that_never_reserved_is_refused_without_a_record(
    db: SessionFactory, stock: StockActivities, activity_env: ActivityEnvironment
) -> None:
    with pytest.raises(ApplicationError) as failure:
        await ship(activity_env, stock, "k1")

    assert (failure.value.type, failure.value.non_retryable) == ("UnknownReservation", True)
    assert await reservations(db) == []


async def test_the_movement_ledger_always_sums_to_the_stock_levels(
    db: SessionFactory, stock: StockActivities, activity_env: ActivityEnvironment
) -> None:
    async def out_of_stock(key: str, **wanted: int) -> None:
        with pytest.raises(ApplicationError, match="not enough stock"):
            await reserve(activity_env, stock, key, **wanted)

    steps = [
        lambda: reserve(activity_env, stock, "a", TEE_BLK_M=12),
        lambda: reserve(activity_env, stock, "b", MUG_LOGO=5, CAP_NAVY=1),
        lambda: out_of_stock("c", TEE_BLK_M=4),
        lambda: release(activity_env, stock, "a"),
        lambda: reserve(activity_env, stock, "d", TEE_BLK_M=4, MUG_LOGO=1),
        lambda: ship(activity_env, stock, "b"),
        lambda: ship(activity_env, stock, "d"),
        lambda: release(activity_env, stock, "b"),
        lambda: release(activity_env, stock, "e"),
        lambda: reserve(activity_env, stock, "f", TEE_BLK_M=11),
    ]
    for step in steps:
        await step()
        assert await ledger(db) == await levels(db)

    assert await levels(db) == {
        ("CAP-NAVY", "HAM"): (0, 0),
        ("MUG-LOGO", "BER"): (94, 0),
        ("TEE-BLK-M", "BER"): (6, 6),
        ("TEE-BLK-M", "HAM"): (5, 5),
        ("TEE-BLK-L", "BER"): (3, 0),  # never ordered
    }


async def test_concurrent_orders_for_the_last_units_never_oversell(
    db: SessionFactory, stock: StockActivities, activity_env: ActivityEnvironment
) -> None:
    async def one_unit(key: str) -> ReserveResult | ApplicationError:
        try:
            return await reserve(activity_env, stock, key, TEE_BLK_M=1)
        except ApplicationError as error:
            return error

    outcomes = await asyncio.gather(*(one_unit(f"k{n:02}") for n in range(40)))

    held = [o for o in outcomes if isinstance(o, ReserveResult)]
    refused = [o for o in outcomes if isinstance(o, ApplicationError)]
    assert (len(held), len(refused)) == (15, 25)
    assert {(e.type, e.non_retryable) for e in refused} == {("OutOfStock", True)}
    now = await levels(db)
    assert (now[("TEE-BLK-M", "BER")], now[("TEE-BLK-M", "HAM")]) == ((10, 10), (5, 5))
    assert all(on_hand >= reserved >= 0 for on_hand, reserved in now.values())
    assert len(await reservations(db)) == 15
    assert await ledger(db) == now


@pytest.mark.parametrize(("on_hand", "reserved", "constraint"), [
    (10, 11, "ck_stock_levels_reserved_within_on_hand"),
    (10, -1, "ck_stock_levels_reserved_not_negative"),
])
async def test_the_database_refuses_a_stock_level_that_holds_more_than_is_on_hand(
    db: SessionFactory, stock: StockActivities, on_hand: int, reserved: int, constraint: str
) -> None:
    with pytest.raises(IntegrityError, match=constraint):
        async with db.begin() as session:
            await session.execute(
                update(StockLevelRow)
                .where(StockLevelRow.sku == "TEE-BLK-M", StockLevelRow.warehouse == "BER")
                .values(on_hand=on_hand, reserved=reserved))
