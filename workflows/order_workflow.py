"""OrderWorkflow: one order from checkout to the end of its return window."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.backorders import (
        BackorderActivities,
        BackorderInput,
        BackorderRef,
        BackorderState,
    )
    from activities.carriers.activities import (
        CreateShipmentInput,
        ShipmentRef,
        ShippingActivities,
        TrackingUpdate,
    )
    from activities.carriers.carrier import Parcel
    from activities.payments.activities import AuthorizeInput, PaymentActivities, PaymentInput
    from activities.records import (
        RecordActivities,
        RecordEventInput,
        RecordOrderInput,
        ShipmentStatusInput,
    )
    from activities.stock import ReserveInput, SettleInput, StockActivities, StockLine
    from domain.allocation import Allocation
    from domain.money import Money
    from domain.order import value_of
    from domain.refunds import refund_refusal
    from domain.status import TERMINAL, OrderStatus, can_move, cancel_refusal, progress_rank
    from workflows.order_contract import (
        CARRIER,
        CUSTOMER_ID,
        ORDER_STATUS,
        ORDER_TOTAL,
        BackorderView,
        CancelRequest,
        CarrierEvent,
        OrderInput,
        OrderResult,
        OrderView,
        PaymentView,
        RefundRequest,
        TimelineEvent,
        WarehouseConfirmation,
    )
    from workflows.shipments import ShipmentRun, plan_shipments
    from workflows.steps import (
        RECORD_TIMEOUT,
        UNTIL_DONE,
        Stop,
        business_step,
        until_done,
        wait_until,
    )

S = OrderStatus

WAREHOUSE_SIM = "warehouse-sim"
# workflow.patched() ids: each guards a change to the commands the workflow issues.
RECORD_PUSHED_SHIPMENT_STATUS = "record-pushed-shipment-status"
RELEASE_BACKORDER_FILLS = "release-backorder-fills-on-unwind"


@workflow.defn
class OrderWorkflow:
    """Takes one order through payment, stock, warehouses, carriers and return window."""

    @workflow.init
    def __init__(self, input: OrderInput) -> None:
        self._input = input
        self._order = input.order
        self._status = S.PLACED
        self._timeline: list[TimelineEvent] = []
        zero = Money.zero(input.order.currency)
        self._authorization = ""
        self._authorized = self._captured = self._refunded = self._refund_pending = zero
        self._held: list[Allocation] = []
        self._reservation_held = False
        self._backorders: list[BackorderView] = []
        self._backorder_registered = False
        self._backorder_filled = False
        self._dropped: dict[str, int] = {}  # units given up on: never shipped, never charged
        self._shipments: list[ShipmentRun] = []
        self._cancel: CancelRequest | None = None
        self._halt: Stop | None = None  # set when one parcel's failure stops them all
        self._unwinding = False
        self._failure = ""
        self._refund_count = 0

    @workflow.run
    async def run(self, input: OrderInput) -> OrderResult:
        await self._open()
        try:
            await self._authorize_payment()
            await self._reserve_stock()
            await self._capture_payment()
            await self._fulfil()
        except Stop as stop:
            await self._unwind(stop)
        else:
            await self._return_window()
            await self._move(S.COMPLETED, "order.completed")
        await workflow.wait_condition(workflow.all_handlers_finished)
        return OrderResult(self._order.order_id, self._status.value, self._failure)

    # -- the story, step by step -------------------------------------------------------

    async def _open(self) -> None:
        workflow.upsert_search_attributes([
            ORDER_STATUS.value_set(S.PLACED.value),
            CUSTOMER_ID.value_set(self._order.customer.id),
            ORDER_TOTAL.value_set(self._order.totals.grand_total.amount),
            CARRIER.value_set(self._order.carrier),
        ])
        await workflow.execute_local_activity_method(
            RecordActivities.record_order,
            RecordOrderInput(self._order, workflow.info().workflow_id, workflow.now()),
            start_to_close_timeout=RECORD_TIMEOUT, retry_policy=UNTIL_DONE)
        await self._note("order.placed", f"total {self._order.totals.grand_total}",
                         actor="storefront")

    async def _authorize_payment(self) -> None:
        self._check_cancel()
        receipt = await business_step(PaymentActivities.authorize_payment, AuthorizeInput(
            order_id=self._order.order_id, key=self._key("authorize"),
            method=self._order.payment_method, token=self._order.payment_token,
            amount=self._order.totals.grand_total, customer_id=self._order.customer.id))
        self._authorization, self._authorized = receipt.reference, receipt.amount
        await self._move(S.PAYMENT_AUTHORIZED, "payment.authorized", str(receipt.amount))

    async def _reserve_stock(self) -> None:
        self._check_cancel()
        timings, order = self._input.timings, self._order
        result = await business_step(StockActivities.reserve_stock, ReserveInput(
            order.order_id, self._key("reserve"),
            [StockLine(line.sku, line.quantity) for line in order.lines],
            strategy=timings.allocation_strategy, destination_country=order.address.country,
            campaign=order.campaign,
            allow_partial=order.allow_backorder or bool(order.backorderable_skus)))
        self._held, self._reservation_held = list(result.allocations), bool(result.allocations)
        if result.shortfall:
            await self._wait_for_stock(result.shortfall)
        held = ", ".join(f"{a.quantity}x {a.sku}@{a.warehouse}" for a in self._held)
        await self._move(S.STOCK_RESERVED, "stock.reserved", held)

    async def _capture_payment(self) -> None:
        self._check_cancel()
        # Units given up on after a backorder are not charged: capture only what will ship.
        amount = self._authorized - value_of(self._order, self._dropped)
        receipt = await business_step(PaymentActivities.capture_payment, self._payment_input(
            "capture", amount))
        self._captured = receipt.amount
        await self._move(S.PAYMENT_CAPTURED, "payment.captured", str(receipt.amount))

    async def _fulfil(self) -> None:
        """Every warehouse picks, packs and hands over its own parcel; then to the door."""
        self._check_cancel()
        self._shipments = plan_shipments(self._held)
        split = len(self._shipments) > 1
        await self._move(S.PICKING, "warehouse.pick_requested",
                         ", ".join(s.warehouse for s in self._shipments) if split else "")
        await asyncio.gather(*(self._fulfil_shipment(s) for s in self._shipments))
        if self._halt is not None:
            raise self._halt
        await self._drop_failed_shipments()
        await self._move(S.DELIVERED, "shipment.delivered")

    async def _fulfil_shipment(self, shipment: ShipmentRun) -> None:
        try:
            await self._pick(shipment)
            await self._pack(shipment)
            await self._hand_over(shipment)
        except Stop as stop:
            shipment.failure = stop.reason
            # Before any parcel has left, one parcel's failure (or a cancel) stops them all.
            if self._halt is None and not any(s.handed_over for s in self._shipments):
                self._halt = stop
            return
        await self._follow_to_the_door(shipment)

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
            parcels=[Parcel(line.sku, line.quantity) for line in shipment.lines]))
        shipment.carrier, shipment.tracking_number = info.carrier, info.tracking_number
        shipment.label_url, shipment.status = info.label_url, "label_created"
        # A cancel accepted while the label was being bought still wins: the label is voided.
        self._check_halt()
        shipment.handed_over = True
        everything_left = all(s.handed_over or s.failure for s in self._shipments)
        await self._advance(S.SHIPPED if everything_left else S.PARTIALLY_SHIPPED, True,
                            "shipment.handed_over", f"{info.carrier} {info.tracking_number}")
        await until_done(StockActivities.ship_stock, SettleInput(
            self._order.order_id, self._key("reserve"), warehouse=shipment.warehouse))
        self._reservation_held = any(not s.handed_over for s in self._shipments)

    async def _follow_to_the_door(self, shipment: ShipmentRun) -> None:
        poll = timedelta(seconds=self._input.timings.tracking_poll_s)
        ref = ShipmentRef(self._order.order_id, shipment.carrier, shipment.tracking_number)
        while not shipment.delivered:
            updates = await until_done(ShippingActivities.poll_tracking, ref)
            await self._apply_tracking(shipment, updates)
            await wait_until(lambda: shipment.delivered, poll)
        if len(self._shipments) > 1:
            await self._note("shipment.parcel_delivered", self._where(shipment))

    async def _return_window(self) -> None:
        """Keeps the order open for returns and refunds until the window closes.

        Return requests (RMA, label, receipt) will be accepted here while the durable timer runs.
        """
        await self._note("returns.window_opened",
                         f"{self._input.timings.return_window_s}s", actor="system")
        await workflow.sleep(timedelta(seconds=self._input.timings.return_window_s))

    # -- waiting for stock ---------------------------------------------------------------

    async def _wait_for_stock(self, shortfall: dict[str, int]) -> None:
        """Backorders what is missing and waits for receipts, until the deadline."""
        order = self._order
        not_waitable = sorted(sku for sku in shortfall
                              if not (order.allow_backorder or sku in order.backorderable_skus))
        if not_waitable:
            detail = ", ".join(f"{sku} short by {shortfall[sku]}" for sku in not_waitable)
            raise Stop(S.FAILED, "order.failed", f"not enough stock: {detail}")
        deadline = workflow.now() + timedelta(seconds=self._input.timings.backorder_deadline_s)
        expected = await until_done(BackorderActivities.register_backorder, BackorderInput(
            order.order_id, workflow.info().workflow_id, self._key("reserve"), shortfall,
            order.campaign, order.address.country, deadline))
        self._backorder_registered = True
        self._backorders = [BackorderView(e.sku, e.quantity, e.expected_at) for e in expected]
        await self._move(S.BACKORDERED, "stock.backordered", "; ".join(
            f"{b.quantity}x {b.sku}" + (f" expected {b.expected_at:%Y-%m-%d}"
                                         if b.expected_at else "") for b in self._backorders))
        state = await self._await_receipts(deadline)
        if not state.filled:
            state = await until_done(BackorderActivities.give_up_backorder,
                                           self._backorder_ref())
        self._held, self._reservation_held = list(state.allocations), bool(state.allocations)
        self._backorders, self._dropped = [], dict(state.missing)
        if not self._held:
            raise Stop(S.CANCELLED, "order.cancelled",
                        "backorder deadline passed with no stock for the order")
        if self._dropped:
            await self._note("stock.backorder_dropped", ", ".join(
                f"{qty}x {sku}" for sku, qty in sorted(self._dropped.items())))

    async def _await_receipts(self, deadline: datetime) -> BackorderState:
        """A receipt signals `backorder_filled`; the poll also catches a signal never sent."""
        poll = timedelta(seconds=self._input.timings.tracking_poll_s)
        while True:
            left = deadline - workflow.now()
            await wait_until(lambda: self._backorder_filled or self._cancel is not None,
                             max(min(poll, left), timedelta(seconds=1)))
            self._check_cancel()
            state = await until_done(BackorderActivities.backorder_state,
                                           self._backorder_ref())
            if state.filled or workflow.now() >= deadline:
                return state
            self._backorder_filled = False

    # -- compensation ------------------------------------------------------------------

    async def _unwind(self, stop: Stop) -> None:
        """Undoes, in reverse, every step that took effect; each undo retries until done."""
        self._unwinding, self._failure = True, stop.reason
        await self._note("compensation.started", stop.reason, actor=stop.actor)
        for shipment in self._shipments:
            if shipment.tracking_number and shipment.status != "cancelled":
                await self._cancel_label(shipment)
        if self._backorder_registered:
            state = await until_done(BackorderActivities.give_up_backorder,
                                           self._backorder_ref())
            self._backorders = []
            # Receipts may have given the order units it has not heard of yet (a partial fill,
            # or a cancel that beat the fill's signal): they are released with the rest.
            # Patched: orders unwound before this release must replay without it.
            if state.allocations and workflow.patched(RELEASE_BACKORDER_FILLS):
                self._reservation_held = True
        if self._reservation_held:
            await until_done(StockActivities.release_stock,
                                   SettleInput(self._order.order_id, self._key("reserve")))
            self._reservation_held = False
            await self._note("stock.released")
        await workflow.wait_condition(lambda: self._refund_pending.amount == 0)
        await self._give_money_back()
        await self._move(stop.status, stop.kind, stop.reason, stop.actor)

    async def _cancel_label(self, shipment: ShipmentRun) -> None:
        await until_done(ShippingActivities.cancel_shipment, ShipmentRef(
            self._order.order_id, shipment.carrier, shipment.tracking_number))
        shipment.status = "cancelled"
        await self._note("shipment.cancelled", shipment.tracking_number)

    async def _give_money_back(self) -> None:
        outstanding = self._captured - self._refunded
        if outstanding.amount > 0:
            receipt = await until_done(PaymentActivities.refund_payment, self._payment_input(
                "refund-unwind", outstanding, "order unwound"))
            self._refunded += receipt.amount
            await self._note("payment.refunded", str(receipt.amount))
        elif self._authorization and self._captured.amount == 0:
            await until_done(PaymentActivities.void_payment, self._payment_input(
                "void", self._authorized, "order unwound"))
            await self._note("payment.voided", str(self._authorized))

    async def _drop_failed_shipments(self) -> None:
        """A parcel that failed after another had left: its stock goes back, its goods are
        refunded, and the order goes on with the parcels that left."""
        for shipment in (s for s in self._shipments if s.failure):
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

    # -- support, warehouse and carrier messages ---------------------------------------

    @workflow.signal(name="cancel")
    async def cancel_signal(self, request: CancelRequest) -> None:
        refusal = self._cancel_refusal()
        if refusal:
            await self._note("cancel.refused", refusal, actor=request.actor)
        else:
            self._cancel = self._cancel or request

    @workflow.update(name="request_cancel")
    async def cancel_update(self, request: CancelRequest) -> OrderView:
        self._cancel = self._cancel or request
        await workflow.wait_condition(lambda: self._status in TERMINAL)
        return self.view()

    @cancel_update.validator
    def _validate_cancel(self, request: CancelRequest) -> None:
        refusal = self._cancel_refusal()
        if refusal:
            raise ValueError(refusal)

    @workflow.signal(name="refund")
    async def refund_signal(self, request: RefundRequest) -> None:
        try:
            await self._refund(request)
        except (ApplicationError, ActivityError) as error:
            await self._note("refund.refused", str(error.message), actor=request.actor)

    @workflow.update(name="request_refund")
    async def refund_update(self, request: RefundRequest) -> OrderView:
        await self._refund(request)
        return self.view()

    @refund_update.validator
    def _validate_refund(self, request: RefundRequest) -> None:
        refusal = self._refund_refusal(request.amount)
        if refusal:
            raise ValueError(refusal)

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

    @workflow.signal(name="backorder_filled")
    def backorder_filled(self) -> None:
        self._backorder_filled = True

    @workflow.signal(name="carrier_event")
    async def carrier_event(self, event: CarrierEvent) -> None:
        moving = [s for s in self._shipments if s.handed_over and
                  (not event.tracking_number or s.tracking_number == event.tracking_number)]
        if len(moving) != 1:
            await self._note("carrier.ignored", f"{event.code}: order is {self._status.value}")
            return
        shipment = moving[0]
        await self._apply_tracking(
            shipment, [TrackingUpdate(event.code, event.at, event.location, event.description)])
        # Polls write the shipment's status themselves; a pushed event has no activity yet.
        # Patched: orders that handled a pushed event before this write existed must replay.
        if workflow.patched(RECORD_PUSHED_SHIPMENT_STATUS):
            await workflow.execute_local_activity_method(
                RecordActivities.record_shipment_status,
                ShipmentStatusInput(shipment.tracking_number, shipment.status),
                start_to_close_timeout=RECORD_TIMEOUT, retry_policy=UNTIL_DONE)

    @workflow.query(name="status")
    def status(self) -> str:
        return self._status.value

    @workflow.query(name="timeline")
    def timeline(self) -> list[TimelineEvent]:
        return list(self._timeline)

    @workflow.query(name="view")
    def view(self) -> OrderView:
        payment = PaymentView(self._order.payment_method, self._authorization, self._authorized,
                              self._captured, self._refunded)
        return OrderView(self._order, self._status.value, payment,
                         [s.view() for s in self._shipments if s.tracking_number],
                         list(self._timeline), self._failure, list(self._backorders))

    # -- helpers -----------------------------------------------------------------------

    def _cancel_refusal(self) -> str | None:
        if self._unwinding and self._status not in TERMINAL:
            return "the order is already being cancelled"
        return cancel_refusal(self._status)

    def _refund_refusal(self, amount: Money) -> str | None:
        if self._status in TERMINAL or self._unwinding:
            return f"order is {self._status.value}: refunds go through its compensation"
        return refund_refusal(amount, self._captured, self._refunded + self._refund_pending)

    async def _refund(self, request: RefundRequest) -> None:
        # Validators run before the handler is queued: check again so two refunds racing
        # for the same balance cannot both pass.
        refusal = self._refund_refusal(request.amount)
        if refusal:
            raise ApplicationError(refusal, type="RefundRefused", non_retryable=True)
        self._refund_count += 1
        self._refund_pending += request.amount
        try:
            receipt = await business_step(PaymentActivities.refund_payment, self._payment_input(
                f"refund-{self._refund_count}", request.amount, request.reason))
        except Stop as stop:
            # A refund the gateway refuses fails this request, not the order. Raised from a
            # handler, Stop (not an ApplicationError) would fail the workflow task forever.
            raise ApplicationError(stop.reason, type="RefundRefused", non_retryable=True) from None
        finally:
            self._refund_pending -= request.amount
        self._refunded += receipt.amount
        await self._note("payment.refunded", f"{receipt.amount}: {request.reason}",
                         actor=request.actor)

    def _waiting_shipment(self, warehouse: str, waiting: Callable[[ShipmentRun], bool],
                          refusal: str) -> tuple[ShipmentRun | None, str]:
        """The parcel a warehouse confirmation is about, or why there is none."""
        if self._status not in (S.PICKING, S.PACKED, S.PARTIALLY_SHIPPED):
            return None, f"order is {self._status.value}"
        candidates = [s for s in self._shipments
                      if waiting(s) and not s.failure and warehouse in ("", s.warehouse)]
        if len(candidates) > 1:
            names = ", ".join(s.warehouse for s in candidates)
            return None, f"the order ships from {names}: name the warehouse"
        return (candidates[0], "") if candidates else (None, refusal)

    def _check_cancel(self) -> None:
        if self._cancel is not None:
            raise Stop(S.CANCELLED, "order.cancelled", self._cancel.reason, self._cancel.actor)

    def _check_halt(self) -> None:
        self._check_cancel()
        if self._halt is not None:
            raise self._halt

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
            # and its older scans must not move the parcel back.
            if not shipment.delivered:
                shipment.status = update.code
            if update.code == "delivered":
                shipment.delivered = True

    async def _advance(self, status: OrderStatus, reached: bool, kind: str, detail: str,
                       actor: str = "system") -> None:
        """Moves the order forward when `reached`, else notes the parcel's own progress."""
        if reached and progress_rank(status) > progress_rank(self._status):
            await self._move(status, kind, detail, actor)
        else:
            await self._note(kind, detail, actor=actor)

    def _where(self, shipment: ShipmentRun) -> str:
        return shipment.warehouse if len(self._shipments) > 1 else ""

    def _backorder_ref(self) -> BackorderRef:
        return BackorderRef(self._order.order_id, self._key("reserve"))

    def _key(self, step: str) -> str:
        return f"{workflow.info().workflow_id}:{step}"

    def _payment_input(self, step: str, amount: Money, reason: str = "") -> PaymentInput:
        return PaymentInput(self._order.order_id, self._key(step), self._order.payment_method,
                            self._authorization, amount, reason)

    async def _move(self, status: OrderStatus, kind: str, detail: str = "",
                    actor: str = "system") -> None:
        if not can_move(self._status, status):
            raise ApplicationError(f"illegal move {self._status} -> {status}", non_retryable=True)
        self._status = status
        workflow.upsert_search_attributes([ORDER_STATUS.value_set(status.value)])
        await self._note(kind, detail, actor=actor)

    async def _note(self, kind: str, detail: str = "", *, actor: str = "system",
                    at: datetime | None = None) -> None:
        event = TimelineEvent(len(self._timeline) + 1, at or workflow.now(),
                              self._status.value, kind, detail, actor)
        self._timeline.append(event)
        workflow.logger.info("order.%s", kind, extra={"order_id": self._order.order_id})
        # A local activity: the timeline's durable copy costs no task-queue round trip.
        await workflow.execute_local_activity_method(
            RecordActivities.record_event,
            RecordEventInput(self._order.order_id, event.seq, event.at, event.status, kind,
                             detail, actor),
            start_to_close_timeout=RECORD_TIMEOUT, retry_policy=UNTIL_DONE)
