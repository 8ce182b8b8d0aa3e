"""OrderWorkflow: one order from checkout to the end of its return window."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.carriers.activities import (
        CreateShipmentInput,
        ShipmentRef,
        ShippingActivities,
        TrackingUpdate,
    )
    from activities.carriers.carrier import Parcel
    from activities.errors import PAYMENT_DECLINED
    from activities.payments.activities import AuthorizeInput, PaymentActivities, PaymentInput
    from activities.records import (
        RecordActivities,
        RecordEventInput,
        RecordOrderInput,
        ShipmentStatusInput,
    )
    from activities.stock import ReserveInput, SettleInput, StockActivities, StockLine
    from domain.money import Money
    from domain.refunds import refund_refusal
    from domain.status import TERMINAL, OrderStatus, can_move, cancel_refusal
    from workflows.order_contract import (
        CARRIER,
        CUSTOMER_ID,
        ORDER_STATUS,
        ORDER_TOTAL,
        CancelRequest,
        CarrierEvent,
        OrderInput,
        OrderResult,
        OrderView,
        PaymentView,
        RefundRequest,
        ShipmentView,
        TimelineEvent,
        WarehouseConfirmation,
    )

S = OrderStatus

STEP_TIMEOUT = timedelta(seconds=30)
RECORD_TIMEOUT = timedelta(seconds=10)
# Business steps: transient failures are retried with backoff; a step that keeps failing
# for about ten minutes fails the order, which is then compensated.
STEP_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), backoff_coefficient=2.0,
                         maximum_interval=timedelta(minutes=2), maximum_attempts=10)
# Compensation and bookkeeping must finish, however long the outage: no attempt limit.
UNTIL_DONE = RetryPolicy(initial_interval=timedelta(seconds=1), backoff_coefficient=2.0,
                         maximum_interval=timedelta(minutes=5))
WAREHOUSE_SIM = "warehouse-sim"
# workflow.patched() ids: each guards a change to the commands the workflow issues.
RECORD_PUSHED_SHIPMENT_STATUS = "record-pushed-shipment-status"


class _Stop(Exception):
    """Ends the forward path: the order is unwound and closes in `status`."""

    def __init__(self, status: OrderStatus, kind: str, reason: str, actor: str = "system"):
        super().__init__(reason)
        self.status, self.kind, self.reason, self.actor = status, kind, reason, actor


@workflow.defn
class OrderWorkflow:
    """Takes one order through payment, stock, warehouse, carrier and return window."""

    @workflow.init
    def __init__(self, input: OrderInput) -> None:
        self._input = input
        self._order = input.order
        self._status = S.PLACED
        self._timeline: list[TimelineEvent] = []
        zero = Money.zero(input.order.currency)
        self._authorization = ""
        self._authorized = self._captured = self._refunded = self._refund_pending = zero
        self._reservation_held = False
        self._shipment: ShipmentView | None = None
        self._tracking_seen: set[tuple[str, str]] = set()
        self._delivered = False
        self._cancel: CancelRequest | None = None
        self._picked_by = self._packed_by = ""
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
            await self._pick_and_pack()
            await self._ship()
        except _Stop as stop:
            await self._unwind(stop)
        else:
            await self._await_delivery()
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
        receipt = await self._step(PaymentActivities.authorize_payment, AuthorizeInput(
            order_id=self._order.order_id, key=self._key("authorize"),
            method=self._order.payment_method, token=self._order.payment_token,
            amount=self._order.totals.grand_total, customer_id=self._order.customer.id))
        self._authorization, self._authorized = receipt.reference, receipt.amount
        await self._move(S.PAYMENT_AUTHORIZED, "payment.authorized", str(receipt.amount))

    async def _reserve_stock(self) -> None:
        self._check_cancel()
        lines = [StockLine(line.sku, line.quantity) for line in self._order.lines]
        result = await self._step(StockActivities.reserve_stock, ReserveInput(
            self._order.order_id, self._key("reserve"), lines))
        self._reservation_held = True
        held = ", ".join(f"{a.quantity}x {a.sku}@{a.warehouse}" for a in result.allocations)
        await self._move(S.STOCK_RESERVED, "stock.reserved", held)

    async def _capture_payment(self) -> None:
        self._check_cancel()
        receipt = await self._step(PaymentActivities.capture_payment, self._payment_input(
            "capture", self._authorized))
        self._captured = receipt.amount
        await self._move(S.PAYMENT_CAPTURED, "payment.captured", str(receipt.amount))

    async def _pick_and_pack(self) -> None:
        self._check_cancel()
        await self._move(S.PICKING, "warehouse.pick_requested")
        actor = await self._await_warehouse(lambda: bool(self._picked_by))
        await self._note("warehouse.picked", actor=self._picked_by or actor)
        actor = await self._await_warehouse(lambda: bool(self._packed_by))
        await self._move(S.PACKED, "warehouse.packed", actor=self._packed_by or actor)

    async def _ship(self) -> None:
        self._check_cancel()
        info = await self._step(ShippingActivities.create_shipment, CreateShipmentInput(
            order_id=self._order.order_id, key=self._key("ship"), carrier=self._order.carrier,
            address=self._order.address,
            parcels=[Parcel(line.sku, line.quantity) for line in self._order.lines]))
        self._shipment = ShipmentView(info.carrier, info.tracking_number, info.label_url,
                                      "label_created")
        # A cancel accepted while the label was being bought still wins: the label is voided.
        self._check_cancel()
        await self._move(S.SHIPPED, "shipment.handed_over",
                         f"{info.carrier} {info.tracking_number}")
        await self._until_done(StockActivities.ship_stock,
                               SettleInput(self._order.order_id, self._key("reserve")))
        self._reservation_held = False

    async def _await_delivery(self) -> None:
        assert self._shipment is not None
        poll = timedelta(seconds=self._input.timings.tracking_poll_s)
        ref = ShipmentRef(self._order.order_id, self._shipment.carrier,
                          self._shipment.tracking_number)
        while not self._delivered:
            updates = await self._until_done(ShippingActivities.poll_tracking, ref)
            await self._apply_tracking(updates, actor=self._shipment.carrier)
            await self._wait(lambda: self._delivered, poll)
        await self._move(S.DELIVERED, "shipment.delivered")

    async def _return_window(self) -> None:
        """Keeps the order open for returns and refunds until the window closes.

        Return requests (RMA, label, receipt) will be accepted here while the durable timer runs.
        """
        await self._note("returns.window_opened",
                         f"{self._input.timings.return_window_s}s", actor="system")
        await workflow.sleep(timedelta(seconds=self._input.timings.return_window_s))

    # -- compensation ------------------------------------------------------------------

    async def _unwind(self, stop: _Stop) -> None:
        """Undoes, in reverse, every step that took effect; each undo retries until done."""
        self._unwinding, self._failure = True, stop.reason
        await self._note("compensation.started", stop.reason, actor=stop.actor)
        if self._shipment is not None:
            await self._cancel_shipment()
        if self._reservation_held:
            await self._until_done(StockActivities.release_stock,
                                   SettleInput(self._order.order_id, self._key("reserve")))
            self._reservation_held = False
            await self._note("stock.released")
        await workflow.wait_condition(lambda: self._refund_pending.amount == 0)
        await self._give_money_back()
        await self._move(stop.status, stop.kind, stop.reason, stop.actor)

    async def _cancel_shipment(self) -> None:
        assert self._shipment is not None
        await self._until_done(ShippingActivities.cancel_shipment, ShipmentRef(
            self._order.order_id, self._shipment.carrier, self._shipment.tracking_number))
        self._shipment = ShipmentView(self._shipment.carrier, self._shipment.tracking_number,
                                      self._shipment.label_url, "cancelled")
        await self._note("shipment.cancelled", self._shipment.tracking_number)

    async def _give_money_back(self) -> None:
        outstanding = self._captured - self._refunded
        if outstanding.amount > 0:
            receipt = await self._until_done(PaymentActivities.refund_payment, self._payment_input(
                "refund-unwind", outstanding, "order unwound"))
            self._refunded += receipt.amount
            await self._note("payment.refunded", str(receipt.amount))
        elif self._authorization and self._captured.amount == 0:
            await self._until_done(PaymentActivities.void_payment, self._payment_input(
                "void", self._authorized, "order unwound"))
            await self._note("payment.voided", str(self._authorized))

    # -- support and warehouse messages ------------------------------------------------

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
        if self._status != S.PICKING or self._picked_by:
            await self._note("warehouse.pick_refused", f"order is {self._status.value}",
                             actor=confirmation.actor)
            return
        self._picked_by = confirmation.actor

    @workflow.signal(name="confirm_pack")
    async def confirm_pack(self, confirmation: WarehouseConfirmation) -> None:
        if self._status != S.PICKING or not self._picked_by or self._packed_by:
            await self._note("warehouse.pack_refused", "the order has not been picked",
                             actor=confirmation.actor)
            return
        self._packed_by = confirmation.actor

    @workflow.signal(name="carrier_event")
    async def carrier_event(self, event: CarrierEvent) -> None:
        if self._shipment is None or self._status != S.SHIPPED:
            await self._note("carrier.ignored", f"{event.code}: order is {self._status.value}")
            return
        await self._apply_tracking(
            [TrackingUpdate(event.code, event.at, event.location, event.description)],
            actor=self._shipment.carrier)
        # Polls write the shipment's status themselves; a pushed event has no activity yet.
        # Patched: orders that handled a pushed event before this write existed must replay.
        if workflow.patched(RECORD_PUSHED_SHIPMENT_STATUS):
            await workflow.execute_local_activity_method(
                RecordActivities.record_shipment_status,
                ShipmentStatusInput(self._shipment.tracking_number, self._shipment.status),
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
        shipments = [self._shipment] if self._shipment else []
        return OrderView(self._order, self._status.value, payment, shipments,
                         list(self._timeline), self._failure)

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
            receipt = await self._step(PaymentActivities.refund_payment, self._payment_input(
                f"refund-{self._refund_count}", request.amount, request.reason))
        except _Stop as stop:
            # A refund the gateway refuses fails this request, not the order. Raised from a
            # handler, _Stop (not an ApplicationError) would fail the workflow task forever.
            raise ApplicationError(stop.reason, type="RefundRefused", non_retryable=True) from None
        finally:
            self._refund_pending -= request.amount
        self._refunded += receipt.amount
        await self._note("payment.refunded", f"{receipt.amount}: {request.reason}",
                         actor=request.actor)

    def _check_cancel(self) -> None:
        if self._cancel is not None:
            raise _Stop(S.CANCELLED, "order.cancelled", self._cancel.reason, self._cancel.actor)

    async def _await_warehouse(self, done: Callable[[], bool]) -> str:
        """Waits for the warehouse's confirmation, or confirms as the simulated warehouse."""
        auto = self._input.timings.warehouse_autoconfirm_s
        finished = await self._wait(lambda: done() or self._cancel is not None,
                                    None if auto is None else timedelta(seconds=auto))
        self._check_cancel()
        return "" if finished else WAREHOUSE_SIM

    async def _apply_tracking(self, updates: list[TrackingUpdate], actor: str) -> None:
        for update in updates:
            seen = (update.code, update.at.isoformat())
            if seen in self._tracking_seen:
                continue
            self._tracking_seen.add(seen)
            detail = " ".join(part for part in (update.location, update.description) if part)
            await self._note(f"carrier.{update.code}", detail, actor=actor, at=update.at)
            # Delivered is final: a poll sent before a pushed "delivered" may answer after it,
            # and its older scans must not move the parcel back.
            if self._shipment is not None and not self._delivered:
                self._shipment = ShipmentView(self._shipment.carrier,
                                              self._shipment.tracking_number,
                                              self._shipment.label_url, update.code)
            if update.code == "delivered":
                self._delivered = True

    async def _step(self, activity, arg):  # type: ignore[no-untyped-def]
        """Runs a business step; a business refusal or exhausted retries stop the order."""
        try:
            return await workflow.execute_activity_method(
                activity, arg, start_to_close_timeout=STEP_TIMEOUT, retry_policy=STEP_RETRY)
        except ActivityError as error:
            raise self._stop_for(error) from error

    async def _until_done(self, activity, arg):  # type: ignore[no-untyped-def]
        return await workflow.execute_activity_method(
            activity, arg, start_to_close_timeout=STEP_TIMEOUT, retry_policy=UNTIL_DONE)

    def _stop_for(self, error: ActivityError) -> _Stop:
        cause = error.cause
        if isinstance(cause, ApplicationError) and cause.type == PAYMENT_DECLINED:
            return _Stop(S.PAYMENT_FAILED, "payment.failed", cause.message)
        message = cause.message if isinstance(cause, ApplicationError) else str(cause)
        return _Stop(S.FAILED, "order.failed", message)

    async def _wait(self, condition: Callable[[], bool], timeout: timedelta | None) -> bool:
        try:
            await workflow.wait_condition(condition, timeout=timeout)
        except TimeoutError:
            return False
        return True

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
                    at=None) -> None:  # type: ignore[no-untyped-def]
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
