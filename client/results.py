"""What the fulfil API answers, as typed models. Each keeps fields a newer server adds
(`model_extra`), so an older client goes on working."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict


class _Answer(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)


class Money(_Answer):
    amount: int  # minor units (cents for EUR): money is never a float
    currency: str
    display: str = ""


class PlacedOrder(_Answer):
    order_id: str
    workflow_id: str
    status: str
    created: bool  # False when the same order had been placed before (a safe replay)


class Customer(_Answer):
    id: str
    email: str
    name: str


class OrderLine(_Answer):
    sku: str
    name: str
    quantity: int
    unit_price: Money
    total: Money


class Totals(_Answer):
    subtotal: Money
    shipping: Money
    grand_total: Money


class Payments(_Answer):
    method: str
    authorization: str
    authorized: Money
    captured: Money
    refunded: Money


class Shipment(_Answer):
    carrier: str
    tracking_number: str
    label_url: str
    status: str
    warehouse: str = ""


class TimelineEvent(_Answer):
    seq: int
    at: datetime
    status: str
    kind: str
    detail: str = ""
    actor: str = "system"


class Order(_Answer):
    """The order as its workflow sees it now."""

    order_id: str
    status: str
    customer: Customer
    lines: list[OrderLine]
    totals: Totals
    payments: Payments
    shipments: list[Shipment] = []
    timeline: list[TimelineEvent] = []
    failure: str = ""


class OrderSummary(_Answer):
    order_id: str
    status: str
    customer_id: str
    grand_total: Money
    carrier: str
    placed_at: datetime


class OrderPage(_Answer):
    orders: list[OrderSummary]
    next_cursor: str | None = None  # pass as `cursor=` to list the next page


class ReturnLine(_Answer):
    sku: str
    quantity: int
    exchange_sku: str = ""


class ReturnAuthorization(_Answer):
    """An opened return: its RMA, the prepaid label, and where the parcel and the decision
    stand."""

    rma: str
    reason: str
    comment: str = ""
    resolution: str = ""  # refund | exchange
    lines: list[ReturnLine] = []
    reception: str = ""  # awaiting | in_transit | received | lost
    acceptance: str = ""  # pending | accepted | rejected
    rejection_reason: str = ""
    carrier: str = ""
    tracking_number: str = ""
    label_url: str = ""
    refunded: Money | None = None
