"""Orders, their lines, payments, shipments and timeline: the durable record for reporting."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from activities.db.base import utcnow
from activities.db.tables import (
    OrderEventRow,
    OrderLineRow,
    OrderRow,
    PaymentRow,
    ShipmentRow,
)
from domain.order import PricedOrder


class OrderRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add_if_absent(self, order: PricedOrder, workflow_id: str, placed_at: datetime) -> bool:
        """Inserts the order and its lines once; a retried activity finds it already there."""
        totals = order.totals
        # RETURNING tells whether the row is new: SQLAlchemy 2.1 reports -1 as an INSERT's rowcount.
        inserted = await self.session.scalar(insert(OrderRow).values(
            order_id=order.order_id, workflow_id=workflow_id, customer_id=order.customer.id,
            customer_email=order.customer.email, customer_name=order.customer.name,
            currency=order.currency, status="PLACED", subtotal=totals.subtotal.amount,
            shipping_cost=totals.shipping.amount, grand_total=totals.grand_total.amount,
            shipping_method=order.shipping_method, carrier=order.carrier,
            address=asdict(order.address), payment_method=order.payment_method,
            placed_at=placed_at, updated_at=placed_at,
        ).on_conflict_do_nothing().returning(OrderRow.order_id))
        if inserted is None:
            return False
        self.session.add_all(
            OrderLineRow(order_id=order.order_id, line_no=n, sku=line.sku, name=line.name,
                         quantity=line.quantity, unit_price=line.unit_price.amount)
            for n, line in enumerate(order.lines, start=1)
        )
        return True

    async def record_event(self, order_id: str, seq: int, at: datetime, status: str, kind: str,
                           detail: str, actor: str) -> bool:
        """Appends one timeline event and moves the order's status; a replayed seq is a no-op."""
        inserted = await self.session.scalar(insert(OrderEventRow).values(
            order_id=order_id, seq=seq, at=at, status=status, kind=kind, detail=detail,
            actor=actor,
        ).on_conflict_do_nothing().returning(OrderEventRow.id))
        if inserted is None:
            return False
        # Events may be written out of order after a retry: only a later seq moves the status.
        latest = await self.session.scalar(
            select(OrderEventRow.seq).where(OrderEventRow.order_id == order_id)
            .order_by(OrderEventRow.seq.desc()).limit(1)
        )
        if latest == seq:
            await self.session.execute(update(OrderRow).where(OrderRow.order_id == order_id)
                                       .values(status=status, updated_at=at))
        return True

    async def get(self, order_id: str) -> OrderRow | None:
        return await self.session.get(OrderRow, order_id)

    async def search(self, *, status: str | None = None, customer_id: str | None = None,
                   limit: int = 50) -> list[OrderRow]:
        query = select(OrderRow).order_by(OrderRow.placed_at.desc()).limit(limit)
        if status:
            query = query.where(OrderRow.status == status)
        if customer_id:
            query = query.where(OrderRow.customer_id == customer_id)
        return list((await self.session.scalars(query)).all())

    async def events(self, order_id: str) -> list[OrderEventRow]:
        return list((await self.session.scalars(
            select(OrderEventRow).where(OrderEventRow.order_id == order_id)
            .order_by(OrderEventRow.seq))).all())


class PaymentRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def record(self, *, key: str, order_id: str, kind: str, method: str, amount: int,
                     currency: str, gateway_ref: str, reason: str = "") -> None:
        await self.session.execute(insert(PaymentRow).values(
            idempotency_key=key, order_id=order_id, kind=kind, method=method, amount=amount,
            currency=currency, gateway_ref=gateway_ref, reason=reason, at=utcnow(),
        ).on_conflict_do_nothing(index_elements=[PaymentRow.idempotency_key]))

    async def for_order(self, order_id: str) -> list[PaymentRow]:
        return list((await self.session.scalars(
            select(PaymentRow).where(PaymentRow.order_id == order_id).order_by(PaymentRow.id)
        )).all())


class ShipmentRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def record(self, *, key: str, order_id: str, carrier: str, tracking_number: str,
                     label_url: str) -> None:
        await self.session.execute(insert(ShipmentRow).values(
            idempotency_key=key, order_id=order_id, carrier=carrier,
            tracking_number=tracking_number, label_url=label_url, status="created",
        ).on_conflict_do_nothing(index_elements=[ShipmentRow.idempotency_key]))

    async def set_status(self, tracking_number: str, status: str) -> None:
        await self.session.execute(
            update(ShipmentRow).where(ShipmentRow.tracking_number == tracking_number)
            .values(status=status, updated_at=utcnow()))

    async def for_order(self, order_id: str) -> list[ShipmentRow]:
        return list((await self.session.scalars(
            select(ShipmentRow).where(ShipmentRow.order_id == order_id).order_by(ShipmentRow.id)
        )).all())
