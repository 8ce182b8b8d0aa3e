"""Campaign stock: the units campaigns hold back, the reservations that draw on them, and
the campaigns themselves.

Locks are always taken in the same order, so nothing here deadlocks with the stock
repository: stock levels first, then the campaign row, then its held stock."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from activities.db.stock_repository import StockRepository
from activities.db.tables import (
    CampaignAllocationRow,
    CampaignRow,
    ProductRow,
    ReservationLineRow,
    ReservationRow,
    StockLevelRow,
    WarehouseRow,
)
from domain.allocation import Allocation, WarehouseStock
from domain.campaigns import (
    ACTIVE,
    ENDED,
    Campaign,
    CampaignHold,
    InvalidCampaign,
    check_holdable,
    check_no_overlap,
)
from domain.errors import CampaignConflict


class AllocationRepository:
    """Reservations that may draw on campaign stock as well as on general stock."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.stock = StockRepository(session)

    async def lock_campaign_stock(self, campaign: str, skus: list[str], at: datetime
                                  ) -> list[WarehouseStock]:
        """The units `campaign` still holds of these SKUs, locked; none unless it is active and
        `at` falls in its window. Take the levels' locks (`lock_stock`) first."""
        # A shared lock on the campaign row: ending it waits until this reservation is done.
        row = await self.session.scalar(
            select(CampaignRow).where(CampaignRow.code == campaign).with_for_update(read=True))
        if row is None or not _campaign(row).applies_at(at):
            return []
        ca, level = CampaignAllocationRow, StockLevelRow
        rows = await self.session.execute(
            select(ca, WarehouseRow.priority, WarehouseRow.country,
                   level.on_hand - level.reserved - level.safety_stock)
            .join(WarehouseRow, WarehouseRow.code == ca.warehouse)
            .join(level, (level.sku == ca.sku) & (level.warehouse == ca.warehouse))
            .where(ca.campaign == campaign, ca.sku.in_(skus))
            .order_by(ca.sku, ca.warehouse)
            .with_for_update(of=ca))
        # Bounded by what is physically free, in case on-hand stock shrank below the hold.
        return [WarehouseStock(hold.sku, hold.warehouse, priority,
                               max(0, min(hold.quantity - hold.used, free)), country)
                for hold, priority, country, free in rows]

    async def reserve_lines(self, key: str, order_id: str, allocations: list[Allocation]) -> None:
        """Holds the allocations under `key`; campaign lines count as used by their campaign.
        The levels must be locked already (`lock_stock`)."""
        reservation = ReservationRow(idempotency_key=key, order_id=order_id, status="held")
        self.session.add(reservation)
        await self.session.flush()
        # One watch around both changes: a campaign unit moves from held to reserved, which
        # leaves general salable stock (and its low-stock alerts) as it was.
        async with self.stock.watch((a.sku, a.warehouse) for a in allocations):
            for a in allocations:
                self.session.add(ReservationLineRow(
                    reservation_id=reservation.id, sku=a.sku, warehouse=a.warehouse,
                    campaign=a.campaign, quantity=a.quantity))
                await self.stock.move(a, on_hand=0, reserved=a.quantity, kind="reserve",
                                      order_id=order_id, reason=_reason(a))
            await self._use([a for a in allocations if a.campaign], sign=1)

    async def reservation_lines(self, key: str) -> list[Allocation]:
        """What the reservation holds, each line with the campaign it draws on."""
        lines = await self.session.scalars(
            select(ReservationLineRow)
            .join(ReservationRow, ReservationRow.id == ReservationLineRow.reservation_id)
            .where(ReservationRow.idempotency_key == key)
            .order_by(ReservationLineRow.sku, ReservationLineRow.campaign.desc(),
                      ReservationLineRow.warehouse))
        return [Allocation(line.sku, line.warehouse, line.quantity, line.campaign)
                for line in lines]

    async def release_campaign_lines(self, held: list[Allocation], warehouse: str = ""
                                     ) -> list[Allocation]:
        """Gives the held campaign units (of one warehouse, when given) back to their
        campaigns, before the lines themselves are released, so general salable stock never
        jumps."""
        lines = [a for a in held if warehouse in ("", a.warehouse)]
        campaign_lines = [a for a in lines if a.campaign]
        if campaign_lines:
            # Every level the release will touch, in the fixed order, before any campaign row.
            await self.stock.lock_stock(sorted({a.sku for a in lines}))
            await self._use(campaign_lines, sign=-1)
        return campaign_lines

    async def _use(self, allocations: list[Allocation], *, sign: int) -> None:
        ca = CampaignAllocationRow
        for a in sorted(allocations, key=lambda a: (a.campaign, a.sku, a.warehouse)):
            await self.session.execute(
                update(ca).where(ca.campaign == a.campaign, ca.sku == a.sku,
                                 ca.warehouse == a.warehouse)
                .values(used=ca.used + sign * a.quantity))


def _campaign(row: CampaignRow, holds: Iterable[CampaignHold] = ()) -> Campaign:
    return Campaign(row.code, row.name, row.starts_at, row.ends_at, tuple(holds), row.status)


def _reason(a: Allocation) -> str:
    return f"campaign {a.campaign}" if a.campaign else ""


class CampaignRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.stock = StockRepository(session)

    async def create(self, campaign: Campaign) -> None:
        """Stores a new campaign and its holds. Refused when the code is taken, a SKU or
        warehouse is unknown, another campaign holds the same stock over an overlapping
        period, or general salable stock cannot cover a hold."""
        if await self.get(campaign.code) is not None:
            raise CampaignConflict(f"campaign {campaign.code} already exists")
        await self._check_known(campaign.holds)
        await self.stock.lock_stock(sorted({h.sku for h in campaign.holds}))
        # Read under the locks just taken, so a campaign or order that committed while we
        # waited is counted.
        async with self.stock.watch((h.sku, h.warehouse) for h in campaign.holds) as levels:
            check_no_overlap(campaign, await self._overlapping(campaign))
            check_holdable(campaign, {place: level.salable for place, level in levels.items()})
            self.session.add(CampaignRow(code=campaign.code, name=campaign.name,
                                         starts_at=campaign.starts_at, ends_at=campaign.ends_at,
                                         status=ACTIVE))
            try:
                await self.session.flush()
            except IntegrityError:
                raise CampaignConflict(f"campaign {campaign.code} already exists") from None
            self.session.add_all(CampaignAllocationRow(
                campaign=campaign.code, sku=h.sku, warehouse=h.warehouse, quantity=h.quantity,
                used=0) for h in campaign.holds)
            await self.session.flush()

    async def get(self, code: str) -> Campaign | None:
        found = await self._load(CampaignRow.code == code)
        return found[0] if found else None

    async def all(self) -> list[Campaign]:
        return await self._load()

    async def end(self, code: str) -> Campaign | None:
        """Ends an active campaign: what it still holds is general stock again. Answers the
        campaign as it was just before, or None when no active campaign has that code."""
        campaign = await self.get(code)
        if campaign is None or campaign.status != ACTIVE:
            return None
        async with self.stock.watch((h.sku, h.warehouse) for h in campaign.holds):
            ended = await self.session.execute(
                update(CampaignRow).where(CampaignRow.code == code, CampaignRow.status == ACTIVE)
                .values(status=ENDED))
            if ended.rowcount == 0:  # type: ignore[attr-defined]
                return None
            # Re-read under the locks: orders may have used or released units meanwhile.
            return await self.get(code)

    async def _overlapping(self, campaign: Campaign) -> list[Campaign]:
        return await self._load(CampaignRow.status == ACTIVE,
                                CampaignRow.starts_at < campaign.ends_at,
                                CampaignRow.ends_at > campaign.starts_at)

    async def _load(self, *where: object) -> list[Campaign]:
        rows = (await self.session.scalars(
            select(CampaignRow).where(*where)  # type: ignore[arg-type]
            .order_by(CampaignRow.starts_at, CampaignRow.code))).all()
        holds: dict[str, list[CampaignHold]] = defaultdict(list)
        if rows:
            ca = CampaignAllocationRow
            for h in await self.session.scalars(
                    select(ca).where(ca.campaign.in_([r.code for r in rows]))
                    .order_by(ca.sku, ca.warehouse)):
                holds[h.campaign].append(CampaignHold(h.sku, h.warehouse, h.quantity, h.used))
        return [_campaign(r, holds[r.code]) for r in rows]

    async def _check_known(self, holds: Iterable[CampaignHold]) -> None:
        holds = list(holds)
        skus = set(await self.session.scalars(
            select(ProductRow.sku).where(ProductRow.sku.in_({h.sku for h in holds}))))
        warehouses = set(await self.session.scalars(
            select(WarehouseRow.code).where(WarehouseRow.code.in_({h.warehouse for h in holds}))))
        for i, h in enumerate(holds):
            if h.sku not in skus:
                raise InvalidCampaign(f"holds[{i}].sku", f"unknown SKU {h.sku!r}")
            if h.warehouse not in warehouses:
                raise InvalidCampaign(f"holds[{i}].warehouse", f"unknown warehouse {h.warehouse!r}")

