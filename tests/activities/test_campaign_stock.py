"""Campaign stock and allocation strategies against real PostgreSQL: held units are out of
reach of ordinary orders, campaign orders use them first, and ending a campaign gives back
what is left."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.campaigns import CampaignActivities, CampaignEnded, EndCampaignInput
from activities.db.allocation_repository import CampaignRepository
from activities.db.engine import SessionFactory
from activities.db.stock_repository import StockRepository
from activities.db.tables import CampaignAllocationRow, CampaignRow, StockMovementRow
from activities.stock import ReserveInput, ReserveResult, SettleInput, StockActivities, StockLine
from api.catalogue import parse_seed, seed_catalogue
from domain.allocation import Allocation
from domain.campaigns import Campaign, InvalidCampaign, new_campaign
from domain.errors import CampaignConflict, OutOfStock
from tests.support import CATALOGUE

HOUR = timedelta(hours=1)

# The shared catalogue plus a warehouse abroad: TEE-BLK-M 10 in BER (DE, priority 1),
# 5 in HAM (DE, 2) and 4 in VIE (AT, 3); MUG-LOGO 100 in BER; CAP-NAVY 1 in HAM.
WITH_VIENNA: dict[str, Any] = copy.deepcopy(CATALOGUE)
WITH_VIENNA["warehouses"].append({"code": "VIE", "name": "Vienna", "country": "AT", "priority": 3})
WITH_VIENNA["stock"].append({"sku": "TEE-BLK-M", "warehouse": "VIE", "on_hand": 4})


@pytest.fixture
async def stock(db: SessionFactory) -> StockActivities:
    await seed_catalogue(db, parse_seed(WITH_VIENNA))
    return StockActivities(db)


async def create_campaign(db: SessionFactory, code: str, *holds: tuple[str, str, int],
                          starts: timedelta = -HOUR, ends: timedelta = 24 * HOUR) -> Campaign:
    """A campaign whose window opens and closes these offsets from now."""
    now = datetime.now(UTC)
    campaign = new_campaign(code, code.title(), now + starts, now + ends, holds, now=now)
    async with db.begin() as session:
        await CampaignRepository(session).create(campaign)
    return campaign


async def reserve(env: ActivityEnvironment, stock: StockActivities, key: str, *,
                  campaign: str = "", strategy: str = "single-warehouse-first",
                  country: str = "DE", partial: bool = False, **quantities: int) -> ReserveResult:
    """Reserves under `key`; keyword names are SKUs with `_` for `-` (TEE_BLK_M=2)."""
    lines = [StockLine(sku.replace("_", "-"), n) for sku, n in quantities.items()]
    return await env.run(stock.reserve_stock, ReserveInput(
        f"order-{key}", key, lines, strategy=strategy, destination_country=country,
        campaign=campaign, allow_partial=partial))


async def general_salable(db: SessionFactory, sku: str = "TEE-BLK-M") -> dict[str, int]:
    """Warehouse -> units of `sku` an ordinary order could take."""
    async with db.begin() as session:
        rows = await StockRepository(session).lock_stock([sku])
    return {r.warehouse: r.salable for r in rows}


async def campaign_use(db: SessionFactory, code: str) -> dict[str, tuple[int, int]]:
    """'SKU@WAREHOUSE' -> (held, used) of a campaign."""
    async with db() as session:
        campaign = await CampaignRepository(session).get(code)
    assert campaign is not None
    return {f"{h.sku}@{h.warehouse}": (h.quantity, h.used) for h in campaign.holds}


async def end(env: ActivityEnvironment, db: SessionFactory, code: str) -> CampaignEnded:
    return await env.run(CampaignActivities(db).end_campaign, EndCampaignInput(code))


async def table_counts(db: SessionFactory) -> tuple[int, int, int]:
    async with db() as session:
        return (await session.scalar(select(func.count()).select_from(CampaignRow)) or 0,
                await session.scalar(select(func.count()).select_from(CampaignAllocationRow)) or 0,
                await session.scalar(select(func.count()).select_from(StockMovementRow)) or 0)


# --- campaign stock ---------------------------------------------------------------------


async def test_ordinary_orders_cannot_take_the_units_a_campaign_holds(
        activity_env: ActivityEnvironment, stock: StockActivities, db: SessionFactory) -> None:
    await create_campaign(db, "SUMMER", ("TEE-BLK-M", "BER", 8))

    with pytest.raises(ApplicationError, match="TEE-BLK-M short by 1") as caught:
        await reserve(activity_env, stock, "k1", TEE_BLK_M=12)
    result = await reserve(activity_env, stock, "k2", strategy="priority", TEE_BLK_M=11)

    assert caught.value.type == "OutOfStock"
    assert result.allocations == [Allocation("TEE-BLK-M", "BER", 2),
                                  Allocation("TEE-BLK-M", "HAM", 5),
                                  Allocation("TEE-BLK-M", "VIE", 4)]


async def test_campaign_orders_draw_on_campaign_stock_first_then_on_general_stock(
        activity_env: ActivityEnvironment, stock: StockActivities, db: SessionFactory) -> None:
    await create_campaign(db, "SUMMER", ("TEE-BLK-M", "HAM", 3))

    result = await reserve(activity_env, stock, "k1", campaign="SUMMER", TEE_BLK_M=5)

    assert result.allocations == [Allocation("TEE-BLK-M", "HAM", 3, "SUMMER"),
                                  Allocation("TEE-BLK-M", "BER", 2)]
    assert await campaign_use(db, "SUMMER") == {"TEE-BLK-M@HAM": (3, 3)}
    assert await general_salable(db) == {"BER": 8, "HAM": 2, "VIE": 4}


async def test_a_retried_campaign_reservation_holds_and_uses_the_units_once(
        activity_env: ActivityEnvironment, stock: StockActivities, db: SessionFactory) -> None:
    await create_campaign(db, "SUMMER", ("TEE-BLK-M", "BER", 3))

    first = await reserve(activity_env, stock, "k1", campaign="SUMMER", TEE_BLK_M=4)
    again = await reserve(activity_env, stock, "k1", campaign="SUMMER", TEE_BLK_M=4)

    assert again == first == ReserveResult([Allocation("TEE-BLK-M", "BER", 3, "SUMMER"),
                                            Allocation("TEE-BLK-M", "BER", 1)])
    assert await campaign_use(db, "SUMMER") == {"TEE-BLK-M@BER": (3, 3)}


@pytest.mark.parametrize("campaign, starts, ends", [
    ("NOPE", None, None),  # no such campaign
    ("LATER", 2 * HOUR, 24 * HOUR),  # its window has not opened
])
async def test_an_order_naming_a_campaign_that_does_not_apply_gets_general_stock(
        activity_env: ActivityEnvironment, stock: StockActivities, db: SessionFactory,
        campaign: str, starts: timedelta | None, ends: timedelta | None) -> None:
    if starts is not None and ends is not None:
        await create_campaign(db, campaign, ("TEE-BLK-M", "BER", 8), starts=starts, ends=ends)

    result = await reserve(activity_env, stock, "k1", campaign=campaign, TEE_BLK_M=3)

    expected = "HAM" if campaign == "LATER" else "BER"  # LATER holds 8 of BER's 10 already
    assert result.allocations == [Allocation("TEE-BLK-M", expected, 3)]


async def test_ending_a_campaign_returns_what_its_orders_did_not_use_to_general_stock(
        activity_env: ActivityEnvironment, stock: StockActivities, db: SessionFactory) -> None:
    await create_campaign(db, "SUMMER", ("TEE-BLK-M", "BER", 8))
    await reserve(activity_env, stock, "k1", campaign="SUMMER", TEE_BLK_M=3)
    assert await general_salable(db) == {"BER": 2, "HAM": 5, "VIE": 4}

    ended = await end(activity_env, db, "SUMMER")

    assert ended == CampaignEnded("SUMMER", units_returned=5)
    assert await general_salable(db) == {"BER": 7, "HAM": 5, "VIE": 4}
    late = await reserve(activity_env, stock, "k2", campaign="SUMMER", TEE_BLK_M=7)
    assert late.allocations == [Allocation("TEE-BLK-M", "BER", 7)]


async def test_ending_a_campaign_twice_changes_nothing_the_second_time(
        activity_env: ActivityEnvironment, stock: StockActivities, db: SessionFactory) -> None:
    await create_campaign(db, "SUMMER", ("TEE-BLK-M", "BER", 8))
    await end(activity_env, db, "SUMMER")

    again = await end(activity_env, db, "SUMMER")

    assert again == CampaignEnded("SUMMER", units_returned=8, already_ended=True)
    assert await general_salable(db) == {"BER": 10, "HAM": 5, "VIE": 4}


async def test_ending_an_unknown_campaign_is_a_business_failure(
        activity_env: ActivityEnvironment, stock: StockActivities, db: SessionFactory) -> None:
    with pytest.raises(ApplicationError) as caught:
        await end(activity_env, db, "NOPE")

    assert caught.value.type == "UnknownCampaign"
    assert caught.value.non_retryable


async def test_releasing_a_campaign_order_gives_its_units_back_to_the_campaign(
        activity_env: ActivityEnvironment, stock: StockActivities, db: SessionFactory) -> None:
    await create_campaign(db, "SUMMER", ("TEE-BLK-M", "BER", 3))
    await reserve(activity_env, stock, "k1", campaign="SUMMER", TEE_BLK_M=4)

    released = await activity_env.run(stock.release_stock, SettleInput("order-k1", "k1"))

    assert released
    assert await campaign_use(db, "SUMMER") == {"TEE-BLK-M@BER": (3, 0)}
    assert await general_salable(db) == {"BER": 7, "HAM": 5, "VIE": 4}
    again = await reserve(activity_env, stock, "k2", campaign="SUMMER", TEE_BLK_M=3)
    assert again.allocations == [Allocation("TEE-BLK-M", "BER", 3, "SUMMER")]


async def test_shipped_campaign_units_stay_used_by_the_campaign(
        activity_env: ActivityEnvironment, stock: StockActivities, db: SessionFactory) -> None:
    await create_campaign(db, "SUMMER", ("TEE-BLK-M", "BER", 3))
    await reserve(activity_env, stock, "k1", campaign="SUMMER", TEE_BLK_M=2)

    await activity_env.run(stock.ship_stock, SettleInput("order-k1", "k1"))

    assert await campaign_use(db, "SUMMER") == {"TEE-BLK-M@BER": (3, 2)}
    assert await general_salable(db) == {"BER": 7, "HAM": 5, "VIE": 4}


async def test_campaign_reservations_are_explained_by_the_movement_ledger(
        activity_env: ActivityEnvironment, stock: StockActivities, db: SessionFactory) -> None:
    await create_campaign(db, "SUMMER", ("TEE-BLK-M", "BER", 3))
    await reserve(activity_env, stock, "k1", campaign="SUMMER", TEE_BLK_M=4)

    m = StockMovementRow
    async with db() as session:
        rows = (await session.execute(
            select(m.warehouse, m.reserved_delta, m.reason).where(m.kind == "reserve")
            .order_by(m.id))).all()

    assert [tuple(r) for r in rows] == [("BER", 3, "campaign SUMMER"), ("BER", 1, "")]


# --- creating campaigns -------------------------------------------------------------------


async def test_a_campaign_overlapping_another_for_the_same_stock_is_refused_and_changes_nothing(
        stock: StockActivities, db: SessionFactory) -> None:
    await create_campaign(db, "SUMMER", ("TEE-BLK-M", "BER", 3), ends=24 * HOUR)
    before = (await table_counts(db), await general_salable(db))

    with pytest.raises(CampaignConflict, match="^campaign SUMMER already holds TEE-BLK-M@BER"):
        await create_campaign(db, "FLASH", ("TEE-BLK-M", "HAM", 1), ("TEE-BLK-M", "BER", 1),
                              starts=12 * HOUR, ends=36 * HOUR)

    assert (await table_counts(db), await general_salable(db)) == before


async def test_a_later_campaign_may_hold_the_same_stock_while_general_stock_covers_both(
        stock: StockActivities, db: SessionFactory) -> None:
    await create_campaign(db, "SUMMER", ("TEE-BLK-M", "BER", 3), ends=24 * HOUR)

    await create_campaign(db, "AUTUMN", ("TEE-BLK-M", "BER", 7), starts=24 * HOUR,
                          ends=48 * HOUR)

    assert await general_salable(db) == {"BER": 0, "HAM": 5, "VIE": 4}


async def test_a_campaign_holding_more_than_general_salable_stock_is_refused(
        stock: StockActivities, db: SessionFactory) -> None:
    await create_campaign(db, "SUMMER", ("TEE-BLK-M", "BER", 8))
    before = await table_counts(db)

    with pytest.raises(OutOfStock, match="^not enough stock to hold: TEE-BLK-M@BER has 2 "
                                         "salable, 3 wanted$"):
        await create_campaign(db, "FLASH", ("TEE-BLK-M", "BER", 3), starts=48 * HOUR,
                              ends=72 * HOUR)

    assert await table_counts(db) == before


@pytest.mark.parametrize("hold, field", [
    (("NOPE", "BER", 1), "holds[0].sku"), (("TEE-BLK-M", "PAR", 1), "holds[0].warehouse")])
async def test_a_campaign_naming_an_unknown_sku_or_warehouse_is_refused(
        stock: StockActivities, db: SessionFactory, hold: tuple[str, str, int], field: str
) -> None:
    with pytest.raises(InvalidCampaign) as caught:
        await create_campaign(db, "SUMMER", hold)

    assert caught.value.field == field
    assert (await table_counts(db))[:2] == (0, 0)


async def test_a_campaign_code_already_taken_is_refused(
        stock: StockActivities, db: SessionFactory) -> None:
    await create_campaign(db, "SUMMER", ("TEE-BLK-M", "BER", 1))

    with pytest.raises(CampaignConflict, match="^campaign SUMMER already exists$"):
        await create_campaign(db, "SUMMER", ("MUG-LOGO", "BER", 1))


# --- strategies and partial reservations --------------------------------------------------


@pytest.mark.parametrize("strategy, country, expected", [
    ("priority", "DE", [("CAP-NAVY", "HAM", 1), ("TEE-BLK-M", "BER", 5)]),
    ("single-warehouse-first", "DE", [("CAP-NAVY", "HAM", 1), ("TEE-BLK-M", "HAM", 5)]),
    ("nearest", "AT", [("CAP-NAVY", "HAM", 1), ("TEE-BLK-M", "VIE", 4), ("TEE-BLK-M", "BER", 1)]),
])
async def test_each_strategy_picks_its_warehouses(
        activity_env: ActivityEnvironment, stock: StockActivities, strategy: str, country: str,
        expected: list[tuple[str, str, int]]) -> None:
    result = await reserve(activity_env, stock, "k1", strategy=strategy, country=country,
                           TEE_BLK_M=5, CAP_NAVY=1)

    assert result.allocations == [Allocation(*a) for a in expected]


@pytest.mark.parametrize("strategy, country, warehouse", [
    ("priority", "DE", "BER"), ("single-warehouse-first", "DE", "BER"), ("nearest", "AT", "VIE")])
async def test_an_order_one_warehouse_can_fill_goes_to_the_one_the_strategy_prefers(
        activity_env: ActivityEnvironment, stock: StockActivities, strategy: str, country: str,
        warehouse: str) -> None:
    result = await reserve(activity_env, stock, "k1", strategy=strategy, country=country,
                           TEE_BLK_M=3)

    assert result.allocations == [Allocation("TEE-BLK-M", warehouse, 3)]


async def test_an_unknown_strategy_fails_without_retrying(
        activity_env: ActivityEnvironment, stock: StockActivities, db: SessionFactory) -> None:
    with pytest.raises(ApplicationError) as caught:
        await reserve(activity_env, stock, "k1", strategy="cheapest", TEE_BLK_M=1)

    assert (caught.value.type, caught.value.non_retryable) == ("UnknownAllocationStrategy", True)
    assert await general_salable(db) == {"BER": 10, "HAM": 5, "VIE": 4}


async def test_a_partial_reservation_holds_what_there_is_and_reports_the_shortfall(
        activity_env: ActivityEnvironment, stock: StockActivities, db: SessionFactory) -> None:
    result = await reserve(activity_env, stock, "k1", partial=True, TEE_BLK_M=22, MUG_LOGO=1)
    again = await reserve(activity_env, stock, "k1", partial=True, TEE_BLK_M=22, MUG_LOGO=1)

    assert result.shortfall == {"TEE-BLK-M": 3}
    assert sum(a.quantity for a in result.allocations if a.sku == "TEE-BLK-M") == 19
    assert again == result
    assert await general_salable(db) == {"BER": 0, "HAM": 0, "VIE": 0}
