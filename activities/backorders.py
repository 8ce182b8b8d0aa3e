"""Activities for orders that wait for stock: queue the missing units, see whether a
receipt has filled them, give up at the deadline."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import structlog
from temporalio import activity

from activities.db.backorder_repository import BackorderRepository
from activities.db.engine import SessionFactory
from activities.db.stock_repository import StockRepository
from domain.allocation import Allocation

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class BackorderInput:
    order_id: str
    workflow_id: str
    key: str  # the order's reservation key: receipts add what they give to it
    wanted: dict[str, int]
    campaign: str
    country: str
    deadline_at: datetime


@dataclass(frozen=True)
class ExpectedStock:
    sku: str
    quantity: int
    expected_at: datetime | None


@dataclass(frozen=True)
class BackorderRef:
    order_id: str
    key: str


@dataclass(frozen=True)
class BackorderState:
    filled: bool  # every waiting unit is now held
    allocations: list[Allocation] = field(default_factory=list)  # all the order holds now
    missing: dict[str, int] = field(default_factory=dict)


class BackorderActivities:
    def __init__(self, session_factory: SessionFactory) -> None:
        self.session_factory = session_factory

    @activity.defn(name="register_backorder")
    async def register_backorder(self, input: BackorderInput) -> list[ExpectedStock]:
        """Queues the missing units; answers when each is expected, where incoming is known."""
        async with self.session_factory.begin() as session:
            repo = BackorderRepository(session)
            await repo.register(order_id=input.order_id, workflow_id=input.workflow_id,
                                key=input.key, wanted=input.wanted, campaign=input.campaign,
                                country=input.country, deadline_at=input.deadline_at)
            expected = [ExpectedStock(sku, qty, await repo.expected_at(sku))
                        for sku, qty in sorted(input.wanted.items())]
        log.info("backorder.registered", wanted=input.wanted)
        return expected

    @activity.defn(name="backorder_state")
    async def backorder_state(self, input: BackorderRef) -> BackorderState:
        """Whether receipts have filled the order's backorders, and what it holds now."""
        async with self.session_factory() as session:
            return await self._state(session, input)

    @activity.defn(name="give_up_backorder")
    async def give_up_backorder(self, input: BackorderRef) -> BackorderState:
        """At the deadline: stops waiting; what receipts already gave the order stays held."""
        async with self.session_factory.begin() as session:
            await BackorderRepository(session).cancel_waiting(input.order_id)
            state = await self._state(session, input)
        log.info("backorder.given_up", missing=state.missing)
        return state

    async def _state(self, session, input: BackorderRef) -> BackorderState:  # type: ignore[no-untyped-def]
        rows = await BackorderRepository(session).for_order(input.order_id)
        reservation = await StockRepository(session).get_reservation(input.key)
        missing = {r.sku: r.quantity - r.filled for r in rows if r.filled < r.quantity}
        waiting = any(r.status == "waiting" for r in rows)
        return BackorderState(filled=not waiting and not missing,
                              allocations=reservation.held if reservation else [],
                              missing=missing)
