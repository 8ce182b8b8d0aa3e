"""Which timeline events the customer hears about, and what the message says."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

TRACKING_URL = "https://track.{carrier}.example/{tracking_number}"
SIGNATURE = "Thank you for shopping with us."


@dataclass(frozen=True)
class OrderFacts:
    """What a message may say about the order beyond the event itself."""

    order_id: str
    customer_name: str


@dataclass(frozen=True)
class Message:
    """One customer message: its template code, subject line and plain-text body."""

    template: str
    subject: str
    body: str


Composer = Callable[[str, OrderFacts], "Message | None"]


def message_for(kind: str, detail: str, order: OrderFacts) -> Message | None:
    """The message a timeline event of `kind` sends the customer, or None if it sends none."""
    compose = COMPOSERS.get(kind)
    return compose(detail.strip(), order) if compose else None


def _order_confirmed(detail: str, order: OrderFacts) -> Message:
    amount = f" We have reserved {detail} on your payment method." if detail else ""
    return _message("order_confirmed", f"Order {order.order_id} confirmed", order,
                    f"we have received your order {order.order_id}.{amount} "
                    "We will let you know as soon as it ships.")


def _shipped(detail: str, order: OrderFacts) -> Message | None:
    parts = detail.split()
    # The workflow closes a split order with a handed-over event that names no parcel; the
    # customer already heard about each parcel, so that one sends nothing.
    if len(parts) != 2:
        return None
    carrier, tracking_number = parts
    link = TRACKING_URL.format(carrier=carrier, tracking_number=tracking_number)
    return _message("shipped", f"Order {order.order_id} has shipped", order,
                    f"a parcel of your order {order.order_id} is on its way with {carrier}, "
                    f"tracking number {tracking_number}.\nFollow it here: {link}")


def _delivered(detail: str, order: OrderFacts) -> Message:
    return _message("delivered", f"Order {order.order_id} delivered", order,
                    f"your order {order.order_id} has been delivered. We hope you enjoy it.")


def _return_label(detail: str, order: OrderFacts) -> Message:
    tokens = detail.split()
    urls = [t for t in tokens if t.startswith("https://")]
    label_url = urls[-1] if urls else ""
    words = [t for t in tokens if t != label_url]
    rma = words[0] if words else ""
    reason = " ".join(words[1:]).rstrip(":").strip()
    lines = [f"we have registered your return{f' {rma}' if rma else ''} "
             f"for order {order.order_id}{f' ({reason})' if reason else ''}."]
    if label_url:
        lines.append(f"Print your prepaid return label here: {label_url}")
    lines.append("Please put the label on the parcel and hand it to the carrier.")
    return _message("return_label", f"Your return label for order {order.order_id}", order,
                    "\n".join(lines))


def _refund_issued(detail: str, order: OrderFacts) -> Message:
    amount, _, reason = detail.partition(":")
    amount, reason = amount.strip(), reason.strip()
    what = f"a refund of {amount}" if amount else "a refund"
    why = f" ({reason})" if reason else ""
    return _message("refund_issued", f"Refund for order {order.order_id}", order,
                    f"we have issued {what} for your order {order.order_id}{why}. It goes back "
                    "to the payment method you used and may take a few days to appear.")


def _satisfaction_survey(detail: str, order: OrderFacts) -> Message:
    # The workflow writes "open until <when>"; a bare date reads the same way.
    expiry = detail.removeprefix("open until").strip()
    until = f" The survey is open until {expiry}." if expiry else ""
    return _message("satisfaction_survey", f"How was your order {order.order_id}?", order,
                    f"how did we do with your order {order.order_id}? Rate it from 1 to 5 "
                    f"and tell us what we could do better.{until}")


def _order_cancelled(detail: str, order: OrderFacts) -> Message:
    why = f" Reason: {detail}." if detail else ""
    return _message("order_cancelled", f"Order {order.order_id} cancelled", order,
                    f"your order {order.order_id} has been cancelled.{why} Any amount we "
                    "reserved or took from your payment method is released or refunded.")


def _message(template: str, subject: str, order: OrderFacts, text: str) -> Message:
    greeting = f"Hello {order.customer_name}," if order.customer_name else "Hello,"
    return Message(template, subject, f"{greeting}\n\n{text[:1].upper()}{text[1:]}\n\n{SIGNATURE}\n")


COMPOSERS: dict[str, Composer] = {
    "payment.authorized": _order_confirmed,
    "shipment.handed_over": _shipped,
    "shipment.delivered": _delivered,
    "return.requested": _return_label,
    "payment.refunded": _refund_issued,
    "survey.sent": _satisfaction_survey,
    "order.cancelled": _order_cancelled,
}
