"""Order services for the storefront and support: place, look up, cancel, refund.

The storefront starts the workflow and nothing else; the workflow writes the order to the
database itself, so no crash can leave a row without a workflow or the reverse."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

import structlog
from temporalio.client import (
    Client,
    WorkflowExecutionStatus,
    WorkflowHandle,
)
from temporalio.common import SearchAttributePair, TypedSearchAttributes, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from activities.db.catalogue_repository import CatalogueRepository
from activities.db.engine import SessionFactory
from activities.db.order_repository import OrderRepository
from activities.db.tables import OrderRow
from api.asks import ask
from api.checkout import parse_checkout
from domain.catalogue import price_order
from domain.errors import ActionRefused, DomainError
from domain.money import Money
from domain.order import CheckoutRequest, PricedOrder
from domain.text_rules import MAX_ACTOR, MAX_REASON, checked_text
from workflows.order_contract import (
    CANCEL,
    CARRIER,
    CUSTOMER_ID,
    FINGERPRINT_MEMO,
    ORDER_STATUS,
    ORDER_TOTAL,
    REFUND,
    RETRY,
    CancelRequest,
    OrderInput,
    OrderTimings,
    OrderView,
    RefundRequest,
    RetryRequest,
    WarehouseConfirmation,
    order_workflow_id,
)
from workflows.order_workflow import OrderWorkflow

ConfirmSignal = Callable[[OrderWorkflow, WarehouseConfirmation], Awaitable[None]]

log = structlog.get_logger(__name__)


class DuplicateOrder(ActionRefused):
    """The order id is taken by an order with a different body."""


class OrderNotFound(DomainError):
    """No order with that id."""


@dataclass(frozen=True)
class PlacedOrder:
    order: PricedOrder
    workflow_id: str
    created: bool  # False when the same checkout was placed before
    handle: WorkflowHandle[Any, Any]


def fingerprint(request: CheckoutRequest) -> str:
    canonical = json.dumps(asdict(request), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


class OrderService:
    def __init__(self, client: Client, session_factory: SessionFactory, task_queue: str,
                 timings: OrderTimings) -> None:
        self.client = client
        self.session_factory = session_factory
        self.task_queue = task_queue
        self.timings = timings

    async def place(self, raw: str | bytes | dict) -> PlacedOrder:
        """Validates and prices a checkout, then starts its workflow exactly once."""
        request = parse_checkout(raw)
        async with self.session_factory() as session:
            catalogue = await CatalogueRepository(session).load()
        order = price_order(request, catalogue)
        workflow_id = order_workflow_id(order.order_id)
        digest = fingerprint(request)
        try:
            handle = await self.client.start_workflow(
                OrderWorkflow.run, OrderInput(order, self.timings), id=workflow_id,
                task_queue=self.task_queue, id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                memo={FINGERPRINT_MEMO: digest}, search_attributes=_search_attributes(order),
                static_summary=f"{order.customer.name}: {order.totals.grand_total}")
        except WorkflowAlreadyStartedError:
            await self._check_same_checkout(workflow_id, digest)
            log.info("order.placed_again", order_id=order.order_id)
            existing = self.client.get_workflow_handle(workflow_id)
            return PlacedOrder(order, workflow_id, created=False, handle=existing)
        log.info("order.placed", order_id=order.order_id, total=order.totals.grand_total.amount)
        return PlacedOrder(order, workflow_id, created=True, handle=handle)

    async def _check_same_checkout(self, workflow_id: str, digest: str) -> None:
        description = await self.client.get_workflow_handle(workflow_id).describe()
        if await description.memo_value(FINGERPRINT_MEMO, default=None) != digest:
            raise DuplicateOrder(
                f"order id {workflow_id.removeprefix('order-')!r} was already placed "
                "with a different body")

    async def view(self, order_id: str) -> OrderView:
        """The order as its workflow sees it now, without touching the database."""
        handle = await self._handle(order_id)
        return await handle.query(OrderWorkflow.view)

    async def cancel(self, order_id: str, reason: str, actor: str = "support") -> OrderView:
        reason, actor = checked_reason(reason), checked_actor(actor)
        handle = await self._handle(order_id, running=True)
        return await ask(handle, CANCEL, CancelRequest(reason, actor))

    async def retry(self, order_id: str, actor: str = "support") -> OrderView:
        """Runs again the step that waits for support, once its cause is fixed; refused when
        none waits. Answers at once: the outcome shows on the timeline."""
        actor = checked_actor(actor)
        handle = await self._handle(order_id, running=True)
        return await ask(handle, RETRY, RetryRequest(actor))

    async def refund(self, order_id: str, amount: str, reason: str,
                     actor: str = "support") -> OrderView:
        reason, actor = checked_reason(reason), checked_actor(actor)
        handle = await self._handle(order_id, running=True)
        view = await handle.query(OrderWorkflow.view)
        money = Money.parse(amount, view.order.currency)
        return await ask(handle, REFUND, RefundRequest(money, reason, actor))

    async def list(self, status: str | None = None, customer_id: str | None = None,
                   limit: int = 50, *, order_id: str | None = None, email: str | None = None,
                   placed_from: datetime | None = None, placed_to: datetime | None = None,
                   after: tuple[datetime, str] | None = None) -> list[OrderRow]:
        """Orders from the database record matching every filter given, newest first."""
        async with self.session_factory() as session:
            return await OrderRepository(session).search(
                status=status, customer_id=customer_id, order_id=order_id, email=email,
                placed_from=placed_from, placed_to=placed_to, after=after, limit=limit)

    async def confirm_pick(self, order_id: str, actor: str, warehouse: str = "") -> None:
        """Tells a running order the warehouse picked it (`warehouse`: which parcel)."""
        await self._confirm(OrderWorkflow.confirm_pick, order_id, actor, warehouse)

    async def confirm_pack(self, order_id: str, actor: str, warehouse: str = "") -> None:
        """Tells a running order the warehouse packed it (`warehouse`: which parcel)."""
        await self._confirm(OrderWorkflow.confirm_pack, order_id, actor, warehouse)

    async def _confirm(self, signal: ConfirmSignal, order_id: str, actor: str,
                       warehouse: str) -> None:
        # A signal, not an update: the workflow notes a confirmation its state refuses on
        # the timeline, and the warehouse's scanner need not wait for it.
        handle = await self._handle(order_id, running=True)
        await handle.signal(signal, WarehouseConfirmation(actor, warehouse))
        log.info("order.warehouse_confirmation_sent", order_id=order_id,
                 step=signal.__name__, actor=actor, warehouse=warehouse)

    async def running_handle(self, order_id: str) -> WorkflowHandle:
        """The order's workflow, refused (ActionRefused) when it no longer runs."""
        return await self._handle(order_id, running=True)

    async def _handle(self, order_id: str, *, running: bool = False) -> WorkflowHandle:
        handle = self.client.get_workflow_handle(order_workflow_id(order_id))
        try:
            description = await handle.describe()
        except RPCError as error:
            if error.status == RPCStatusCode.NOT_FOUND:
                raise OrderNotFound(f"no order {order_id!r}") from None
            raise
        if description.status not in (WorkflowExecutionStatus.RUNNING,
                                      WorkflowExecutionStatus.COMPLETED):
            state = description.status.name if description.status else "unknown"
            raise ActionRefused(f"order {order_id!r} workflow is {state}")
        if running and description.status != WorkflowExecutionStatus.RUNNING:
            # A closed workflow still answers queries but accepts no updates: the server
            # would answer with a bare "not found" RPC error.
            status = description.typed_search_attributes.get(ORDER_STATUS)
            raise ActionRefused(f"order {order_id!r} is already {status}: it can no longer change")
        return handle


def checked_reason(reason: str) -> str:
    """Why support acts: one line, not blank, storable; InvalidRequest otherwise."""
    return checked_text("reason", reason, max_length=MAX_REASON, required=True)


def checked_actor(actor: str) -> str:
    """Who acts, as the timeline records it; InvalidRequest when it could not be stored."""
    return checked_text("actor", actor, max_length=MAX_ACTOR, required=True)


def _search_attributes(order: PricedOrder) -> TypedSearchAttributes:
    return TypedSearchAttributes([
        SearchAttributePair(ORDER_STATUS, "PLACED"),
        SearchAttributePair(CUSTOMER_ID, order.customer.id),
        SearchAttributePair(ORDER_TOTAL, order.totals.grand_total.amount),
        SearchAttributePair(CARRIER, order.carrier),
    ])


