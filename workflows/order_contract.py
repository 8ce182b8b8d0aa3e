"""What the outside world needs to talk to an order's workflow: its id, input, the
messages it accepts and the views it answers with."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Generic, TypeVar

from temporalio.common import SearchAttributeKey

from domain.money import Money
from domain.order import PricedOrder
from domain.returns import ReturnLine

DEFAULT_TASK_QUEUE = "orders"
WORKFLOW_ID_PREFIX = "order-"

ORDER_STATUS = SearchAttributeKey.for_keyword("OrderStatus")
CUSTOMER_ID = SearchAttributeKey.for_keyword("CustomerId")
ORDER_TOTAL = SearchAttributeKey.for_int("OrderTotal")
CARRIER = SearchAttributeKey.for_keyword("Carrier")
# Set once the order broke its shipping method's promise: `ShippingLate = true` in the UI.
SHIPPING_LATE = SearchAttributeKey.for_bool("ShippingLate")
# Set once a step failed beyond any retry and a person must look: `NeedsAttention = true`.
NEEDS_ATTENTION = SearchAttributeKey.for_bool("NeedsAttention")
SEARCH_ATTRIBUTES = (ORDER_STATUS, CUSTOMER_ID, ORDER_TOTAL, CARRIER, SHIPPING_LATE,
                     NEEDS_ATTENTION)

# Memo key under which the starter stores the checkout fingerprint, so a second placement
# of the same order id can be told apart from a different order reusing the id.
FINGERPRINT_MEMO = "checkout_fingerprint"


def order_workflow_id(order_id: str) -> str:
    return f"{WORKFLOW_ID_PREFIX}{order_id}"


@dataclass(frozen=True)
class OrderTimings:
    """How long the order waits at each human or carrier step, in seconds."""

    return_window_s: int
    warehouse_autoconfirm_s: int | None  # None: wait for the warehouse to confirm picks and packs
    tracking_poll_s: int
    backorder_deadline_s: int = 14 * 86400  # how long a backordered order waits for stock
    allocation_strategy: str = "single-warehouse-first"
    survey_after_s: int = 3 * 86400  # delivery -> satisfaction survey
    survey_open_s: int = 14 * 86400  # how long the survey accepts a rating
    # After the window closes, how long a return whose parcel was never sent stays open.
    return_grace_s: int = 14 * 86400


@dataclass(frozen=True)
class OrderInput:
    order: PricedOrder
    timings: OrderTimings


@dataclass(frozen=True)
class CancelRequest:
    reason: str
    actor: str = "support"


@dataclass(frozen=True)
class RefundRequest:
    amount: Money
    reason: str
    actor: str = "support"


@dataclass(frozen=True)
class RetryRequest:
    """Support fixed what made a step fail beyond retry: run the step again."""

    actor: str = "support"


@dataclass(frozen=True)
class WarehouseConfirmation:
    actor: str = "warehouse"
    warehouse: str = ""  # which parcel, when the order ships from several warehouses


@dataclass(frozen=True)
class CarrierEvent:
    """A tracking event pushed by a carrier (webhook or CLI) instead of polled."""

    code: str
    at: datetime
    location: str = ""
    description: str = ""
    tracking_number: str = ""  # which parcel, when the order ships in several


@dataclass(frozen=True)
class DeliveryDecision:
    """Support's answer to a parcel returned to sender or lost: send it again, or refund."""

    tracking_number: str
    action: str  # reship | refund
    actor: str = "support"


@dataclass(frozen=True)
class ReturnRequest:
    lines: list[ReturnLine]
    reason: str  # a domain.returns.ReturnReason
    comment: str = ""
    resolution: str = "refund"  # refund | exchange
    actor: str = "support"


@dataclass(frozen=True)
class InspectedLine:
    sku: str
    resellable: int = 0
    damaged: int = 0


@dataclass(frozen=True)
class ReturnReceipt:
    """The warehouse opened the returned parcel: what came back, in what condition."""

    rma: str
    lines: list[InspectedLine]
    actor: str = "warehouse"


@dataclass(frozen=True)
class ReturnDecision:
    """Support accepts a return held for review, or rejects a return with the reason."""

    rma: str
    accept: bool
    reason: str = ""
    actor: str = "support"


@dataclass(frozen=True)
class Rating:
    rating: int
    comment: str = ""
    actor: str = "customer"


@dataclass(frozen=True)
class TimelineEvent:
    seq: int
    at: datetime
    status: str
    kind: str
    detail: str = ""
    actor: str = "system"


@dataclass(frozen=True)
class PaymentView:
    method: str
    authorization: str
    authorized: Money
    captured: Money
    refunded: Money


@dataclass(frozen=True)
class ShipmentLine:
    sku: str
    quantity: int


@dataclass(frozen=True)
class ShipmentView:
    carrier: str
    tracking_number: str
    label_url: str
    status: str
    warehouse: str = ""
    lines: list[ShipmentLine] = field(default_factory=list)
    purpose: str = "outbound"  # outbound | replacement
    awaiting_decision: bool = False  # returned to sender or lost: support decides
    claim: str = ""  # the claim filed against the carrier for a lost parcel


@dataclass(frozen=True)
class ReturnView:
    rma: str
    reason: str
    comment: str
    resolution: str
    lines: list[ReturnLine]
    reception: str
    acceptance: str
    rejection_reason: str = ""
    carrier: str = ""
    tracking_number: str = ""
    label_url: str = ""
    refunded: Money | None = None


@dataclass(frozen=True)
class SurveyView:
    status: str  # open | answered | expired
    sent_at: datetime
    expires_at: datetime
    rating: int | None = None
    comment: str = ""


@dataclass
class OrderView:
    """Everything "where is my order?" needs, answered by the workflow itself."""

    order: PricedOrder
    status: str
    payment: PaymentView
    shipments: list[ShipmentView] = field(default_factory=list)
    timeline: list[TimelineEvent] = field(default_factory=list)
    failure: str = ""
    backorders: list[BackorderView] = field(default_factory=list)
    returns: list[ReturnView] = field(default_factory=list)
    survey: SurveyView | None = None
    sla_breaches: list[str] = field(default_factory=list)  # ship | delivery
    # What failed beyond any retry, oldest first, resolved or not (the timeline says which).
    attention: list[str] = field(default_factory=list)
    # Steps waiting for support to fix the cause and ask for them to run again.
    waiting_for_support: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class BackorderView:
    sku: str
    quantity: int
    expected_at: datetime | None = None


@dataclass(frozen=True)
class OrderResult:
    order_id: str
    status: str
    failure: str = ""


# Support's requests travel as one signal, answered through two queries (see workflows/asks.py
# for why not updates): ASK_SIGNAL(request_id, name, argument), ANSWER_QUERY(request_id) ->
# Answer, RESULT_QUERY(request_id) -> what the request's handler returned.
ASK_SIGNAL = "ask"
ANSWER_QUERY = "answer"
RESULT_QUERY = "answer_result"

A = TypeVar("A")
R = TypeVar("R")


@dataclass(frozen=True)
class SupportRequest(Generic[A, R]):
    """One request support can ask an order for: its name (that of the update doing the same),
    what it takes and what it answers with; callers and the workflow share these, never a
    bare name."""
    name: str
    argument: type[A]
    answer: type[R]


CANCEL = SupportRequest("request_cancel", CancelRequest, OrderView)
REFUND = SupportRequest("request_refund", RefundRequest, OrderView)
RETRY = SupportRequest("request_retry", RetryRequest, OrderView)
OPEN_RETURN = SupportRequest("request_return", ReturnRequest, ReturnView)
RECEIVE_RETURN = SupportRequest("receive_return", ReturnReceipt, ReturnView)
DECIDE_RETURN = SupportRequest("decide_return", ReturnDecision, ReturnView)
RESOLVE_DELIVERY = SupportRequest("resolve_delivery", DeliveryDecision, OrderView)
RATE = SupportRequest("rate", Rating, SurveyView)


# An Answer's states: its signal not handled yet, being handled, done, refused with a reason.
UNSEEN, WORKING, DONE, REFUSED = "unseen", "working", "done", "refused"


@dataclass(frozen=True)
class Answer:
    """How the order answered one request."""
    state: str
    reason: str = ""

    @property
    def settled(self) -> bool:
        return self.state in (DONE, REFUSED)
