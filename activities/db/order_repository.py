"""Orders, their lines, payments, shipments and timeline: the durable record for reporting."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any

from sqlalchemy import case, delete, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from activities.db.aftercare_tables import CarrierClaimRow, ReturnRow
from activities.db.base import utcnow
from activities.db.outbox_repository import OutboxRepository
from activities.db.tables import (
    OrderEventRow,
    OrderLineRow,
    OrderRow,
    PaymentRow,
    ShipmentRow,
)
from domain.order import PricedOrder
from domain.tracking import TrackingCode, is_exception


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
                           detail: str, actor: str, *, task: int = 0) -> bool:
        """Writes one timeline event and moves the order's status; a replayed event is a no-op.

        `task` is the workflow's history length when it noted the event. A local activity
        commits before its workflow task completes, so a task that never completed (its worker
        was killed) may have written events its retry never takes: a later task's event
        replaces the abandoned one at its seq and removes the abandoned ones after it, and a
        late write of an abandoned task is ignored. False when nothing changed."""
        await self._lock_timeline(order_id)
        if await self._outdated(order_id, seq, task):
            return False
        dropped = await self._drop_abandoned_after(order_id, seq, task)
        written, replaced = await self._write_event(order_id, seq, task, dict(
            at=at, status=status, kind=kind, detail=detail, actor=actor))
        outbox = OutboxRepository(self.session)
        # Only a message of an event that never happened is withdrawn: one already sent
        # cannot be, which is why newer workflows record events that tell the customer with a
        # regular activity, once the workflow task that noted them has completed.
        await outbox.withdraw_pending(order_id, dropped + ([seq] if replaced else []))
        if not written and not dropped:
            return False
        if written:
            # The transactional outbox: the customer's message commits with its event.
            await outbox.add_for_event(order_id, seq, kind, detail)
        await self._move_status_if_latest(order_id, seq, status, at)
        return written

    async def _lock_timeline(self, order_id: str) -> None:
        """Serializes the writers of one order's timeline until the transaction ends."""
        await self.session.execute(select(func.pg_advisory_xact_lock(
            func.hashtextextended("order_events:" + order_id, 0))))

    async def _outdated(self, order_id: str, seq: int, task: int) -> bool:
        """True when a later workflow task has written this seq or an earlier one: the writer
        belongs to a task the workflow has moved past."""
        event = OrderEventRow
        return bool(await self.session.scalar(select(func.count()).where(
            event.order_id == order_id, event.seq <= seq, event.task > task)))

    async def _drop_abandoned_after(self, order_id: str, seq: int, task: int) -> list[int]:
        """Deletes the events after `seq` written by an earlier task; the path being written
        now noted `seq` later than they were noted, so they never happened. Their seqs.
        Events of no known task (0: written before tasks were recorded) are left alone."""
        event = OrderEventRow
        dropped = await self.session.scalars(delete(event).where(
            event.order_id == order_id, event.seq > seq, event.task > 0, event.task < task)
            .returning(event.seq))
        return sorted(dropped.all())

    async def _write_event(self, order_id: str, seq: int, task: int,
                           values: dict[str, Any]) -> tuple[bool, bool]:
        """Inserts or updates the event at `seq`: (changed anything, replaced another event)."""
        existing = await self.session.scalar(select(OrderEventRow).where(
            OrderEventRow.order_id == order_id, OrderEventRow.seq == seq))
        if existing is None:
            self.session.add(OrderEventRow(order_id=order_id, seq=seq, task=task, **values))
            await self.session.flush()
            return True, False
        if existing.task == task and all(getattr(existing, k) == v for k, v in values.items()):
            return False, False
        replaced = (existing.kind, existing.detail) != (values["kind"], values["detail"])
        for name, value in {**values, "task": task}.items():
            setattr(existing, name, value)
        await self.session.flush()
        return True, replaced

    async def _move_status_if_latest(self, order_id: str, seq: int, status: str,
                                     at: datetime) -> None:
        # Events may be written out of order after a retry: only the latest seq moves the status.
        latest = await self.session.scalar(
            select(func.max(OrderEventRow.seq)).where(OrderEventRow.order_id == order_id))
        if latest == seq:
            await self.session.execute(update(OrderRow).where(OrderRow.order_id == order_id)
                                       .values(status=status, updated_at=at))

    async def order_of_workflow(self, workflow_id: str) -> str | None:
        return await self.session.scalar(
            select(OrderRow.order_id).where(OrderRow.workflow_id == workflow_id))

    async def forget_events_noted_from(self, order_id: str, task: int) -> list[int]:
        """Deletes the events noted at history length `task` or later, and moves the status
        back to the latest event left; their seqs.

        A reset workflow runs again from an earlier point with a shorter history: what the
        discarded part noted never happened on the path the workflow now takes, and its
        higher task numbers would make the new path's events look outdated. Messages already
        sent cannot be withdrawn; pending ones are."""
        await self._lock_timeline(order_id)
        event = OrderEventRow
        forgotten = sorted((await self.session.scalars(delete(event).where(
            event.order_id == order_id, event.task >= task).returning(event.seq))).all())
        await OutboxRepository(self.session).withdraw_pending(order_id, forgotten)
        latest = await self.session.scalar(select(event).where(event.order_id == order_id)
                                           .order_by(event.seq.desc()).limit(1))
        if forgotten and latest is not None:
            await self.session.execute(update(OrderRow).where(OrderRow.order_id == order_id)
                                       .values(status=latest.status, updated_at=latest.at))
        return forgotten

    async def get(self, order_id: str) -> OrderRow | None:
        return await self.session.get(OrderRow, order_id)

    async def search(self, *, status: str | None = None, customer_id: str | None = None,
                     order_id: str | None = None, email: str | None = None,
                     placed_from: datetime | None = None, placed_to: datetime | None = None,
                     after: tuple[datetime, str] | None = None,
                     limit: int = 50) -> list[OrderRow]:
        """Orders matching every filter given, newest first; `placed_to` is exclusive and
        `after` is the (placed_at, order_id) of the last row of the previous page."""
        query = (select(OrderRow).order_by(OrderRow.placed_at.desc(), OrderRow.order_id.desc())
                 .limit(limit))
        if status:
            query = query.where(OrderRow.status == status)
        if customer_id:
            query = query.where(OrderRow.customer_id == customer_id)
        if order_id:
            query = query.where(OrderRow.order_id == order_id)
        if email:  # addresses are matched as people type them, whatever the case
            query = query.where(func.lower(OrderRow.customer_email) == email.lower())
        if placed_from:
            query = query.where(OrderRow.placed_at >= placed_from)
        if placed_to:
            query = query.where(OrderRow.placed_at < placed_to)
        if after:
            at, last_id = after
            query = query.where((OrderRow.placed_at < at)
                                | ((OrderRow.placed_at == at) & (OrderRow.order_id < last_id)))
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
                     label_url: str, warehouse: str = "", purpose: str = "outbound",
                     shipped_at: datetime | None = None) -> None:
        await self.session.execute(insert(ShipmentRow).values(
            idempotency_key=key, order_id=order_id, carrier=carrier,
            tracking_number=tracking_number, label_url=label_url, status="created",
            warehouse=warehouse, purpose=purpose, shipped_at=shipped_at,
        ).on_conflict_do_nothing(index_elements=[ShipmentRow.idempotency_key]))

    async def set_status(self, tracking_number: str, status: str) -> None:
        await self.session.execute(
            update(ShipmentRow).where(ShipmentRow.tracking_number == tracking_number)
            .values(status=status, updated_at=utcnow()))

    async def record_scan(self, tracking_number: str, code: str, at: datetime) -> None:
        """Moves the shipment to one pushed scan. An exception scan counts once: a repeated
        delivery of it finds the shipment already in that status."""
        row = ShipmentRow
        values: dict[str, Any] = {"status": code, "updated_at": utcnow()}
        if code == TrackingCode.DELIVERED:
            values["delivered_at"] = func.coalesce(row.delivered_at, at)
        if is_exception(code):
            values["exception"] = code
            values["exception_count"] = row.exception_count + case(
                (row.status == code, 0), else_=1)
        await self.session.execute(
            update(row).where(row.tracking_number == tracking_number).values(values))

    async def record_scans(self, tracking_number: str, scans: list[tuple[str, datetime]]) -> None:
        """Brings the shipment up to the carrier's full list of scans (code, carrier's time):
        the list is the truth, so a repeated poll changes nothing."""
        if not scans:
            return
        row = ShipmentRow
        values: dict[str, Any] = {"status": scans[-1][0], "updated_at": utcnow()}
        delivered = [at for code, at in scans if code == TrackingCode.DELIVERED]
        if delivered:
            values["delivered_at"] = func.coalesce(row.delivered_at, delivered[0])
        exceptions = [code for code, _ in scans if is_exception(code)]
        if exceptions:
            values["exception"] = exceptions[-1]
            # Pushed scans may have counted some already: never count down.
            values["exception_count"] = func.greatest(row.exception_count, len(exceptions))
        await self.session.execute(
            update(row).where(row.tracking_number == tracking_number).values(values))

    async def find_parcel(self, tracking_number: str) -> tuple[str, str] | None:
        """(order id, carrier) of a parcel: one we shipped, or a customer's return parcel."""
        shipped = (await self.session.execute(
            select(ShipmentRow.order_id, ShipmentRow.carrier)
            .where(ShipmentRow.tracking_number == tracking_number))).first()
        if shipped is None:
            shipped = (await self.session.execute(
                select(ReturnRow.order_id, ReturnRow.carrier)
                .where(ReturnRow.tracking_number == tracking_number).limit(1))).first()
        return None if shipped is None else (shipped[0], shipped[1])

    async def file_claim(self, *, order_id: str, carrier: str, tracking_number: str,
                         reason: str, amount: int, currency: str) -> tuple[int, bool]:
        """Files one claim per parcel: (claim id, True when this call filed it)."""
        filed = await self.session.scalar(insert(CarrierClaimRow).values(
            order_id=order_id, carrier=carrier, tracking_number=tracking_number, reason=reason,
            amount=amount, currency=currency, status="filed", filed_at=utcnow(),
        ).on_conflict_do_nothing(index_elements=[CarrierClaimRow.tracking_number])
            .returning(CarrierClaimRow.id))
        if filed is not None:
            return filed, True
        existing = await self.session.scalar(select(CarrierClaimRow.id).where(
            CarrierClaimRow.tracking_number == tracking_number))
        assert existing is not None
        return existing, False

    async def claims_for(self, order_id: str) -> list[CarrierClaimRow]:
        return list((await self.session.scalars(
            select(CarrierClaimRow).where(CarrierClaimRow.order_id == order_id)
            .order_by(CarrierClaimRow.id))).all())

    async def for_order(self, order_id: str) -> list[ShipmentRow]:
        return list((await self.session.scalars(
            select(ShipmentRow).where(ShipmentRow.order_id == order_id).order_by(ShipmentRow.id)
        )).all())
