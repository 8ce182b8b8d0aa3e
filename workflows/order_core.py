"""The state every part of OrderWorkflow shares, its queries, and the small helpers each step
uses to record what happened. The steps themselves live in order_workflow.py (payment, stock,
compensation), fulfilment.py (parcels to the door) and aftercare.py (returns, survey)."""

from __future__ import annotations

from datetime import datetime

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.payments.activities import PaymentActivities, PaymentInput
    from activities.records import RecordActivities, RecordEventInput
    from domain.allocation import Allocation
    from domain.money import Money
    from domain.refunds import refund_refusal
    from domain.status import TERMINAL, OrderStatus, can_move, progress_rank
    from workflows.order_contract import (
        ORDER_STATUS,
        BackorderView,
        CancelRequest,
        OrderInput,
        OrderView,
        PaymentView,
        SurveyView,
        TimelineEvent,
    )
    from workflows.steps import RECORD_TIMEOUT, UNTIL_DONE, Stop, business_step

from workflows.returns import ReturnRun
from workflows.shipments import ShipmentRun

S = OrderStatus


class OrderCore:
    """What one order knows about itself, and how it records each step."""

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
        self._sla_breaches: list[str] = []
        self._returns: list[ReturnRun] = []
        self._window_open = False
        self._survey: SurveyView | None = None

    # -- queries ---------------------------------------------------------------------------

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
                         list(self._timeline), self._failure, list(self._backorders),
                         [r.view() for r in self._returns], self._survey,
                         list(self._sla_breaches))

    # -- money back ------------------------------------------------------------------------

    def _refund_refusal(self, amount: Money) -> str | None:
        if self._status in TERMINAL or self._unwinding:
            return f"order is {self._status.value}: refunds go through its compensation"
        return refund_refusal(amount, self._captured, self._refunded + self._refund_pending)

    async def _refund_money(self, amount: Money, reason: str, actor: str,
                            step: str = "") -> Money:
        """Refunds `amount` now; a refusal fails this request (not the order) with the reason.
        `step` keys the refund; by default support's refunds are numbered in order."""
        # Validators run before the handler is queued: check again so two refunds racing
        # for the same balance cannot both pass.
        refusal = self._refund_refusal(amount)
        if refusal:
            raise ApplicationError(refusal, type="RefundRefused", non_retryable=True)
        if not step:
            self._refund_count += 1
            step = f"refund-{self._refund_count}"
        self._refund_pending += amount
        try:
            receipt = await business_step(PaymentActivities.refund_payment, self._payment_input(
                step, amount, reason))
        except Stop as stop:
            # Raised from a handler, Stop (not an ApplicationError) would fail the workflow
            # task forever.
            raise ApplicationError(stop.reason, type="RefundRefused", non_retryable=True) from None
        finally:
            self._refund_pending -= amount
        self._refunded += receipt.amount
        await self._note("payment.refunded", f"{receipt.amount}: {reason}", actor=actor)
        return receipt.amount

    # -- recording -------------------------------------------------------------------------

    def _check_cancel(self) -> None:
        if self._cancel is not None:
            raise Stop(S.CANCELLED, "order.cancelled", self._cancel.reason, self._cancel.actor)

    def _check_halt(self) -> None:
        self._check_cancel()
        if self._halt is not None:
            raise self._halt

    def _key(self, step: str) -> str:
        return f"{workflow.info().workflow_id}:{step}"

    def _payment_input(self, step: str, amount: Money, reason: str = "") -> PaymentInput:
        return PaymentInput(self._order.order_id, self._key(step), self._order.payment_method,
                            self._authorization, amount, reason)

    async def _advance(self, status: OrderStatus, reached: bool, kind: str, detail: str,
                       actor: str = "system") -> None:
        """Moves the order forward when `reached`, else notes the parcel's own progress."""
        if reached and progress_rank(status) > progress_rank(self._status):
            await self._move(status, kind, detail, actor)
        else:
            await self._note(kind, detail, actor=actor)

    async def _move(self, status: OrderStatus, kind: str, detail: str = "",
                    actor: str = "system") -> None:
        if not can_move(self._status, status):
            raise ApplicationError(f"illegal move {self._status} -> {status}", non_retryable=True)
        self._status = status
        workflow.upsert_search_attributes([ORDER_STATUS.value_set(status.value)])
        await self._note(kind, detail, actor=actor)

    async def _move_or_note(self, status: OrderStatus, kind: str, detail: str = "",
                            actor: str = "system") -> None:
        """Moves to `status` when that is a legal move from here, else only notes the event:
        with several returns open, the order shows the latest that could be shown."""
        if status != self._status and can_move(self._status, status):
            await self._move(status, kind, detail, actor)
        else:
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
