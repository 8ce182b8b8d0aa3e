"""Activities that hold, release and ship stock. The allocation rule lives in the domain;
these apply it atomically under row locks, deduplicated by the reservation key."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import structlog
from temporalio import activity

from activities.db.engine import SessionFactory
from activities.db.stock_repository import StockRepository
from activities.errors import OUT_OF_STOCK, UNKNOWN_RESERVATION, business_failure
from domain.allocation import Allocation, allocate
from domain.errors import OutOfStock

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class StockLine:
    sku: str
    quantity: int


@dataclass(frozen=True)
class ReserveInput:
    order_id: str
    key: str
    lines: list[StockLine]


@dataclass(frozen=True)
class ReserveResult:
    allocations: list[Allocation]


@dataclass(frozen=True)
class SettleInput:
    order_id: str
    key: str


class StockActivities:
    def __init__(self, session_factory: SessionFactory) -> None:
        self.session_factory = session_factory

    @activity.defn(name="reserve_stock")
    async def reserve_stock(self, input: ReserveInput) -> ReserveResult:
        """Holds stock for every line across the warehouses, or fails with OutOfStock."""
        wanted = Counter[str]()
        for line in input.lines:
            wanted[line.sku] += line.quantity
        async with self.session_factory.begin() as session:
            repo = StockRepository(session)
            existing = await repo.get_reservation(input.key)
            if existing is not None:
                return ReserveResult(existing.lines)
            try:
                allocations = allocate(dict(wanted), await repo.lock_stock(sorted(wanted)))
            except OutOfStock as error:
                raise business_failure(OUT_OF_STOCK, str(error)) from error
            await repo.reserve(input.key, input.order_id, allocations)
        log.info("stock.reserved", allocations=[vars(a) for a in allocations])
        return ReserveResult(allocations)

    @activity.defn(name="release_stock")
    async def release_stock(self, input: SettleInput) -> bool:
        """Returns held stock to salable; a reservation already ended is left as it is."""
        return await self._settle(input, shipped=False)

    @activity.defn(name="ship_stock")
    async def ship_stock(self, input: SettleInput) -> bool:
        """Takes the held stock out of the warehouse once the parcel has been handed over."""
        return await self._settle(input, shipped=True)

    async def _settle(self, input: SettleInput, *, shipped: bool) -> bool:
        async with self.session_factory.begin() as session:
            repo = StockRepository(session)
            reservation = await repo.get_reservation(input.key)
            if reservation is None:
                if shipped:
                    raise business_failure(UNKNOWN_RESERVATION, f"no reservation {input.key}")
                # A reserve attempt that timed out may still commit later: the tombstone
                # makes it find this key and hold nothing.
                await repo.tombstone(input.key, input.order_id)
                return False
            if reservation.status != "held":
                return False
            await repo.settle(reservation, shipped=shipped)
        log.info("stock.shipped" if shipped else "stock.released", key=input.key)
        return True
