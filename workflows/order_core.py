"""The state every part of OrderWorkflow shares, its queries, and the small helpers each step
uses to record what happened. The steps themselves live in order_workflow.py (payment, stock,
compensation), fulfilment.py (parcels to the door) and aftercare.py (returns, survey)."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.attention import (
        AttentionActivities,
        AttentionInput,
        ResolveAttentionInput,
    )
    from activities.payments.activities import PaymentActivities, PaymentInput
    from activities.records import RecordActivities, RecordEventInput, RecordEventsInput
    from domain.allocation import Allocation
    from domain.money import Money
    from domain.refunds import refund_refusal
    from domain.status import TERMINAL, OrderStatus, can_move, progress_rank
    from workflows.order_contract import (
        NEEDS_ATTENTION,
        ORDER_STATUS,
        BackorderView,
        CancelRequest,
        OrderInput,
        OrderView,
        PaymentView,
        RetryRequest,
        SurveyView,
        TimelineEvent,
    )
    from workflows.steps import RECORD_TIMEOUT, UNTIL_DONE, Stop, business_step, until_done

from workflows.returns import ReturnRun
from workflows.shipments import ShipmentRun

S = OrderStatus

# workflow.patched() id: the timeline and the order's other records are written by regular
# activities, once the workflow task that produced them has completed.
BOOKKEEPING_AS_ACTIVITIES = "bookkeeping-as-activities"


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
        self._attention: list[str] = []  # what failed beyond retry: a person must look
        self._unresolved: list[str] = []  # the step of each flag not yet resolved
        self._waiting: list[str] = []  # steps waiting for support's retry
        self._retries_asked = 0  # support's requests to run a failed step again
        self._retry_actor = "support"
        # Set in `run`: histories from before it wrote the timeline with local activities.
        self._bookkeeping_as_activities = False
        self._unrecorded: list[RecordEventInput] = []  # noted, not yet handed to a writer
        self._batch_open = False  # a writer is about to take the events noted so far
        self._writers = 0  # batches being written
        self._row_written = False  # events wait for the order's row, which they refer to

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
                         list(self._sla_breaches), list(self._attention),
                         list(self._waiting))

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
        record = RecordEventInput(self._order.order_id, event.seq, event.at, event.status, kind,
                                  detail, actor, workflow.info().get_current_history_length())
        if self._bookkeeping_as_activities:
            # Not awaited: the order goes on while a regular activity writes the batch, and
            # the workflow's end waits until the whole timeline is written.
            self._unrecorded.append(record)
            self._start_writer()
        else:
            await self._record(record, locally=True)

    def _start_writer(self) -> None:
        if self._row_written and self._unrecorded and not self._batch_open:
            self._batch_open = True
            self._writers += 1
            asyncio.create_task(self._write_batch())

    async def _write_batch(self) -> None:
        """Writes the events noted so far in this workflow task with one regular activity,
        scheduled in this same task.

        Regular activities, not local ones: a regular activity starts only once the workflow
        task that noted its events has completed, so the database and the customer's messages
        never hold an event the history does not, and no local-activity marker shares a task
        with an update or a patch marker (both seen to break replay after a worker was
        killed mid-task). Scheduled in the task that noted them, even while an earlier batch
        is still being written: a task that issues no command replays with a later
        `workflow.now()`, and its events' times would then differ from the ones written.
        Batches may commit in any order; the repository keeps each order's timeline and
        status by sequence number."""
        batch, self._unrecorded, self._batch_open = self._unrecorded, [], False
        try:
            await until_done(RecordActivities.record_events, RecordEventsInput(batch),
                             raise_permanent=True)
        except ActivityError:
            # One event in the batch cannot be written: each alone, flagging that one.
            for record in batch:
                await self._record(record, locally=False)
        finally:
            self._writers -= 1

    async def _timeline_written(self) -> None:
        """Waits until every noted event is in the database."""
        await workflow.wait_condition(lambda: self._writers == 0)

    async def _record(self, record: RecordEventInput, *, locally: bool) -> None:
        """Writes the event; a failure no retry can fix flags the order, which goes on."""
        try:
            if locally:
                # Histories from before bookkeeping-as-activities: a local activity commits
                # before its workflow task completes; a killed worker's task is retried on the
                # history without it, and `task` lets the path finally taken supersede it.
                await workflow.execute_local_activity_method(
                    RecordActivities.record_event, record,
                    start_to_close_timeout=RECORD_TIMEOUT, retry_policy=UNTIL_DONE)
            else:
                await until_done(RecordActivities.record_event, record, raise_permanent=True)
        except (ActivityError, ApplicationError) as error:
            # The event is written escaped with the flag.
            await self._flag_attention("record_event", error, unwritten=record)

    # -- attention: a step failed beyond any retry -----------------------------------------

    async def _flag_attention(self, step: str, error: Exception,
                              unwritten: RecordEventInput | None = None) -> str:
        """Marks the order as needing a person (view, search attribute, order row, timeline)
        and returns what failed; `unwritten` is a timeline event whose own write failed."""
        detail = f"{step} failed ({_error_type(error)}): {_error_message(error)}"
        self._attention.append(detail)
        self._unresolved.append(step)
        workflow.upsert_search_attributes([NEEDS_ATTENTION.value_set(True)])
        event = TimelineEvent(len(self._timeline) + 1, workflow.now(), self._status.value,
                              "attention.needed", detail)
        self._timeline.append(event)
        workflow.logger.error("order.attention_needed", extra={
            "order_id": self._order.order_id, "step": step})
        try:
            # Writes everything escaped and bounded: what broke `step` cannot break this.
            await self._bookkeep(AttentionActivities.flag_attention, AttentionInput(
                self._order.order_id, workflow.info().workflow_id, event.seq, event.at,
                event.status, step, _error_type(error), detail, unwritten))
        except (ActivityError, ApplicationError):
            # The search attribute and the view still show it.
            workflow.logger.error("order.attention_not_recorded", extra={
                "order_id": self._order.order_id, "step": step})
        return detail

    async def _bookkeep(self, activity: Any, arg: Any) -> Any:
        """Runs a piece of bookkeeping until done or failed beyond any retry (raised): a
        regular activity, or a local one in histories from before that change."""
        if self._bookkeeping_as_activities:
            return await until_done(activity, arg, raise_permanent=True)
        return await workflow.execute_local_activity_method(
            activity, arg, start_to_close_timeout=RECORD_TIMEOUT, retry_policy=UNTIL_DONE)

    async def _record_aside(self, activity: Any, arg: Any) -> None:
        """Runs a piece of bookkeeping; one that fails beyond any retry flags the order,
        which goes on without it."""
        try:
            await self._bookkeep(activity, arg)
        except (ActivityError, ApplicationError) as error:
            await self._flag_attention(activity.__name__, error)

    async def await_support(self, step: str, error: ActivityError) -> None:
        """Flags the order, then waits until support asks to run `step` again; a cancel
        accepted meanwhile stops the forward path (the order is then unwound)."""
        # Waiting from the flag on: a retry asked while the flag is written is not lost.
        asked = self._retries_asked
        self._waiting.append(step)
        try:
            await self._flag_attention(step, error)
            await workflow.wait_condition(lambda: self._retries_asked > asked or (
                self._cancel is not None and not self._unwinding))
        finally:
            self._waiting.remove(step)
        if self._retries_asked == asked:
            self._check_cancel()

    def _ask_retry(self, request: RetryRequest) -> None:
        self._retries_asked += 1
        self._retry_actor = request.actor

    async def support_retry_worked(self, step: str) -> None:
        """The step support asked to run again went through: its flags are resolved, and
        the order stops needing attention once none is left."""
        self._unresolved = [s for s in self._unresolved if s != step]
        actor = self._retry_actor
        await self._note("attention.resolved", f"{step} went through on retry", actor=actor)
        if not self._unresolved:
            workflow.upsert_search_attributes([NEEDS_ATTENTION.value_set(False)])
        await self._record_aside(AttentionActivities.resolve_attention, ResolveAttentionInput(
            self._order.order_id, step, actor, workflow.now()))


def _error_type(error: Exception) -> str:
    cause = _cause(error)
    return cause.type if isinstance(cause, ApplicationError) and cause.type else type(
        cause).__name__


def _error_message(error: Exception) -> str:
    cause = _cause(error)
    return cause.message if isinstance(cause, ApplicationError) else str(cause)


def _cause(error: Exception) -> BaseException:
    """What the activity raised: a regular activity's failure comes wrapped in an
    ActivityError, a local activity's non-retryable one as it was raised."""
    return (error.cause or error) if isinstance(error, ActivityError) else error
