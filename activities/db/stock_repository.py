"""Stock levels and reservations. Every change takes row locks and writes a movement, so
concurrent orders can never oversell and every figure can be explained."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from activities.db.base import utcnow
from activities.db.tables import (
    ReservationLineRow,
    ReservationRow,
    StockLevelRow,
    StockMovementRow,
    WarehouseRow,
)
from domain.allocation import Allocation, WarehouseStock


@dataclass(frozen=True)
class StockLevel:
    sku: str
    warehouse: str
    on_hand: int
    reserved: int

    @property
    def salable(self) -> int:
        return self.on_hand - self.reserved


@dataclass(frozen=True)
class Reservation:
    key: str
    order_id: str
    status: str
    lines: list[Allocation]


class StockRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def lock_stock(self, skus: list[str]) -> list[WarehouseStock]:
        """Locks every level of these SKUs in a fixed order, so concurrent reservations
        queue behind each other instead of deadlocking."""
        rows = await self.session.execute(
            select(StockLevelRow, WarehouseRow.priority)
            .join(WarehouseRow, WarehouseRow.code == StockLevelRow.warehouse)
            .where(StockLevelRow.sku.in_(skus))
            .order_by(StockLevelRow.sku, StockLevelRow.warehouse)
            .with_for_update(of=StockLevelRow)
        )
        return [
            WarehouseStock(level.sku, level.warehouse, priority, level.on_hand - level.reserved)
            for level, priority in rows
        ]

    async def get_reservation(self, key: str) -> Reservation | None:
        row = await self.session.scalar(
            select(ReservationRow).where(ReservationRow.idempotency_key == key).with_for_update()
        )
        if row is None:
            return None
        lines = (await self.session.scalars(
            select(ReservationLineRow).where(ReservationLineRow.reservation_id == row.id)
            .order_by(ReservationLineRow.sku, ReservationLineRow.warehouse)
        )).all()
        allocations = [Allocation(line.sku, line.warehouse, line.quantity) for line in lines]
        return Reservation(row.idempotency_key, row.order_id, row.status, allocations)

    async def reserve(self, key: str, order_id: str, allocations: list[Allocation]) -> Reservation:
        row = ReservationRow(idempotency_key=key, order_id=order_id, status="held")
        self.session.add(row)
        await self.session.flush()
        for a in allocations:
            self.session.add(ReservationLineRow(
                reservation_id=row.id, sku=a.sku, warehouse=a.warehouse, quantity=a.quantity))
            await self._move(a, on_hand=0, reserved=a.quantity, kind="reserve", order_id=order_id)
        return Reservation(key, order_id, "held", allocations)

    async def tombstone(self, key: str, order_id: str) -> None:
        """Marks a key released before anything was held under it."""
        self.session.add(ReservationRow(idempotency_key=key, order_id=order_id, status="released"))

    async def settle(self, reservation: Reservation, *, shipped: bool) -> None:
        """Ends a held reservation: released back to salable, or shipped out of the warehouse."""
        kind = "ship" if shipped else "release"
        for a in reservation.lines:
            await self._move(a, on_hand=-a.quantity if shipped else 0, reserved=-a.quantity,
                             kind=kind, order_id=reservation.order_id)
        await self.session.execute(
            update(ReservationRow).where(ReservationRow.idempotency_key == reservation.key)
            .values(status="shipped" if shipped else "released", updated_at=utcnow())
        )

    async def _move(self, a: Allocation, *, on_hand: int, reserved: int, kind: str,
                    order_id: str | None, reason: str = "") -> None:
        await self.session.execute(
            update(StockLevelRow)
            .where(StockLevelRow.sku == a.sku, StockLevelRow.warehouse == a.warehouse)
            .values(on_hand=StockLevelRow.on_hand + on_hand,
                    reserved=StockLevelRow.reserved + reserved)
        )
        self.session.add(StockMovementRow(
            sku=a.sku, warehouse=a.warehouse, kind=kind, on_hand_delta=on_hand,
            reserved_delta=reserved, order_id=order_id, reason=reason))

    async def levels(self, sku: str | None = None, warehouse: str | None = None) -> list[StockLevel]:
        query = select(StockLevelRow).order_by(StockLevelRow.sku, StockLevelRow.warehouse)
        if sku:
            query = query.where(StockLevelRow.sku == sku)
        if warehouse:
            query = query.where(StockLevelRow.warehouse == warehouse)
        rows = (await self.session.scalars(query)).all()
        return [StockLevel(r.sku, r.warehouse, r.on_hand, r.reserved) for r in rows]
