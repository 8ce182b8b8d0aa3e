"""Order statuses and which moves between them are legal."""

from __future__ import annotations

from enum import StrEnum


class OrderStatus(StrEnum):
    PLACED = "PLACED"
    PAYMENT_AUTHORIZED = "PAYMENT_AUTHORIZED"
    STOCK_RESERVED = "STOCK_RESERVED"
    PAYMENT_CAPTURED = "PAYMENT_CAPTURED"
    BACKORDERED = "BACKORDERED"
    PICKING = "PICKING"
    PACKED = "PACKED"
    PARTIALLY_SHIPPED = "PARTIALLY_SHIPPED"
    SHIPPED = "SHIPPED"
    DELIVERED = "DELIVERED"
    RETURN_REQUESTED = "RETURN_REQUESTED"
    RETURN_RECEIVED = "RETURN_RECEIVED"
    REFUNDED = "REFUNDED"  # goods sent back (or never arrived) were refunded, partly or fully
    COMPLETED = "COMPLETED"
    CANCELLED = "CANCELLED"
    PAYMENT_FAILED = "PAYMENT_FAILED"
    FAILED = "FAILED"


S = OrderStatus

# The happy path, in order; every step may also end in one of the terminal failures.
HAPPY_PATH: tuple[OrderStatus, ...] = (
    S.PLACED, S.PAYMENT_AUTHORIZED, S.STOCK_RESERVED, S.PAYMENT_CAPTURED,
    S.PICKING, S.PACKED, S.SHIPPED, S.DELIVERED, S.COMPLETED,
)
TERMINAL: frozenset[OrderStatus] = frozenset(
    {S.COMPLETED, S.CANCELLED, S.PAYMENT_FAILED, S.FAILED}
)
# Side steps off the happy path: waiting for stock, and an order split over several
# warehouses whose first parcels have left while others are still being packed.
DETOURS: dict[OrderStatus, frozenset[OrderStatus]] = {
    S.PAYMENT_AUTHORIZED: frozenset({S.BACKORDERED}),
    S.BACKORDERED: frozenset({S.STOCK_RESERVED}),
    S.PICKING: frozenset({S.PARTIALLY_SHIPPED}),
    S.PACKED: frozenset({S.PARTIALLY_SHIPPED}),
    S.PARTIALLY_SHIPPED: frozenset({S.SHIPPED}),
    # Every parcel lost or sent back, and support refunded rather than reshipped.
    S.SHIPPED: frozenset({S.REFUNDED}),
    # While the return window is open: returns come and go, and the order shows the latest.
    S.DELIVERED: frozenset({S.RETURN_REQUESTED}),
    S.RETURN_REQUESTED: frozenset({S.RETURN_RECEIVED, S.REFUNDED, S.DELIVERED, S.COMPLETED}),
    # Back to DELIVERED when a return is rejected or its exchange is delivered.
    S.RETURN_RECEIVED: frozenset({S.REFUNDED, S.DELIVERED, S.RETURN_REQUESTED, S.COMPLETED}),
    S.REFUNDED: frozenset({S.RETURN_REQUESTED, S.COMPLETED}),
}
# After delivery: the order is with the customer, and returns may be open.
AFTER_DELIVERY: frozenset[OrderStatus] = frozenset(
    {S.DELIVERED, S.RETURN_REQUESTED, S.RETURN_RECEIVED, S.REFUNDED})
# Cancelling is possible until the first parcel is handed to the carrier.
CANCELLABLE: frozenset[OrderStatus] = frozenset(
    HAPPY_PATH[: HAPPY_PATH.index(S.SHIPPED)]) | {S.BACKORDERED}

_FAILURES_FROM: dict[OrderStatus, frozenset[OrderStatus]] = {
    status: frozenset({S.CANCELLED, S.FAILED}) for status in CANCELLABLE
}
_FAILURES_FROM[S.PLACED] = frozenset({S.CANCELLED, S.FAILED, S.PAYMENT_FAILED})
_FAILURES_FROM[S.PAYMENT_AUTHORIZED] = frozenset({S.CANCELLED, S.FAILED, S.PAYMENT_FAILED})
_FAILURES_FROM[S.STOCK_RESERVED] = frozenset({S.CANCELLED, S.FAILED, S.PAYMENT_FAILED})
_FAILURES_FROM[S.PARTIALLY_SHIPPED] = frozenset({S.FAILED})
_FAILURES_FROM[S.SHIPPED] = frozenset({S.FAILED})
for status in AFTER_DELIVERY:
    _FAILURES_FROM[status] = frozenset()


def next_on_happy_path(status: OrderStatus) -> OrderStatus | None:
    if status not in HAPPY_PATH:
        return None
    index = HAPPY_PATH.index(status)
    return HAPPY_PATH[index + 1] if index + 1 < len(HAPPY_PATH) else None


def can_move(current: OrderStatus, target: OrderStatus) -> bool:
    """True when an order in `current` may legally move to `target`."""
    if current in TERMINAL:
        return False
    if target == next_on_happy_path(current) or target in DETOURS.get(current, frozenset()):
        return True
    return target in _FAILURES_FROM.get(current, frozenset())


def cancel_refusal(status: OrderStatus) -> str | None:
    """Why an order in `status` cannot be cancelled, or None when it can."""
    if status in CANCELLABLE:
        return None
    if status in TERMINAL:
        return f"order is already {status.value}"
    if status in AFTER_DELIVERY:
        return f"order is {status.value}: it has been delivered; open a return instead"
    return f"order is {status.value}: it has left the warehouse and can no longer be cancelled"


def progress_rank(status: OrderStatus) -> int:
    """How far along the fulfilment an order is; a partly shipped order sits between, and
    an order that ended early ranks with a completed one: it goes no further."""
    if status in TERMINAL:
        return HAPPY_PATH.index(S.COMPLETED) * 2
    if status == S.PARTIALLY_SHIPPED:
        return HAPPY_PATH.index(S.PACKED) * 2 + 1
    if status == S.BACKORDERED:
        return HAPPY_PATH.index(S.PAYMENT_AUTHORIZED) * 2 + 1
    if status in AFTER_DELIVERY:
        return HAPPY_PATH.index(S.DELIVERED) * 2 + (0 if status == S.DELIVERED else 1)
    return HAPPY_PATH.index(status) * 2
