"""What a chaos run reads back after the orders have ended: per order, the rows fulfil and
the simulated networks keep; for the whole run, the stock levels and their ledger."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client, WorkflowQueryFailedError
from temporalio.worker import Replayer

from activities.carriers.sim_tables import CarriersimShipmentRow
from activities.db.engine import SessionFactory
from activities.db.outbox_tables import OutboxRow
from activities.db.stock_repository import StockRepository
from activities.db.tables import (
    OrderEventRow,
    PaymentRow,
    ReservationLineRow,
    ReservationRow,
    StockMovementRow,
)
from activities.notifications.sim_tables import NotifysimMessageRow
from activities.payments.simulator import AuthorizationState, OperationRecord, SimulatedGateway
from workers.chaos.play import Outcome
from workers.worker import WORKFLOW_RUNNER
from workflows.order_contract import OrderView, order_workflow_id
from workflows.order_workflow import OrderWorkflow

NEEDS_ATTENTION = "NeedsAttention"  # the search attribute part C adds
Place = tuple[str, str]


@dataclass
class OrderEvidence:
    outcome: Outcome
    row: dict[str, Any] | None = None  # the `orders` row
    events: list[tuple[int, str, str, str]] = field(default_factory=list)  # seq status kind detail
    payments: list[tuple[str, int, str]] = field(default_factory=list)  # kind amount key
    authorizations: list[AuthorizationState] = field(default_factory=list)
    operations: list[OperationRecord] = field(default_factory=list)
    labels: list[tuple[str, str, bool, str]] = field(default_factory=list)  # tracking kind cancelled key
    outbox: list[tuple[int, int, str, str]] = field(default_factory=list)  # id seq template status
    sent: list[tuple[str, str]] = field(default_factory=list)  # idempotency key, template
    open_reservation_lines: int = 0
    needs_attention: bool | None = None  # the search attribute, when the cluster has it
    attention: list[str] = field(default_factory=list)  # order_attention rows (part of issue 9)
    replay_failure: str = ""  # why the history does not replay on this code, if it does not

    @property
    def order_id(self) -> str:
        return self.outcome.planned.order_id


@dataclass
class StockEvidence:
    levels: dict[Place, tuple[int, int, int]]  # on_hand, reserved, unsalable (safety + campaign)
    ledger: dict[Place, tuple[int, int]]  # sums of on_hand_delta, reserved_delta
    received: dict[Place, int]  # units that came in (seed, receipt, restock)
    shipped: dict[Place, int]  # units that left with parcels
    held: dict[Place, int]  # units in held lines of held reservations


def order_replayer() -> Replayer:
    """Replays order histories on the code of this process, as a worker would."""
    return Replayer(workflows=[OrderWorkflow], workflow_runner=WORKFLOW_RUNNER)


async def gather_order(db: SessionFactory, gateway: SimulatedGateway, client: Client,
                       replayer: Replayer, outcome: Outcome) -> OrderEvidence:
    planned = outcome.planned
    if outcome.view is not None:
        # Again, now: the rows below are read after the view, and a late event would
        # otherwise look like one the history lacks.
        try:
            outcome.view = await client.get_workflow_handle(
                order_workflow_id(planned.order_id)).query("view", result_type=OrderView)
        except WorkflowQueryFailedError as error:
            outcome.error = outcome.error or f"view query failed: {error}"
    evidence = OrderEvidence(outcome)
    async with db() as session:
        evidence.row = await _order_row(session, planned.order_id)
        evidence.events = await _events(session, planned.order_id)
        evidence.payments = await _payments(session, planned.order_id)
        evidence.labels = await _labels(session, planned.order_id)
        evidence.outbox = await _outbox(session, planned.order_id)
        evidence.sent = await _sent(session, planned.email)
        evidence.open_reservation_lines = await _open_lines(session, planned.order_id)
        evidence.attention = await _attention(session, planned.order_id)
    evidence.authorizations = await gateway.authorizations_for(planned.customer_id)
    evidence.operations = await gateway.operations_for(f"{order_workflow_id(planned.order_id)}:")
    evidence.needs_attention = await _needs_attention(client, planned.order_id)
    if outcome.workflow_status != "NOT_STARTED":
        evidence.replay_failure = await _replay_failure(client, replayer, planned.order_id)
    return evidence


async def _order_row(session: AsyncSession, order_id: str) -> dict[str, Any] | None:
    # `SELECT *`: the run also reads columns other parts add (attention) when they exist.
    found = (await session.execute(text("SELECT * FROM orders WHERE order_id = :o"),
                                   {"o": order_id})).mappings().first()
    return dict(found) if found else None


async def _events(session: AsyncSession, order_id: str) -> list[tuple[int, str, str, str]]:
    e = OrderEventRow
    rows = await session.execute(select(e.seq, e.status, e.kind, e.detail)
                                 .where(e.order_id == order_id).order_by(e.seq))
    return [tuple(r) for r in rows]  # type: ignore[misc]


async def _payments(session: AsyncSession, order_id: str) -> list[tuple[str, int, str]]:
    p = PaymentRow
    rows = await session.execute(select(p.kind, p.amount, p.idempotency_key)
                                 .where(p.order_id == order_id).order_by(p.id))
    return [tuple(r) for r in rows]  # type: ignore[misc]


async def _labels(session: AsyncSession, order_id: str) -> list[tuple[str, str, bool, str]]:
    s = CarriersimShipmentRow
    rows = await session.execute(select(s.tracking_number, s.kind, s.cancelled, s.idempotency_key)
                                 .where(s.order_id == order_id))
    return [tuple(r) for r in rows]  # type: ignore[misc]


async def _outbox(session: AsyncSession, order_id: str) -> list[tuple[int, int, str, str]]:
    o = OutboxRow
    rows = await session.execute(select(o.id, o.event_seq, o.template, o.status)
                                 .where(o.order_id == order_id).order_by(o.event_seq))
    return [tuple(r) for r in rows]  # type: ignore[misc]


async def _sent(session: AsyncSession, recipient: str) -> list[tuple[str, str]]:
    m = NotifysimMessageRow
    rows = await session.execute(select(m.idempotency_key, m.template)
                                 .where(m.recipient == recipient).order_by(m.sent_at))
    return [tuple(r) for r in rows]  # type: ignore[misc]


async def _open_lines(session: AsyncSession, order_id: str) -> int:
    r, line = ReservationRow, ReservationLineRow
    held = await session.scalar(
        select(func.coalesce(func.sum(line.quantity), 0))
        .join(r, r.id == line.reservation_id)
        .where(r.order_id == order_id, r.status == "held", line.status == "held"))
    return int(held or 0)


async def _attention(session: AsyncSession, order_id: str) -> list[str]:
    """What failed beyond any retry, where the database keeps that (order_attention)."""
    if not await session.scalar(text("SELECT to_regclass('order_attention') IS NOT NULL")):
        return []
    rows = await session.execute(text(
        "SELECT step, error_type, detail FROM order_attention WHERE order_id = :o ORDER BY seq"),
        {"o": order_id})
    return [f"{step}: {error_type}: {detail}" for step, error_type, detail in rows]


async def _needs_attention(client: Client, order_id: str) -> bool | None:
    description = await client.get_workflow_handle(order_workflow_id(order_id)).describe()
    for pair in description.typed_search_attributes:
        if pair.key.name == NEEDS_ATTENTION:
            return bool(pair.value)
    return None


async def _replay_failure(client: Client, replayer: Replayer, order_id: str) -> str:
    """Replays the workflow's history so far here: a worker that lost its cache has to, and
    an order whose history does not replay is wedged for good."""
    history = await client.get_workflow_handle(order_workflow_id(order_id)).fetch_history()
    result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    return str(result.replay_failure) if result.replay_failure else ""


async def gather_stock(db: SessionFactory) -> StockEvidence:
    m, r, line = StockMovementRow, ReservationRow, ReservationLineRow
    async with db() as session:
        levels = await StockRepository(session).levels()
        sums = await session.execute(
            select(m.sku, m.warehouse, func.sum(m.on_hand_delta), func.sum(m.reserved_delta),
                   func.sum(func.greatest(m.on_hand_delta, 0)),
                   func.sum(func.least(m.on_hand_delta, 0)).filter(m.kind == "ship"))
            .group_by(m.sku, m.warehouse))
        held_rows = await session.execute(
            select(line.sku, line.warehouse, func.sum(line.quantity))
            .join(r, r.id == line.reservation_id)
            .where(r.status == "held", line.status == "held")
            .group_by(line.sku, line.warehouse))
    stock = StockEvidence(
        {(lv.sku, lv.warehouse): (lv.on_hand, lv.reserved, lv.safety_stock + lv.campaign_held)
         for lv in levels}, {}, defaultdict(int), defaultdict(int), defaultdict(int))
    for sku, warehouse, on_hand, reserved, received, shipped in sums:
        stock.ledger[(sku, warehouse)] = (int(on_hand), int(reserved))
        stock.received[(sku, warehouse)] = int(received or 0)
        stock.shipped[(sku, warehouse)] = -int(shipped or 0)
    for sku, warehouse, quantity in held_rows:
        stock.held[(sku, warehouse)] = int(quantity)
    return stock
