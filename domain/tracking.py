"""What a carrier's tracking codes mean for the order: progress, final states, exceptions."""

from __future__ import annotations

from enum import StrEnum


class TrackingCode(StrEnum):
    LABEL_CREATED = "label_created"
    PICKED_UP = "picked_up"
    IN_TRANSIT = "in_transit"
    OUT_FOR_DELIVERY = "out_for_delivery"
    DELIVERED = "delivered"
    DELIVERY_FAILED = "delivery_failed"
    RETURNED_TO_SENDER = "returned_to_sender"
    LOST = "lost"


T = TrackingCode

# A failed delivery is an exception the carrier recovers from (it tries again); a parcel
# returned to the sender or lost will not arrive, and support decides what happens next.
EXCEPTIONS: frozenset[TrackingCode] = frozenset({T.DELIVERY_FAILED, T.RETURNED_TO_SENDER, T.LOST})
UNDELIVERABLE: frozenset[TrackingCode] = frozenset({T.RETURNED_TO_SENDER, T.LOST})


def parse_code(text: str) -> TrackingCode:
    """The tracking code `text` names, or ValueError listing the codes there are."""
    try:
        return TrackingCode(text.strip().lower())
    except ValueError:
        known = ", ".join(code.value for code in TrackingCode)
        raise ValueError(f"unknown tracking code {text!r}; expected one of {known}") from None


def is_exception(code: str) -> bool:
    return code in EXCEPTIONS
