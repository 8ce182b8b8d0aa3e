"""Return rules: who may send what back, why, and how much money goes back for it."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from domain.money import Money
from domain.order import PricedOrder, value_of


class ReturnReason(StrEnum):
    SIZE_TOO_SMALL = "SIZE_TOO_SMALL"
    SIZE_TOO_LARGE = "SIZE_TOO_LARGE"
    DEFECTIVE = "DEFECTIVE"
    DAMAGED_IN_TRANSIT = "DAMAGED_IN_TRANSIT"
    WRONG_ITEM = "WRONG_ITEM"
    NOT_AS_DESCRIBED = "NOT_AS_DESCRIBED"
    CHANGED_MIND = "CHANGED_MIND"
    ARRIVED_LATE = "ARRIVED_LATE"
    OTHER = "OTHER"


R = ReturnReason

# The shop's fault: the customer gets the shipping cost back too (once per order).
MERCHANT_FAULT: frozenset[ReturnReason] = frozenset(
    {R.DEFECTIVE, R.DAMAGED_IN_TRANSIT, R.WRONG_ITEM, R.NOT_AS_DESCRIBED, R.ARRIVED_LATE})


class Resolution(StrEnum):
    REFUND = "refund"
    EXCHANGE = "exchange"  # the same product in another variant, shipped as a replacement


class Reception(StrEnum):
    """Where the returned parcel is."""

    AWAITING = "awaiting"
    IN_TRANSIT = "in_transit"
    RECEIVED = "received"
    LOST = "lost"


class Acceptance(StrEnum):
    """What the shop decided about the returned goods."""

    PENDING = "pending"
    ACCEPTED = "accepted"
    REJECTED = "rejected"


class Condition(StrEnum):
    RESELLABLE = "resellable"
    DAMAGED = "damaged"


@dataclass(frozen=True)
class ReturnLine:
    sku: str
    quantity: int
    exchange_sku: str = ""  # for an exchange: the variant to send instead


def parse_reason(text: str) -> ReturnReason:
    try:
        return ReturnReason(text.strip().upper())
    except ValueError:
        known = ", ".join(reason.value for reason in ReturnReason)
        raise ValueError(f"unknown return reason {text!r}; expected one of {known}") from None


def rma_id(order_id: str, number: int) -> str:
    return f"RMA-{order_id}-{number}"


def variant_of(sku: str) -> tuple[str, str]:
    """A SKU's product and variant: `TEE-BLK-M` is product `TEE-BLK` in variant `M`."""
    product, _, variant = sku.rpartition("-")
    return (product, variant) if product else (sku, "")


def is_other_variant(sku: str, exchange_sku: str) -> bool:
    """True when `exchange_sku` is the same product as `sku` in a different variant."""
    return exchange_sku != sku and variant_of(sku)[0] == variant_of(exchange_sku)[0] != ""


def return_refusal(lines: list[ReturnLine], reason: ReturnReason, comment: str,
                   resolution: Resolution, *, returnable: dict[str, int]) -> str | None:
    """Why this return cannot be opened, or None. `returnable` is, per SKU, what was
    delivered and not already returned."""
    if not lines:
        return "a return needs at least one line"
    if reason == R.OTHER and not comment.strip():
        return "reason OTHER needs a comment saying what is wrong"
    seen: set[str] = set()
    for line in lines:
        if line.sku in seen:
            return f"{line.sku} appears twice: give one line per SKU"
        seen.add(line.sku)
        if line.quantity <= 0:
            return f"quantity of {line.sku} must be positive"
        left = returnable.get(line.sku, 0)
        if line.quantity > left:
            return (f"{line.quantity}x {line.sku} exceeds what can be returned ({left})"
                    if left else f"{line.sku} was not delivered with this order, or is returned")
        refusal = _exchange_refusal(line, resolution)
        if refusal:
            return refusal
    return None


def _exchange_refusal(line: ReturnLine, resolution: Resolution) -> str | None:
    if resolution == Resolution.REFUND:
        return f"{line.sku}: an exchange SKU needs resolution exchange" if line.exchange_sku else None
    if not line.exchange_sku:
        return f"{line.sku}: an exchange names the variant to send instead"
    if not is_other_variant(line.sku, line.exchange_sku):
        return f"{line.exchange_sku} is not another variant of {line.sku}"
    return None


def returnable(delivered: dict[str, int], returned: dict[str, int]) -> dict[str, int]:
    """Per SKU, what was delivered and is not yet in a return."""
    return {sku: qty - returned.get(sku, 0) for sku, qty in delivered.items()
            if qty - returned.get(sku, 0) > 0}


def refund_for_return(order: PricedOrder, accepted: dict[str, int], reason: ReturnReason, *,
                      shipping_refunded: bool, refundable: Money) -> Money:
    """The goods accepted back at the order's prices, plus the shipping cost when the shop
    was at fault and it has not been refunded yet; never more than is left to refund."""
    amount = value_of(order, accepted)
    if reason in MERCHANT_FAULT and not shipping_refunded:
        amount = amount + order.totals.shipping
    return min(amount, refundable, key=lambda m: m.amount)
