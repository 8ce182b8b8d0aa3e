"""Plays one planned order through a chaos run: places it, lets support act on it, and
waits until its workflow has closed, retrying every call that the chaos interrupts."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import structlog
from sqlalchemy.exc import DBAPIError
from temporalio.client import (
    WorkflowExecutionStatus,
    WorkflowQueryFailedError,
)
from temporalio.service import RPCError

from api.asks import ask
from api.orders import OrderService
from domain.errors import ActionRefused
from domain.money import Money
from domain.returns import ReturnLine
from domain.status import TERMINAL, OrderStatus, progress_rank
from workers.chaos.scenarios import REFUND_MINOR, RETURNED_SKU, PlannedOrder
from workflows.order_contract import (
    CANCEL,
    OPEN_RETURN,
    RECEIVE_RETURN,
    REFUND,
    CancelRequest,
    InspectedLine,
    OrderView,
    RefundRequest,
    ReturnReceipt,
    ReturnRequest,
    SupportRequest,
    order_workflow_id,
)

log = structlog.get_logger(__name__)
T = TypeVar("T")
A = TypeVar("A")
RETRY_PAUSE_S = 0.5
POLL_S = 0.5
# What a restarting server, database or worker makes a call fail with for a while.
# A query can fail once on a worker whose cached copy of the order the SDK replays differently
# (seen once in 500 orders); the order itself went on, and the checks judge it.
TRANSIENT = (RPCError, DBAPIError, OSError, TimeoutError, WorkflowQueryFailedError)
CALL_TIMEOUT_S = 15.0
# Where support acts: the first status from which it may.
ACT_AT = {"cancel": "PICKING", "cancel_early": "PLACED", "refund": "PAYMENT_CAPTURED",
          "return": "DELIVERED"}


@dataclass
class Outcome:
    """How one order ended, as far as the run could tell."""

    planned: PlannedOrder
    workflow_status: str = "NOT_STARTED"  # the Temporal execution status name
    view: OrderView | None = None
    seconds: float = 0.0
    actions: list[str] | None = None  # what support did, or was refused
    error: str = ""

    @property
    def status(self) -> str:
        return self.view.status if self.view else "-"


NOT_DELIVERED_YET = "returns open once it is delivered"


class Deadline:
    """A point on the monotonic clock after which the run stops waiting."""

    def __init__(self, at: float) -> None:
        self.at = at

    def left(self) -> float:
        return self.at - time.monotonic()


async def persist(call: Callable[[], Awaitable[T]], deadline: Deadline, what: str) -> T:
    """Repeats `call` through transient failures until it answers or the deadline passes."""
    while True:
        try:
            return await asyncio.wait_for(call(), CALL_TIMEOUT_S)
        except TRANSIENT as error:
            if deadline.left() <= 0:
                raise TimeoutError(f"{what}: still failing at the deadline ({error!r})") from error
            log.debug("chaos.call_retried", what=what, error=repr(error))
            await asyncio.sleep(RETRY_PAUSE_S)


class OrderPlayer:
    """Drives planned orders against one Temporal client and database."""

    def __init__(self, orders: OrderService) -> None:
        self.orders = orders

    def _service(self, planned: PlannedOrder) -> OrderService:
        return replace_timings(self.orders, planned)

    async def play(self, planned: PlannedOrder, deadline: Deadline) -> Outcome:
        outcome, started = Outcome(planned, actions=[]), time.monotonic()
        orders = self._service(planned)
        try:
            await persist(lambda: orders.place(planned.checkout()), deadline, "place")
            outcome.workflow_status = "RUNNING"
            if planned.scenario.action:
                await self._act(orders, planned, deadline, outcome)
            outcome.workflow_status = await self._closed(planned, deadline)
            outcome.view = await persist(lambda: orders.view(planned.order_id), deadline, "view")
        except Exception as error:  # noqa: BLE001 - the report says what went wrong, per order
            outcome.error = f"{type(error).__name__}: {error}"
            log.warning("chaos.order_failed", order_id=planned.order_id, error=outcome.error)
        outcome.seconds = time.monotonic() - started
        return outcome

    async def _act(self, orders: OrderService, planned: PlannedOrder, deadline: Deadline,
                   outcome: Outcome) -> None:
        action = planned.scenario.action
        view = await self._wait_for(orders, planned.order_id, ACT_AT[action], deadline)
        if OrderStatus(view.status) in TERMINAL:
            outcome.actions = [f"{action}: order already {view.status}"]
            return
        try:
            if action in ("cancel", "cancel_early"):
                await self._ask(planned, CANCEL, CancelRequest(
                    "chaos: customer changed their mind", "chaos-support"), deadline)
            elif action == "refund":
                await self._ask(planned, REFUND, RefundRequest(
                    Money(REFUND_MINOR, "EUR"), "chaos: goodwill", "chaos-support"), deadline)
            else:
                await self._return(orders, planned, deadline)
            outcome.actions = [action]
        except ActionRefused as refused:
            outcome.actions = [f"{action} refused: {refused}"]

    async def _ask(self, planned: PlannedOrder, request: SupportRequest[A, Any], argument: A,
                   deadline: Deadline) -> None:
        # A fixed request id: a retry after a lost answer attaches to the first request
        # instead of asking again (a second goodwill refund would be real money, a second
        # return request a second RMA).
        handle = self.orders.client.get_workflow_handle(order_workflow_id(planned.order_id))

        async def call() -> None:
            # An order that ended before taking the request answers with a refusal, which
            # the checks tell apart from a request that was lost.
            await ask(handle, request, argument, request_id=f"chaos-{request.name}")

        await persist(call, deadline, request.name)

    async def _return(self, orders: OrderService, planned: PlannedOrder,
                      deadline: Deadline) -> None:
        request = ReturnRequest([ReturnLine(RETURNED_SKU, 1)], "SIZE_TOO_SMALL",
                                actor="chaos-support")
        while True:
            try:
                await self._ask(planned, OPEN_RETURN, request, deadline)
                break
            except ActionRefused as refused:
                # Seen right after a dev-server restart: the view showed the delivery, and
                # the update was validated before the workflow had applied it again. Support
                # would try again a moment later.
                if NOT_DELIVERED_YET not in str(refused) or deadline.left() <= 0:
                    raise
                await asyncio.sleep(POLL_S)
        view = await persist(lambda: orders.view(planned.order_id), deadline, "view")
        receipt = ReturnReceipt(view.returns[0].rma, [InspectedLine(RETURNED_SKU, resellable=1)],
                                "chaos-goods-in")
        await self._ask(planned, RECEIVE_RETURN, receipt, deadline)

    async def _wait_for(self, orders: OrderService, order_id: str, wanted: str,
                        deadline: Deadline) -> OrderView:
        while True:
            view = await persist(lambda: orders.view(order_id), deadline, "view")
            current = OrderStatus(view.status)
            if current in TERMINAL or progress_rank(current) >= progress_rank(OrderStatus(wanted)):
                return view
            if deadline.left() <= 0:
                raise TimeoutError(f"still {view.status} at the deadline, waiting for {wanted}")
            await asyncio.sleep(POLL_S)

    async def _closed(self, planned: PlannedOrder, deadline: Deadline) -> str:
        handle = self.orders.client.get_workflow_handle(order_workflow_id(planned.order_id))
        while True:
            description = await persist(handle.describe, deadline, "describe")
            status = description.status
            if status is not None and status != WorkflowExecutionStatus.RUNNING:
                return status.name
            if deadline.left() <= 0:
                return "RUNNING"
            await asyncio.sleep(POLL_S)


def replace_timings(orders: OrderService, planned: PlannedOrder) -> OrderService:
    """The same service, starting this order with its scenario's timings."""
    return OrderService(orders.client, orders.session_factory, orders.task_queue,
                        planned.scenario.timings)
