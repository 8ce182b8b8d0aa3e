"""Stock levels, receipts, adjustments and reservations. Every change of on-hand or reserved
stock takes row locks and writes a movement, so concurrent orders can never oversell and every
figure can be explained; a level that falls to its reorder point raises an alert."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime

import structlog
from sqlalchemy import ColumnElement, func, select, true, tuple_, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from activities.db.base import utcnow
from activities.db.tables import (
    CampaignAllocationRow,
    CampaignRow,
    IncomingStockRow,
    ProductRow,
    ReservationLineRow,
    ReservationRow,
    StockAlertRow,
    StockLevelRow,
    StockMovementRow,
    WarehouseRow,
)
from domain.allocation import Allocation, WarehouseStock
from domain.errors import InvalidStockChange
from domain.inventory import (
    ReorderChange,
    StockPosition,
    adjusted_on_hand,
    check_adjustment,
    check_incoming,
    check_policy,
    check_receipt,
    reorder_change,
)

log = structlog.get_logger(__name__)

Place = tuple[str, str]  # (sku, warehouse)


@dataclass(frozen=True, kw_only=True)
class StockLevel(StockPosition):
    """One SKU in one warehouse as stored: its position (salable derived there), with what
    campaigns hold and what is on its way."""

    sku: str
    warehouse: str


@dataclass(frozen=True)
class Reservation:
    key: str
    order_id: str
    status: str
    lines: list[Allocation]  # everything it ever held, each line with its campaign
    held: list[Allocation] = field(default_factory=list)  # lines not yet shipped or released


@dataclass(frozen=True)
class IncomingStock:
    id: int
    sku: str
    warehouse: str
    quantity: int
    expected_at: datetime
    reference: str


@dataclass(frozen=True)
class StockAlert:
    id: int
    sku: str
    warehouse: str
    salable: int
    reorder_point: int
    at: datetime
    resolved_at: datetime | None


def _campaign_held() -> ColumnElement[int]:
    """Units active campaigns still hold back in the enclosing query's level."""
    ca = CampaignAllocationRow
    return (
        select(func.coalesce(func.sum(ca.quantity - ca.used), 0))
        .select_from(ca).join(CampaignRow, CampaignRow.code == ca.campaign)
        .where(ca.sku == StockLevelRow.sku, ca.warehouse == StockLevelRow.warehouse,
               CampaignRow.status == "active")
        .scalar_subquery()
    )


def _incoming() -> ColumnElement[int]:
    """Units still expected at the enclosing query's level."""
    i = IncomingStockRow
    return (
        select(func.coalesce(func.sum(i.quantity), 0))
        .where(i.sku == StockLevelRow.sku, i.warehouse == StockLevelRow.warehouse,
               i.status == "expected")
        .scalar_subquery()
    )


def _level(row: StockLevelRow, campaign_held: int, incoming: int) -> StockLevel:
    return StockLevel(sku=row.sku, warehouse=row.warehouse, on_hand=row.on_hand,
                      reserved=row.reserved, safety_stock=row.safety_stock,
                      campaign_held=campaign_held, incoming=incoming,
                      reorder_point=row.reorder_point)


def _cause(what: str, reference: str, actor: str) -> str:
    """The movement's reason, naming who made the change: 'receipt PO-7 by alice'."""
    return f"{what} {reference} by {actor}" if reference else f"{what} by {actor}"


class StockRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def lock_stock(self, skus: list[str]) -> list[WarehouseStock]:
        """Locks every level of these SKUs in a fixed order, so concurrent reservations
        queue behind each other instead of deadlocking. Salable is general stock: what safety
        stock and active campaigns hold back is never offered to ordinary orders."""
        rows = await self.session.execute(
            select(StockLevelRow, WarehouseRow.priority, WarehouseRow.country, _campaign_held())
            .join(WarehouseRow, WarehouseRow.code == StockLevelRow.warehouse)
            .where(StockLevelRow.sku.in_(skus))
            .order_by(StockLevelRow.sku, StockLevelRow.warehouse)
            .with_for_update(of=StockLevelRow)
        )
        return [
            WarehouseStock(row.sku, row.warehouse, priority, _level(row, held, 0).salable, country)
            for row, priority, country, held in rows
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
        allocations = [Allocation(line.sku, line.warehouse, line.quantity, line.campaign)
                       for line in lines]
        held = [a for a, line in zip(allocations, lines, strict=True) if line.status == "held"]
        return Reservation(row.idempotency_key, row.order_id, row.status, allocations, held)

    async def claim_key(self, key: str, order_id: str, status: str) -> bool:
        """Records a one-off stock change under `key`; False when it was already recorded."""
        claimed = await self.session.scalar(
            insert(ReservationRow).values(idempotency_key=key, order_id=order_id, status=status)
            .on_conflict_do_nothing().returning(ReservationRow.id))
        return claimed is not None

    async def tombstone(self, key: str, order_id: str) -> None:
        """Marks a key released before anything was held under it."""
        self.session.add(ReservationRow(idempotency_key=key, order_id=order_id, status="released"))

    async def settle(self, reservation: Reservation, *, shipped: bool,
                     warehouse: str = "") -> None:
        """Ends the held lines (of one warehouse, when given): released back to salable, or
        shipped out of the warehouse. The reservation ends with its last held line."""
        kind, status = ("ship", "shipped") if shipped else ("release", "released")
        lines = [a for a in reservation.held if warehouse in ("", a.warehouse)]
        async with self.watch((a.sku, a.warehouse) for a in lines):
            for a in lines:
                await self.move(a, on_hand=-a.quantity if shipped else 0, reserved=-a.quantity,
                                kind=kind, order_id=reservation.order_id)
        reservation_id = select(ReservationRow.id).where(
            ReservationRow.idempotency_key == reservation.key).scalar_subquery()
        line = ReservationLineRow
        await self.session.execute(
            update(line).where(line.reservation_id == reservation_id, line.status == "held",
                               line.warehouse == warehouse if warehouse else true())
            .values(status=status))
        if len(lines) == len(reservation.held):
            ended = "shipped" if shipped or any(a not in reservation.held
                                                for a in reservation.lines) else "released"
            await self.session.execute(
                update(ReservationRow).where(ReservationRow.idempotency_key == reservation.key)
                .values(status=ended, updated_at=utcnow()))

    async def move(self, a: Allocation, *, on_hand: int, reserved: int, kind: str,
                   order_id: str | None, reason: str = "") -> None:
        """Changes one level by these deltas and writes the movement that explains it. Lock the
        level first (`lock_stock` or `watch`); `watch` also raises and resolves alerts."""
        await self.session.execute(
            update(StockLevelRow)
            .where(StockLevelRow.sku == a.sku, StockLevelRow.warehouse == a.warehouse)
            .values(on_hand=StockLevelRow.on_hand + on_hand,
                    reserved=StockLevelRow.reserved + reserved)
        )
        self.session.add(StockMovementRow(
            sku=a.sku, warehouse=a.warehouse, kind=kind, on_hand_delta=on_hand,
            reserved_delta=reserved, order_id=order_id, reason=reason))

    @asynccontextmanager
    async def watch(self, places: Iterable[Place]) -> AsyncIterator[dict[Place, StockLevel]]:
        """Locks these levels and yields them as they are. Once the changes made inside are
        done, each level they took to or below its reorder point gets a low-stock alert, and
        each they lifted back above it has its open alerts resolved."""
        keys = sorted(set(places))
        before = await self._levels_at(keys, lock=True)
        yield before
        if not keys:
            return
        for place, after in (await self._levels_at(keys)).items():
            change = reorder_change(before[place], after)
            if change is ReorderChange.FELL_TO_POINT:
                await self._raise_alert(after)
            elif change is ReorderChange.ROSE_ABOVE_POINT:
                await self._resolve_alerts(after)

    async def receive(self, sku: str, warehouse: str, quantity: int, reference: str = "",
                      actor: str = "system", *, reason: str = "receipt", kind: str = "receipt",
                      order_id: str | None = None) -> StockLevel:
        """Books units into a warehouse; a receipt against an expected delivery (same SKU,
        warehouse and reference) marks that delivery received. Units a customer sent back
        are booked with kind "return" and the order they came from."""
        check_receipt(quantity)
        await self._ensure_level(sku, warehouse)
        async with self.watch([(sku, warehouse)]):
            await self.move(Allocation(sku, warehouse, quantity), on_hand=quantity, reserved=0,
                            kind=kind, order_id=order_id,
                            reason=_cause(reason, reference, actor))
            if reference and kind == "receipt":
                await self.session.execute(
                    update(IncomingStockRow)
                    .where(IncomingStockRow.sku == sku, IncomingStockRow.warehouse == warehouse,
                           IncomingStockRow.reference == reference,
                           IncomingStockRow.status == "expected")
                    .values(status="received"))
        return await self._level_of(sku, warehouse)

    async def write_off(self, sku: str, warehouse: str, quantity: int, reference: str = "",
                        actor: str = "system", *, reason: str, order_id: str | None = None
                        ) -> None:
        """Records units that never (re-)enter stock, such as goods returned damaged: a
        movement that moves nothing, kept as the audit trail of where they went."""
        check_receipt(quantity)
        await self._ensure_level(sku, warehouse)
        async with self.watch([(sku, warehouse)]):
            await self.move(Allocation(sku, warehouse, quantity), on_hand=0, reserved=0,
                            kind="write_off", order_id=order_id,
                            reason=_cause(f"{quantity} {reason}", reference, actor))

    async def adjust(self, sku: str, warehouse: str, *, delta: int | None = None,
                     counted: int | None = None, reason: str, actor: str = "system"
                     ) -> StockLevel:
        """Corrects on hand by `delta`, or sets it to a cycle count's `counted`; never below
        what is reserved."""
        if not reason.strip():
            raise InvalidStockChange("an adjustment needs a reason")
        check_adjustment(delta, counted)
        await self._ensure_level(sku, warehouse)
        async with self.watch([(sku, warehouse)]) as now:
            level = now[sku, warehouse]
            after = adjusted_on_hand(level, delta=delta, counted=counted)
            change = after - level.on_hand
            await self.move(Allocation(sku, warehouse, abs(change)), on_hand=change, reserved=0,
                            kind="adjust", order_id=None, reason=_cause(reason, "", actor))
        return await self._level_of(sku, warehouse)

    async def set_policy(self, sku: str, warehouse: str, safety_stock: int | None = None,
                         reorder_point: int | None = None, actor: str = "system") -> StockLevel:
        """Sets the safety stock held back and the reorder point; the change is recorded as a
        movement that moves nothing, so the ledger shows who changed the policy."""
        check_policy(safety_stock, reorder_point)
        await self._ensure_level(sku, warehouse)
        async with self.watch([(sku, warehouse)]) as now:
            level = now[sku, warehouse]
            safety = level.safety_stock if safety_stock is None else safety_stock
            point = level.reorder_point if reorder_point is None else reorder_point
            if (safety, point) != (level.safety_stock, level.reorder_point):
                await self.session.execute(
                    update(StockLevelRow)
                    .where(StockLevelRow.sku == sku, StockLevelRow.warehouse == warehouse)
                    .values(safety_stock=safety, reorder_point=point))
                policy = (f"safety stock {level.safety_stock}->{safety}, "
                          f"reorder point {level.reorder_point}->{point}")
                await self.move(Allocation(sku, warehouse, 0), on_hand=0, reserved=0,
                                kind="policy", order_id=None, reason=_cause(policy, "", actor))
        return await self._level_of(sku, warehouse)

    async def expect(self, sku: str, warehouse: str, quantity: int, expected_at: datetime,
                     reference: str = "") -> IncomingStock:
        """Records a delivery on its way (a purchase order), so customers can be told when."""
        check_incoming(quantity)
        await self._check_known(sku, warehouse)
        row = IncomingStockRow(sku=sku, warehouse=warehouse, quantity=quantity,
                               expected_at=expected_at, reference=reference)
        self.session.add(row)
        await self.session.flush()
        return IncomingStock(row.id, sku, warehouse, quantity, expected_at, reference)

    async def next_expected(self, sku: str) -> datetime | None:
        """When the earliest delivery of `sku` still expected is due, in any warehouse."""
        return await self.session.scalar(
            select(func.min(IncomingStockRow.expected_at))
            .where(IncomingStockRow.sku == sku, IncomingStockRow.status == "expected"))

    async def alerts(self, *, include_resolved: bool = False) -> list[StockAlert]:
        query = select(StockAlertRow).order_by(StockAlertRow.at, StockAlertRow.id)
        if not include_resolved:
            query = query.where(StockAlertRow.resolved_at.is_(None))
        rows = (await self.session.scalars(query)).all()
        return [StockAlert(r.id, r.sku, r.warehouse, r.salable, r.reorder_point, r.at,
                           r.resolved_at) for r in rows]

    async def levels(self, sku: str | None = None, warehouse: str | None = None) -> list[StockLevel]:
        query = (select(StockLevelRow, _campaign_held(), _incoming())
                 .order_by(StockLevelRow.sku, StockLevelRow.warehouse))
        if sku:
            query = query.where(StockLevelRow.sku == sku)
        if warehouse:
            query = query.where(StockLevelRow.warehouse == warehouse)
        return [_level(row, held, incoming) for row, held, incoming in await self.session.execute(query)]

    async def _levels_at(self, places: list[Place], *, lock: bool = False
                         ) -> dict[Place, StockLevel]:
        if not places:
            return {}
        query = (select(StockLevelRow, _campaign_held(), _incoming())
                 .where(tuple_(StockLevelRow.sku, StockLevelRow.warehouse).in_(places))
                 .order_by(StockLevelRow.sku, StockLevelRow.warehouse))
        if lock:
            query = query.with_for_update(of=StockLevelRow)
        rows = await self.session.execute(query)
        return {(row.sku, row.warehouse): _level(row, held, incoming)
                for row, held, incoming in rows}

    async def _level_of(self, sku: str, warehouse: str) -> StockLevel:
        return (await self._levels_at([(sku, warehouse)]))[sku, warehouse]

    async def _check_known(self, sku: str, warehouse: str) -> None:
        if await self.session.scalar(select(ProductRow.sku).where(ProductRow.sku == sku)) is None:
            raise InvalidStockChange(f"unknown SKU {sku!r}")
        if await self.session.scalar(
                select(WarehouseRow.code).where(WarehouseRow.code == warehouse)) is None:
            raise InvalidStockChange(f"unknown warehouse {warehouse!r}")

    async def _ensure_level(self, sku: str, warehouse: str) -> None:
        """Creates an empty level for a known SKU and warehouse that has none yet."""
        exists = await self.session.scalar(
            select(StockLevelRow.sku)
            .where(StockLevelRow.sku == sku, StockLevelRow.warehouse == warehouse))
        if exists is None:
            await self._check_known(sku, warehouse)
            await self.session.execute(
                insert(StockLevelRow).values(sku=sku, warehouse=warehouse, on_hand=0, reserved=0)
                .on_conflict_do_nothing())

    async def _raise_alert(self, level: StockLevel) -> None:
        open_alert = await self.session.scalar(
            select(StockAlertRow.id).where(StockAlertRow.sku == level.sku,
                                           StockAlertRow.warehouse == level.warehouse,
                                           StockAlertRow.resolved_at.is_(None)).limit(1))
        if open_alert is not None:
            return
        self.session.add(StockAlertRow(sku=level.sku, warehouse=level.warehouse,
                                       salable=level.salable, reorder_point=level.reorder_point))
        log.warning("stock.low", sku=level.sku, warehouse=level.warehouse, salable=level.salable,
                    reorder_point=level.reorder_point)

    async def _resolve_alerts(self, level: StockLevel) -> None:
        resolved = (await self.session.scalars(
            update(StockAlertRow)
            .where(StockAlertRow.sku == level.sku, StockAlertRow.warehouse == level.warehouse,
                   StockAlertRow.resolved_at.is_(None))
            .values(resolved_at=utcnow()).returning(StockAlertRow.id))).all()
        if resolved:
            log.info("stock.alert_resolved", sku=level.sku, warehouse=level.warehouse,
                     salable=level.salable, reorder_point=level.reorder_point)
