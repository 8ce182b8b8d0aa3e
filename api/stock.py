"""What the warehouse and purchasing do with stock: receipts, corrections, policies, expected
deliveries, and the view of levels and low-stock alerts. Bad input changes nothing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import structlog
from temporalio.client import Client
from temporalio.service import RPCError

from activities.db.backorder_repository import BackorderRepository, Fill
from activities.db.engine import SessionFactory
from activities.db.stock_repository import IncomingStock, StockAlert, StockLevel, StockRepository
from domain.errors import InvalidStockChange
from domain.text_rules import MAX_REASON, MAX_REFERENCE, checked_text
from domain.times import parse_utc

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Receipt:
    sku: str
    warehouse: str
    quantity: int
    on_hand_after: int
    salable_after: int
    fills: tuple[Fill, ...] = ()  # units given to backordered orders, oldest first


def parse_expected_date(text: str) -> datetime:
    """An ISO date or date-time; one without a zone is UTC."""
    try:
        return parse_utc(text)
    except ValueError:
        raise InvalidStockChange(f"expected date: not an ISO date {text!r}") from None


def _require(**fields: str) -> None:
    for name, value in fields.items():
        if not value.strip():
            raise InvalidStockChange(f"{name} may not be empty")
        checked_text(name, value, max_length=MAX_REASON)


def _check_reference(reference: str) -> None:
    checked_text("reference", reference, max_length=MAX_REFERENCE)


async def wake_backorders(client: Client, fills: tuple[Fill, ...] | list[Fill]) -> None:
    """Tells each order whose backorder a receipt completed that its stock is there."""
    for workflow_id in dict.fromkeys(f.workflow_id for f in fills if f.order_complete):
        try:
            await client.get_workflow_handle(workflow_id).signal("backorder_filled")
        except RPCError as error:  # the order's own poll finds the filled backorder
            log.warning("backorder.wake_failed", workflow_id=workflow_id, error=str(error))


class StockService:
    """`client` wakes the orders a receipt fills; without it they notice on their next poll."""

    def __init__(self, session_factory: SessionFactory, client: Client | None = None) -> None:
        self.session_factory = session_factory
        self.client = client

    async def receive(self, sku: str, warehouse: str, quantity: int, *, reference: str = "",
                      actor: str = "system", reason: str = "receipt") -> Receipt:
        """Books a delivery (or a return restocked, with `reason`) into a warehouse."""
        _require(sku=sku, warehouse=warehouse, actor=actor, reason=reason)
        _check_reference(reference)
        async with self.session_factory.begin() as session:
            stock = StockRepository(session)
            level = await stock.receive(sku, warehouse, quantity, reference, actor, reason=reason)
            # In the receipt's own transaction: no new order can take the units before the
            # orders that have waited longest.
            fills = await BackorderRepository(session).fill(sku, warehouse, level.salable)
            if fills:
                level = (await stock.levels(sku, warehouse))[0]
        log.info("stock.received", sku=sku, warehouse=warehouse, quantity=quantity,
                 reference=reference, actor=actor, backorders_filled=len(fills))
        if self.client is not None:
            await wake_backorders(self.client, fills)
        return Receipt(sku, warehouse, quantity, level.on_hand, level.salable, tuple(fills))

    async def adjust(self, sku: str, warehouse: str, *, delta: int | None = None,
                     counted: int | None = None, reason: str, actor: str = "system"
                     ) -> StockLevel:
        """Corrects on hand by a delta or to a cycle count."""
        _require(sku=sku, warehouse=warehouse, reason=reason, actor=actor)
        async with self.session_factory.begin() as session:
            level = await StockRepository(session).adjust(sku, warehouse, delta=delta,
                                                          counted=counted, reason=reason,
                                                          actor=actor)
        log.info("stock.adjusted", sku=sku, warehouse=warehouse, delta=delta, counted=counted,
                 reason=reason, actor=actor)
        return level

    async def set_policy(self, sku: str, warehouse: str, *, safety_stock: int | None = None,
                         reorder_point: int | None = None, actor: str = "system") -> StockLevel:
        _require(sku=sku, warehouse=warehouse, actor=actor)
        async with self.session_factory.begin() as session:
            level = await StockRepository(session).set_policy(sku, warehouse, safety_stock,
                                                              reorder_point, actor)
        log.info("stock.policy_set", sku=sku, warehouse=warehouse,
                 safety_stock=level.safety_stock, reorder_point=level.reorder_point, actor=actor)
        return level

    async def expect(self, sku: str, warehouse: str, quantity: int, expected_at: datetime,
                     reference: str = "") -> IncomingStock:
        """Records a delivery on its way."""
        _require(sku=sku, warehouse=warehouse)
        _check_reference(reference)
        if expected_at.tzinfo is None:
            raise InvalidStockChange("expected date: needs a time zone")
        async with self.session_factory.begin() as session:
            incoming = await StockRepository(session).expect(sku, warehouse, quantity,
                                                             expected_at, reference)
        log.info("stock.expected", sku=sku, warehouse=warehouse, quantity=quantity,
                 expected_at=expected_at.isoformat(), reference=reference)
        return incoming

    async def show(self, sku: str | None = None, warehouse: str | None = None
                   ) -> list[StockLevel]:
        async with self.session_factory() as session:
            return await StockRepository(session).levels(sku, warehouse)

    async def alerts(self, *, include_resolved: bool = False) -> list[StockAlert]:
        async with self.session_factory() as session:
            return await StockRepository(session).alerts(include_resolved=include_resolved)
