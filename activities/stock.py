"""Activities that hold, release and ship stock. The allocation rules live in the domain;
these apply them atomically under row locks, deduplicated by the reservation key.

An order naming a campaign draws on the units the campaign holds first. A campaign that does
not exist, has ended or whose window does not contain the moment of reservation does not
fail the order: it is served from general stock like any other (`campaign.not_applicable`)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime

import structlog
from temporalio import activity

from activities.db.allocation_repository import AllocationRepository
from activities.db.backorder_repository import BackorderRepository
from activities.db.engine import SessionFactory
from activities.db.stock_repository import StockRepository
from activities.errors import OUT_OF_STOCK, UNKNOWN_RESERVATION, business_failure
from domain.allocation import STRATEGIES, Allocation, AllocationPlan, plan, unallocated
from domain.errors import OutOfStock

log = structlog.get_logger(__name__)

UNKNOWN_STRATEGY = "UnknownAllocationStrategy"


@dataclass(frozen=True)
class StockLine:
    sku: str
    quantity: int


@dataclass(frozen=True)
class ReserveInput:
    order_id: str
    key: str
    lines: list[StockLine]
    strategy: str = STRATEGIES[0]
    destination_country: str = ""
    campaign: str = ""  # draw on this campaign's held units first, when it applies
    allow_partial: bool = False  # hold what there is and report the shortfall


@dataclass(frozen=True)
class ReserveResult:
    allocations: list[Allocation]
    shortfall: dict[str, int] = field(default_factory=dict)  # units per SKU not held


@dataclass(frozen=True)
class SettleInput:
    order_id: str
    key: str
    warehouse: str = ""  # only this warehouse's parcel, when the order ships in several


@dataclass(frozen=True)
class RestockInput:
    """A parcel that came back undelivered: its units go back on the warehouse's shelves."""

    order_id: str
    key: str
    warehouse: str
    lines: list[StockLine]
    reason: str


class StockActivities:
    def __init__(self, session_factory: SessionFactory) -> None:
        self.session_factory = session_factory

    @activity.defn(name="reserve_stock")
    async def reserve_stock(self, input: ReserveInput) -> ReserveResult:
        """Holds stock for every line by the allocation strategy, campaign stock first; fails
        with OutOfStock unless a partial hold is allowed."""
        wanted = Counter[str]()
        for line in input.lines:
            wanted[line.sku] += line.quantity
        async with self.session_factory.begin() as session:
            repo = AllocationRepository(session)
            if await repo.stock.get_reservation(input.key) is not None:
                held = await repo.reservation_lines(input.key)
                return ReserveResult(held, unallocated(dict(wanted), held))
            result = await self._plan(repo, input, wanted)
            await repo.reserve_lines(input.key, input.order_id, result.allocations)
        log.info("stock.reserved", allocations=[vars(a) for a in result.allocations],
                 shortfall=result.shortfall, strategy=input.strategy)
        return ReserveResult(result.allocations, result.shortfall)

    async def _plan(self, repo: AllocationRepository, input: ReserveInput,
                    wanted: Counter[str]) -> AllocationPlan:
        skus = sorted(wanted)
        # Levels first, then the campaign's rows: every reserving transaction locks in this
        # order, so concurrent orders queue instead of deadlocking.
        general = await repo.stock.lock_stock(skus)
        held = []
        if input.campaign:
            held = await repo.lock_campaign_stock(input.campaign, skus, datetime.now(UTC))
            if not held:
                log.info("campaign.not_applicable", campaign=input.campaign,
                         detail="not active now, or holds none of these SKUs")
        try:
            return plan(dict(wanted), general, input.strategy, input.destination_country,
                        input.allow_partial, campaign=input.campaign, campaign_stock=held)
        except OutOfStock as error:
            raise business_failure(OUT_OF_STOCK, str(error)) from error
        except ValueError as error:
            raise business_failure(UNKNOWN_STRATEGY, str(error)) from error

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
            if reservation.status != "held" or not any(
                    input.warehouse in ("", a.warehouse) for a in reservation.held):
                return False
            if not shipped:  # shipped campaign units stay used by their campaign
                await AllocationRepository(session).release_campaign_lines(reservation.held,
                                                                           input.warehouse)
            await repo.settle(reservation, shipped=shipped, warehouse=input.warehouse)
        log.info("stock.shipped" if shipped else "stock.released", key=input.key)
        return True

    @activity.defn(name="restock_parcel")
    async def restock_parcel(self, input: RestockInput) -> bool:
        """Books a parcel's units back into its warehouse once; waiting backorders get them
        first, oldest first. False when this key was already restocked."""
        async with self.session_factory.begin() as session:
            repo = StockRepository(session)
            if not await repo.claim_key(input.key, input.order_id, "restocked"):
                return False
            for line in input.lines:
                level = await repo.receive(line.sku, input.warehouse, line.quantity,
                                           input.order_id, "carrier", reason=input.reason)
                await BackorderRepository(session).fill(line.sku, input.warehouse, level.salable)
        log.info("stock.restocked", warehouse=input.warehouse, reason=input.reason,
                 lines=[vars(line) for line in input.lines])
        return True
