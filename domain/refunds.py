"""When a refund may be given, and how much."""

from __future__ import annotations

from domain.money import Money


def refund_refusal(amount: Money, captured: Money, refunded: Money) -> str | None:
    """Why refunding `amount` is not allowed, or None when it is."""
    if amount.currency != captured.currency:
        return f"refund currency {amount.currency} differs from the order's {captured.currency}"
    if amount.amount <= 0:
        return "refund amount must be positive"
    if captured.amount == 0:
        return "nothing has been captured yet, so there is nothing to refund"
    refundable = captured - refunded
    if refundable < amount:
        return f"refund of {amount} exceeds the refundable balance of {refundable}"
    return None
