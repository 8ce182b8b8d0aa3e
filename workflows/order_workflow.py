"""OrderWorkflow: one order from checkout to the end of its return window. This file holds
the story, payment, stock and compensation; the parcels are in fulfilment.py and what follows
delivery in aftercare.py."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RawValue
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.backorders import (
        BackorderActivities,
        BackorderInput,
        BackorderRef,
        BackorderState,
    )
    from activities.payments.activities import AuthorizeInput, PaymentActivities
    from activities.records import RecordActivities, RecordOrderInput
    from activities.stock import ReserveInput, SettleInput, StockActivities, StockLine
    from domain.order import value_of
    from domain.status import TERMINAL, OrderStatus, cancel_refusal
    from workflows.order_contract import (
        ANSWER_QUERY,
        ASK_SIGNAL,
        CANCEL,
        CARRIER,
        CUSTOMER_ID,
        DECIDE_RETURN,
        OPEN_RETURN,
        ORDER_STATUS,
        ORDER_TOTAL,
        RATE,
        RECEIVE_RETURN,
        REFUND,
        RESOLVE_DELIVERY,
        RESULT_QUERY,
        RETRY,
        UNSEEN,
        Answer,
        BackorderView,
        CancelRequest,
        OrderInput,
        OrderResult,
        OrderView,
        RefundRequest,
        RetryRequest,
    )
    from workflows.steps import (
        Stop,
        business_step,
        until_done,
        wait_until,
    )

from workflows.aftercare import OrderAftercare
from workflows.asks import Askable, Asks
from workflows.order_core import BOOKKEEPING_AS_ACTIVITIES

S = OrderStatus

# workflow.patched() ids: each guards a change to the commands the workflow issues.
RELEASE_BACKORDER_FILLS = "release-backorder-fills-on-unwind"
SHIPPING_SLA = "shipping-sla"


@workflow.defn
class OrderWorkflow(OrderAftercare):
    """Takes one order through payment, stock, warehouses, carriers and return window."""

    @workflow.init
    def __init__(self, input: OrderInput) -> None:
        super().__init__(input)
        self._asks = Asks()

    @workflow.run
    async def run(self, input: OrderInput) -> OrderResult:
        # First, before any command: a patch marker after local-activity markers in one
        # workflow task is what broke replay in older histories.
        self._bookkeeping_as_activities = workflow.patched(BOOKKEEPING_AS_ACTIVITIES)
        if not await self._open():
            await self._timeline_written()
            return OrderResult(self._order.order_id, self._status.value, self._failure)
        if workflow.patched(SHIPPING_SLA):
            self._sla_watch = asyncio.create_task(self._watch_sla())
        try:
            await self._authorize_payment()
            await self._reserve_stock()
            await self._capture_payment()
            await self._fulfil()
        except Stop as stop:
            await self._unwind(stop)
        else:
            if self._status == S.DELIVERED:
                await self._return_window()
            await self._move(S.COMPLETED, "order.completed")
        await workflow.wait_condition(workflow.all_handlers_finished)
        await self._timeline_written()
        return OrderResult(self._order.order_id, self._status.value, self._failure)

    # -- the story, step by step -------------------------------------------------------

    async def _open(self) -> bool:
        """Records the order; False when its row can never be written and it failed."""
        workflow.upsert_search_attributes([
            ORDER_STATUS.value_set(S.PLACED.value),
            CUSTOMER_ID.value_set(self._order.customer.id),
            ORDER_TOTAL.value_set(self._order.totals.grand_total.amount),
            CARRIER.value_set(self._order.carrier),
        ])
        if self._bookkeeping_as_activities:
            # On the timeline at once, for the storefront's first look; written after the row.
            await self._note_placed()
        try:
            await self._bookkeep(RecordActivities.record_order, RecordOrderInput(
                self._order, workflow.info().workflow_id, workflow.now()))
        except (ActivityError, ApplicationError) as error:
            await self._fail_unrecorded(error)
            return False
        if self._bookkeeping_as_activities:
            self._row_written = True
            self._start_writer()
        else:
            await self._note_placed()
        return True

    async def _note_placed(self) -> None:
        await self._note("order.placed", f"total {self._order.totals.grand_total}",
                         actor="storefront")

    async def _fail_unrecorded(self, error: Exception) -> None:
        """No order runs without its database row: this one fails before any money moves,
        flagged for attention. With no row, there is no timeline to write to."""
        self._unrecorded.clear()
        self._status = S.FAILED
        workflow.upsert_search_attributes([ORDER_STATUS.value_set(S.FAILED.value)])
        self._failure = await self._flag_attention("record_order", error)

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
            await self._refund_money(request.amount, request.reason, request.actor)
        except (ApplicationError, ActivityError) as error:
            await self._note("refund.refused", str(error.message), actor=request.actor)

    @workflow.update(name="request_refund")
    async def refund_update(self, request: RefundRequest) -> OrderView:
        await self._refund_money(request.amount, request.reason, request.actor)
        return self.view()

    @refund_update.validator
    def _validate_refund(self, request: RefundRequest) -> None:
        refusal = self._refund_refusal(request.amount)
        if refusal:
            raise ValueError(refusal)

    @workflow.signal(name="backorder_filled")
    def backorder_filled(self) -> None:
        self._backorder_filled = True

    @workflow.signal(name="retry_failed_step")
    def retry_signal(self, request: RetryRequest) -> None:
        """Support fixed what a flagged step failed on: the waiting step runs again."""
        self._ask_retry(request)

    @workflow.update(name="request_retry")
    def retry_update(self, request: RetryRequest) -> OrderView:
        """As the signal, but refused when no step waits; answers at once (the step's
        outcome shows on the timeline)."""
        self._ask_retry(request)
        return self.view()

    @retry_update.validator
    def _validate_retry(self, request: RetryRequest) -> None:
        if not self._waiting:
            raise ValueError("no step of this order is waiting for a retry")

    # -- support's requests, answered through queries (workflows/asks.py) ---------------

    @workflow.signal(name=ASK_SIGNAL)
    async def ask(self, request_id: str, name: str, argument: RawValue) -> None:
        await self._asks.run(request_id, self._askable(name), argument)

    @workflow.query(name=ANSWER_QUERY)
    def answer(self, request_id: str) -> Answer:
        return self._asks.answers.get(request_id, Answer(UNSEEN))

    @workflow.query(name=RESULT_QUERY)
    def answer_result(self, request_id: str) -> Any:
        return self._asks.results.get(request_id)

    def _askable(self, name: str) -> Askable | None:
        return {request.name: Askable(request.argument, validate, handle)
                for request, validate, handle in (
                    (CANCEL, self._validate_cancel, self.cancel_update),
                    (REFUND, self._validate_refund, self.refund_update),
                    (RETRY, self._validate_retry, self.retry_update),
                    (OPEN_RETURN, self._validate_return, self.request_return),
                    (RECEIVE_RETURN, self._validate_receipt, self.receive_return),
                    (DECIDE_RETURN, self._validate_decision, self.decide_return),
                    (RESOLVE_DELIVERY, self._validate_resolve_delivery, self.resolve_delivery),
                    (RATE, self._validate_rating, self.rate))}.get(name)

    # -- helpers -----------------------------------------------------------------------

    def _cancel_refusal(self) -> str | None:
        if self._unwinding and self._status not in TERMINAL:
            return "the order is already being cancelled"
        return cancel_refusal(self._status)

    def _backorder_ref(self) -> BackorderRef:
        return BackorderRef(self._order.order_id, self._key("reserve"))
