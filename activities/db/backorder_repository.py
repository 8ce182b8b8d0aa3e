"""Backorders: the units orders wait for, filled from receipts oldest first."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from activities.db.stock_repository import StockRepository
from activities.db.tables import (
    BackorderRow,
    IncomingStockRow,
    ReservationLineRow,
    ReservationRow,
    StockLevelRow,
    StockMovementRow,
)


@dataclass(frozen=True)
class Fill:
    """Units a receipt gave to one waiting order."""

    order_id: str
    workflow_id: str
    sku: str
    warehouse: str
    quantity: int
    order_complete: bool  # every backordered unit of the order is now held


class BackorderRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def register(self, *, order_id: str, workflow_id: str, key: str, wanted: dict[str, int],
                       campaign: str, country: str, deadline_at: datetime) -> None:
        """Queues the missing units once; a retried activity finds them queued."""
        existing = set((await self.session.scalars(
            select(BackorderRow.sku).where(BackorderRow.order_id == order_id))).all())
        for sku, quantity in sorted(wanted.items()):
            if sku not in existing:
                self.session.add(BackorderRow(
                    order_id=order_id, workflow_id=workflow_id, reservation_key=key, sku=sku,
                    campaign=campaign, destination_country=country, quantity=quantity,
                    deadline_at=deadline_at))

    async def for_order(self, order_id: str) -> list[BackorderRow]:
        return list((await self.session.scalars(
            select(BackorderRow).where(BackorderRow.order_id == order_id)
            .order_by(BackorderRow.sku).with_for_update())).all())

    async def cancel_waiting(self, order_id: str) -> None:
        await self.session.execute(
            update(BackorderRow).where(BackorderRow.order_id == order_id,
                                       BackorderRow.status == "waiting")
            .values(status="cancelled"))

    async def waiting_units(self, sku: str) -> int:
        """Units of `sku` that orders are still waiting for."""
        return int(await self.session.scalar(
            select(func.coalesce(func.sum(BackorderRow.quantity - BackorderRow.filled), 0))
            .where(BackorderRow.sku == sku, BackorderRow.status == "waiting")) or 0)

    async def expected_at(self, sku: str) -> datetime | None:
        """The date of the next expected receipt of `sku`, in any warehouse."""
        return await self.session.scalar(
            select(func.min(IncomingStockRow.expected_at))
            .where(IncomingStockRow.sku == sku, IncomingStockRow.status == "expected"))

    async def fill(self, sku: str, warehouse: str, salable: int) -> list[Fill]:
        """Gives up to `salable` units of `sku` in `warehouse` to the oldest waiting orders."""
        waiting = (await self.session.scalars(
            select(BackorderRow)
            .where(BackorderRow.sku == sku, BackorderRow.status == "waiting")
            .order_by(BackorderRow.created_at, BackorderRow.id).with_for_update())).all()
        fills = []
        # Watched like any reservation: units a receipt gives straight to waiting orders can
        # take the level back down to its reorder point, which the receipt's alert missed.
        async with StockRepository(self.session).watch([(sku, warehouse)]):
            for row in waiting:
                take = min(salable, row.quantity - row.filled)
                if take <= 0:
                    break
                await self._hold(row, warehouse, take)
                row.filled += take
                salable -= take
                if row.filled == row.quantity:
                    row.status = "filled"
                await self.session.flush()
                fills.append(Fill(row.order_id, row.workflow_id, sku, warehouse, take,
                                  await self._order_complete(row.order_id)))
        return fills

    async def _hold(self, row: BackorderRow, warehouse: str, quantity: int) -> None:
        reservation_id = await self.session.scalar(
            insert(ReservationRow).values(idempotency_key=row.reservation_key,
                                          order_id=row.order_id, status="held")
            .on_conflict_do_update(index_elements=[ReservationRow.idempotency_key],
                                   set_={"status": "held"})
            .returning(ReservationRow.id))
        line = insert(ReservationLineRow).values(
            reservation_id=reservation_id, sku=row.sku, warehouse=warehouse, campaign="",
            quantity=quantity, status="held")
        await self.session.execute(line.on_conflict_do_update(
            index_elements=["reservation_id", "sku", "warehouse", "campaign"],
            set_={"quantity": ReservationLineRow.quantity + quantity}))
        await self.session.execute(
            update(StockLevelRow)
            .where(StockLevelRow.sku == row.sku, StockLevelRow.warehouse == warehouse)
            .values(reserved=StockLevelRow.reserved + quantity))
        self.session.add(StockMovementRow(
            sku=row.sku, warehouse=warehouse, kind="reserve", on_hand_delta=0,
            reserved_delta=quantity, order_id=row.order_id, reason="backorder filled"))

    async def _order_complete(self, order_id: str) -> bool:
        left = await self.session.scalar(
            select(func.count()).select_from(BackorderRow)
            .where(BackorderRow.order_id == order_id, BackorderRow.status == "waiting"))
        return left == 0
