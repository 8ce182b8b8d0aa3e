"""Random sequences of receipts, reservations, releases, shipments, adjustments, return
restocks and policy changes against real PostgreSQL: after every step the movement ledger
explains the stock levels exactly and no figure goes out of bounds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select, text
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.db.engine import SessionFactory
from activities.db.metadata import metadata
from activities.db.stock_repository import StockRepository
from activities.db.tables import CampaignAllocationRow, CampaignRow, StockMovementRow
from activities.stock import ReserveInput, SettleInput, StockActivities, StockLine
from api.stock import StockService
from domain.errors import InvalidStockChange
from tests.support import seed

SKUS = ["TEE-BLK-M", "MUG-LOGO", "CAP-NAVY"]
WAREHOUSES = ["BER", "HAM"]
STEPS = ["receive", "return restock", "reserve", "release", "ship", "adjust", "count", "policy"]
Place = tuple[str, str]

places = st.tuples(st.sampled_from(SKUS), st.sampled_from(WAREHOUSES))


async def empty_and_seed(db: SessionFactory) -> None:
    """The CATALOGUE's stock, with an active campaign holding 3 of BER's 10 TEE-BLK-M."""
    names = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
    async with db.begin() as session:
        await session.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    await seed(db)
    async with db.begin() as session:
        now = datetime.now(UTC)
        session.add(CampaignRow(code="XMAS", name="Christmas", starts_at=now,
                                ends_at=now + timedelta(days=30)))
        await session.flush()
        session.add(CampaignAllocationRow(campaign="XMAS", sku="TEE-BLK-M", warehouse="BER",
                                          quantity=3, used=0))


class Warehouse:
    """Draws each step as it goes, so releases and shipments mostly pick a reservation that
    is still held (and sometimes a key that never reserved anything)."""

    def __init__(self, db: SessionFactory, data: st.DataObject) -> None:
        self.stock, self.activities = StockService(db), StockActivities(db)
        self.env, self.data = ActivityEnvironment(), data
        self.held: list[str] = []
        self.keys = 0

    async def step(self) -> set[Place]:
        """Runs one random step; refusals are part of the game. Returns the levels a
        reservation drew on."""
        name = self.data.draw(st.sampled_from(STEPS), label="step")
        try:
            return await getattr(self, name.replace(" ", "_"))()
        except (InvalidStockChange, ApplicationError):
            return set()

    async def receive(self, reason: str = "receipt") -> set[Place]:
        (sku, warehouse), quantity = self.data.draw(places), self.data.draw(st.integers(1, 6))
        await self.stock.receive(sku, warehouse, quantity, actor="prop", reason=reason)
        return set()

    async def return_restock(self) -> set[Place]:
        return await self.receive("return restock")

    async def reserve(self) -> set[Place]:
        wanted = self.data.draw(st.dictionaries(st.sampled_from(SKUS), st.integers(1, 6),
                                                min_size=1, max_size=2))
        self.keys += 1
        key = f"k{self.keys}"
        lines = [StockLine(sku, n) for sku, n in sorted(wanted.items())]
        result = await self.env.run(self.activities.reserve_stock, ReserveInput(key, key, lines))
        self.held.append(key)
        return {(a.sku, a.warehouse) for a in result.allocations}

    async def release(self) -> set[Place]:
        await self.env.run(self.activities.release_stock, self._settle())
        return set()

    async def ship(self) -> set[Place]:
        await self.env.run(self.activities.ship_stock, self._settle())
        return set()

    def _settle(self) -> SettleInput:
        if self.held and self.data.draw(st.integers(0, 4), label="fresh key") > 0:
            key = self.held.pop(self.data.draw(st.integers(0, len(self.held) - 1)))
        else:
            self.keys += 1
            key = f"k{self.keys}"
        return SettleInput(key, key)

    async def adjust(self) -> set[Place]:
        (sku, warehouse), delta = self.data.draw(places), self.data.draw(st.integers(-6, 6))
        await self.stock.adjust(sku, warehouse, delta=delta, reason="correction", actor="prop")
        return set()

    async def count(self) -> set[Place]:
        (sku, warehouse), counted = self.data.draw(places), self.data.draw(st.integers(0, 12))
        await self.stock.adjust(sku, warehouse, counted=counted, reason="cycle count",
                                actor="prop")
        return set()

    async def policy(self) -> set[Place]:
        (sku, warehouse) = self.data.draw(places)
        safety, point = self.data.draw(st.integers(0, 3)), self.data.draw(st.integers(0, 4))
        await self.stock.set_policy(sku, warehouse, safety_stock=safety, reorder_point=point)
        return set()


async def check_invariants(db: SessionFactory, reserved_from: set[Place]) -> None:
    m = StockMovementRow
    async with db() as session:
        levels = await StockRepository(session).levels()
        sums = await session.execute(
            select(m.sku, m.warehouse, func.sum(m.on_hand_delta), func.sum(m.reserved_delta))
            .group_by(m.sku, m.warehouse))
    ledger = {(sku, wh): (on_hand, reserved) for sku, wh, on_hand, reserved in sums}
    assert set(ledger) <= {(lv.sku, lv.warehouse) for lv in levels}
    # A level a policy change started, with nothing moved yet, has no movements to sum.
    assert {(lv.sku, lv.warehouse): (lv.on_hand, lv.reserved) for lv in levels} == {
        (lv.sku, lv.warehouse): ledger.get((lv.sku, lv.warehouse), (0, 0)) for lv in levels}
    for lv in levels:
        assert 0 <= lv.reserved <= lv.on_hand
        assert lv.salable >= 0
        if (lv.sku, lv.warehouse) in reserved_from:
            # An ordinary order never takes safety stock or what a campaign holds.
            assert lv.on_hand - lv.reserved - lv.safety_stock - lv.campaign_held >= 0


@settings(max_examples=25, deadline=None)
@given(st.data())
async def test_the_ledger_sums_to_the_stock_levels_after_every_step(
    session_factory: SessionFactory, data: st.DataObject
) -> None:
    await empty_and_seed(session_factory)
    warehouse = Warehouse(session_factory, data)
    for _ in range(data.draw(st.integers(1, 12), label="steps")):
        await check_invariants(session_factory, await warehouse.step())
