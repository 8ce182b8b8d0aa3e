"""OrderWorkflow's parcels, from the warehouse to the door: picking, packing, the carrier's
label, tracking, the shipping SLA, and what happens when a parcel does not arrive."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.carriers.activities import (
        ClaimInput,
        CreateShipmentInput,
        ShipmentRef,
        ShippingActivities,
        TrackingUpdate,
    )
    from activities.carriers.carrier import Parcel
    from activities.payments.activities import PaymentActivities
    from activities.records import RecordActivities, SlaBreachInput
    from activities.stock import (
        ReserveInput,
        RestockInput,
        SettleInput,
        StockActivities,
        StockLine,
    )
    from domain.order import value_of
    from domain.shipping_sla import sla_for
    from domain.status import AFTER_DELIVERY, TERMINAL, OrderStatus
    from domain.tracking import UNDELIVERABLE, TrackingCode
    from workflows.order_contract import (
        SHIPPING_LATE,
        DeliveryDecision,
        OrderView,
        WarehouseConfirmation,
    )
    from workflows.steps import Stop, business_step, until_done, wait_until

from workflows.order_core import OrderCore
from workflows.shipments import ShipmentRun, plan_shipments

S = OrderStatus

WAREHOUSE_SIM = "warehouse-sim"
DECISIONS = ("reship", "refund")


class OrderFulfilment(OrderCore):
    """Every warehouse picks, packs and hands over its own parcel; then to the door."""

    async def _fulfil(self) -> None:
        self._check_cancel()
        self._shipments = plan_shipments(self._held)
        split = len(self._shipments) > 1
        await self._move(S.PICKING, "warehouse.pick_requested",
                         ", ".join(s.warehouse for s in self._shipments) if split else "")
        await asyncio.gather(*(self._fulfil_shipment(s) for s in self._shipments))
        if self._halt is not None:
            raise self._halt
        await self._drop_failed_shipments()
        if any(s.delivered for s in self._shipments):
            await self._move(S.DELIVERED, "shipment.delivered")
        else:
            await self._move(S.REFUNDED, "order.refunded", "no parcel reached the customer")

    async def _fulfil_shipment(self, shipment: ShipmentRun) -> None:
        try:
            await self._send(shipment)
        except Stop as stop:
            shipment.failure = stop.reason
            # Before any parcel has left, one parcel's failure (or a cancel) stops them all.
            if self._halt is None and not any(s.handed_over for s in self._shipments):
                self._halt = stop
            return
        await self._follow_to_the_door(shipment)

    async def _send(self, shipment: ShipmentRun) -> None:
        """The warehouse picks and packs the parcel, and it is handed to the carrier."""
        await self._pick(shipment)
        await self._pack(shipment)
        await self._hand_over(shipment)

    async def _pick(self, shipment: ShipmentRun) -> None:
        actor = await self._await_warehouse(lambda: bool(shipment.picked_by))
        shipment.picked_by, shipment.status = shipment.picked_by or actor, "picked"
        await self._note("warehouse.picked", self._where(shipment), actor=shipment.picked_by)

    async def _pack(self, shipment: ShipmentRun) -> None:
        actor = await self._await_warehouse(lambda: bool(shipment.packed_by))
        shipment.packed_by, shipment.status = shipment.packed_by or actor, "packed"
        await self._advance(S.PACKED, all(s.status != "picking" and s.status != "picked"
                                          for s in self._shipments),
                            "warehouse.packed", self._where(shipment), shipment.packed_by)

    async def _hand_over(self, shipment: ShipmentRun) -> None:
        self._check_halt()
        info = await business_step(ShippingActivities.create_shipment, CreateShipmentInput(
            order_id=self._order.order_id, key=self._key(shipment.key),
            carrier=self._order.carrier, address=self._order.address,
            parcels=[Parcel(line.sku, line.quantity) for line in shipment.lines],
            warehouse=shipment.warehouse, purpose=shipment.purpose))
        shipment.carrier, shipment.tracking_number = info.carrier, info.tracking_number
        shipment.label_url, shipment.status = info.label_url, "label_created"
        # A cancel accepted while the label was being bought still wins: the label is voided.
        self._check_halt()
        shipment.handed_over = True
        everything_left = all(s.handed_over or s.failure for s in self._shipments)
        await self._advance(S.SHIPPED if everything_left else S.PARTIALLY_SHIPPED, True,
                            "shipment.handed_over", f"{info.carrier} {info.tracking_number}")
        await until_done(StockActivities.ship_stock, SettleInput(
            self._order.order_id, self._key(shipment.reservation), warehouse=shipment.warehouse))
        self._reservation_held = any(not s.handed_over for s in self._shipments
                                     if s.purpose == "outbound")

    async def _follow_to_the_door(self, shipment: ShipmentRun) -> None:
        poll = timedelta(seconds=self._input.timings.tracking_poll_s)
        ref = ShipmentRef(self._order.order_id, shipment.carrier, shipment.tracking_number)
        arrived_or_not = lambda: shipment.delivered or shipment.undeliverable  # noqa: E731
        while not arrived_or_not():
            updates = await until_done(ShippingActivities.poll_tracking, ref)
            await self._apply_tracking(shipment, updates)
            await wait_until(arrived_or_not, poll)
        if shipment.undeliverable:
            await self._settle_undeliverable(shipment)
        elif len(self._shipments) > 1:
            await self._note("shipment.parcel_delivered", self._where(shipment))

    # -- parcels that do not arrive ----------------------------------------------------

    async def _settle_undeliverable(self, shipment: ShipmentRun) -> None:
        """A lost parcel is claimed from the carrier, one sent back goes back into stock;
        then support decides: send it again, or refund it."""
        code = shipment.status
        if code == TrackingCode.LOST:
            shipment.claim = await until_done(ShippingActivities.file_claim, ClaimInput(
                self._order.order_id, shipment.carrier, shipment.tracking_number, code,
                value_of(self._order, shipment.quantities())))
            await self._note("carrier.claim_filed", f"{shipment.claim} for {shipment.tracking_number}")
        else:
            await until_done(StockActivities.restock_parcel, RestockInput(
                self._order.order_id, self._key(f"restock-{shipment.key}"), shipment.warehouse,
                [StockLine(line.sku, line.quantity) for line in shipment.lines],
                f"{shipment.tracking_number} returned to sender"))
            await self._note("stock.restocked", f"{shipment.warehouse}: parcel "
                                                f"{shipment.tracking_number} came back")
        shipment.awaiting_decision = True
        await self._note("shipment.awaiting_decision",
                         f"{shipment.tracking_number} {code}: support reships or refunds")
        await workflow.wait_condition(lambda: bool(shipment.decision))
        shipment.awaiting_decision = False
        why = f"parcel {shipment.tracking_number} {code.replace('_', ' ')}"
        if shipment.decision == "reship":
            sent = await self._ship_replacement(shipment.quantities(), f"re{shipment.key}", why)
            if sent:
                shipment.settled = True
                return
        await self._refund_parcel(shipment, why)

    async def _refund_parcel(self, shipment: ShipmentRun, why: str) -> None:
        """Refunds the parcel's goods, and shipping too when nothing reached the customer."""
        amount = value_of(self._order, shipment.quantities())
        if not any(s.delivered or (s.handed_over and not s.undeliverable)
                   for s in self._shipments if s is not shipment):
            amount += self._order.totals.shipping
        amount = min(amount, self._captured - self._refunded - self._refund_pending,
                     key=lambda m: m.amount)
        if amount.amount > 0:
            receipt = await until_done(PaymentActivities.refund_payment, self._payment_input(
                f"refund-{shipment.key}", amount, why))
            self._refunded += receipt.amount
            await self._note("payment.refunded", f"{receipt.amount}: {why}")
        shipment.settled = True

    async def _ship_replacement(self, quantities: dict[str, int], step: str, why: str) -> bool:
        """Reserves, picks, packs and sends new parcels for `quantities`; False when there is
        no stock for them or no parcel could be sent, with everything it held released."""
        reservation = f"reserve-{step}"
        try:
            held = await business_step(StockActivities.reserve_stock, ReserveInput(
                self._order.order_id, self._key(reservation),
                [StockLine(sku, qty) for sku, qty in sorted(quantities.items())],
                strategy=self._input.timings.allocation_strategy,
                destination_country=self._order.address.country))
        except Stop as stop:
            await self._note("replacement.refused", f"{why}: {stop.reason}")
            return False
        runs = plan_shipments(list(held.allocations), step=step, reservation=reservation)
        self._shipments.extend(runs)
        await self._note("replacement.requested", f"{why}: " + ", ".join(
            f"{line.quantity}x {line.sku}@{run.warehouse}" for run in runs for line in run.lines))
        sent = await asyncio.gather(*(self._send_replacement(run) for run in runs))
        return all(sent)

    async def _send_replacement(self, shipment: ShipmentRun) -> bool:
        try:
            await self._send(shipment)
        except Stop as stop:
            shipment.failure = stop.reason
            await until_done(StockActivities.release_stock, SettleInput(
                self._order.order_id, self._key(shipment.reservation)))
            await self._note("replacement.failed", f"{shipment.warehouse}: {stop.reason}")
            return False
        await self._follow_to_the_door(shipment)
        return True

    @workflow.update(name="resolve_delivery")
    async def resolve_delivery(self, decision: DeliveryDecision) -> OrderView:
        shipment, _ = self._undeliverable(decision.tracking_number)
        assert shipment is not None  # the validator found it
        shipment.decision = decision.action
        await self._note("shipment.decided", f"{shipment.tracking_number}: {decision.action}",
                         actor=decision.actor)
        return self.view()

    @resolve_delivery.validator
    def _validate_resolve_delivery(self, decision: DeliveryDecision) -> None:
        if decision.action not in DECISIONS:
            raise ValueError(f"action must be reship or refund, not {decision.action!r}")
        shipment, refusal = self._undeliverable(decision.tracking_number)
        if shipment is None:
            raise ValueError(refusal)

    def _undeliverable(self, tracking_number: str) -> tuple[ShipmentRun | None, str]:
        waiting = [s for s in self._shipments if s.awaiting_decision and not s.decision
                   and tracking_number in ("", s.tracking_number)]
        if len(waiting) == 1:
            return waiting[0], ""
        if waiting:
            return None, "several parcels wait for a decision: name the tracking number"
        return None, "no parcel of this order is waiting for a reship-or-refund decision"

    # -- the shipping SLA ----------------------------------------------------------------

    async def _watch_sla(self) -> None:
        """Marks the order late when it is not shipped, then not delivered, in time."""
        sla = sla_for(self._order.shipping_method)
        placed = workflow.info().start_time
        ended = lambda: self._status in TERMINAL or self._status == S.REFUNDED  # noqa: E731
        shipped = lambda: ended() or any(s.handed_over for s in self._shipments)  # noqa: E731
        if not await wait_until(shipped, sla.ship_within):
            await self._breach("ship", f"not handed to a carrier within {sla.ship_within}")
        delivered = lambda: ended() or self._status in AFTER_DELIVERY  # noqa: E731
        left = placed + sla.deliver_within - workflow.now()
        if delivered() or (left > timedelta(0) and await wait_until(delivered, left)):
            return
        await self._breach("delivery", f"not delivered within {sla.deliver_within}")

    async def _breach(self, kind: str, detail: str) -> None:
        self._sla_breaches.append(kind)
        workflow.upsert_search_attributes([SHIPPING_LATE.value_set(True)])
        await self._record_aside(RecordActivities.record_sla_breach,
                                   SlaBreachInput(self._order.order_id, kind))
        await self._note(f"sla.{kind}_breached", detail)

    # -- warehouse and carrier messages --------------------------------------------------

    @workflow.signal(name="confirm_pick")
    async def confirm_pick(self, confirmation: WarehouseConfirmation) -> None:
        shipment, refusal = self._waiting_shipment(
            confirmation.warehouse, lambda s: not s.picked_by, f"order is {self._status.value}")
        if shipment is None:
            await self._note("warehouse.pick_refused", refusal, actor=confirmation.actor)
            return
        shipment.picked_by = confirmation.actor

    @workflow.signal(name="confirm_pack")
    async def confirm_pack(self, confirmation: WarehouseConfirmation) -> None:
        shipment, refusal = self._waiting_shipment(
            confirmation.warehouse, lambda s: bool(s.picked_by) and not s.packed_by,
            "the order has not been picked")
        if shipment is None:
            await self._note("warehouse.pack_refused", refusal, actor=confirmation.actor)
            return
        shipment.packed_by = confirmation.actor

    def _waiting_shipment(self, warehouse: str, waiting: Callable[[ShipmentRun], bool],
                          refusal: str) -> tuple[ShipmentRun | None, str]:
        """The parcel a warehouse confirmation is about, or why there is none."""
        preparing = [s for s in self._shipments if not s.handed_over and not s.failure]
        if self._status not in (S.PICKING, S.PACKED, S.PARTIALLY_SHIPPED) and not preparing:
            return None, f"order is {self._status.value}"
        candidates = [s for s in preparing if waiting(s) and warehouse in ("", s.warehouse)]
        if len(candidates) > 1:
            names = ", ".join(s.warehouse for s in candidates)
            return None, f"the order ships from {names}: name the warehouse"
        return (candidates[0], "") if candidates else (None, refusal)

    async def _await_warehouse(self, done: Callable[[], bool]) -> str:
        """Waits for the warehouse's confirmation, or confirms as the simulated warehouse."""
        auto = self._input.timings.warehouse_autoconfirm_s
        stopped = lambda: self._cancel is not None or self._halt is not None  # noqa: E731
        finished = await wait_until(lambda: done() or stopped(),
                                    None if auto is None else timedelta(seconds=auto))
        self._check_halt()
        return "" if finished else WAREHOUSE_SIM

    async def _apply_tracking(self, shipment: ShipmentRun, updates: list[TrackingUpdate]) -> None:
        for update in updates:
            seen = (update.code, update.at.isoformat())
            if seen in shipment.seen:
                continue
            shipment.seen.add(seen)
            detail = " ".join(part for part in (update.location, update.description) if part)
            await self._note(f"carrier.{update.code}", detail, actor=shipment.carrier,
                             at=update.at)
            # Delivered is final: a poll sent before a pushed "delivered" may answer after it,
            # and its older scans must not move the parcel back. So is a parcel given up on.
            if not (shipment.delivered or shipment.undeliverable):
                shipment.status = update.code
            if update.code == "delivered" and not shipment.undeliverable:
                shipment.delivered = True
            elif update.code in UNDELIVERABLE and not shipment.delivered:
                shipment.undeliverable = True

    async def _cancel_label(self, shipment: ShipmentRun) -> None:
        await until_done(ShippingActivities.cancel_shipment, ShipmentRef(
            self._order.order_id, shipment.carrier, shipment.tracking_number))
        shipment.status = "cancelled"
        await self._note("shipment.cancelled", shipment.tracking_number)

    async def _drop_failed_shipments(self) -> None:
        """A parcel that failed after another had left: its stock goes back, its goods are
        refunded, and the order goes on with the parcels that left."""
        for shipment in (s for s in self._shipments if s.failure and s.purpose == "outbound"):
            if shipment.tracking_number and shipment.status != "cancelled":
                await self._cancel_label(shipment)
            await until_done(StockActivities.release_stock, SettleInput(
                self._order.order_id, self._key("reserve"), warehouse=shipment.warehouse))
            value = value_of(self._order, shipment.quantities())
            receipt = await until_done(PaymentActivities.refund_payment, self._payment_input(
                f"refund-{shipment.key}", value, f"parcel from {shipment.warehouse} failed"))
            self._refunded += receipt.amount
            await self._note("shipment.dropped", f"{shipment.warehouse}: {shipment.failure}; "
                                                 f"refunded {receipt.amount}")
        if self._status == S.PARTIALLY_SHIPPED:
            await self._move(S.SHIPPED, "shipment.handed_over", "every remaining parcel has left")

    def _where(self, shipment: ShipmentRun) -> str:
        return shipment.warehouse if len(self._shipments) > 1 else ""

