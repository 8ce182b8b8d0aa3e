"""How activities report business failures to workflows: non-retryable application
errors with a type name the workflow can branch on."""

from __future__ import annotations

from temporalio.exceptions import ApplicationError

PAYMENT_DECLINED = "PaymentDeclined"
OUT_OF_STOCK = "OutOfStock"
ADDRESS_REJECTED = "AddressRejected"
SHIPMENT_NOT_CANCELLABLE = "ShipmentNotCancellable"
UNKNOWN_RESERVATION = "UnknownReservation"
RETURN_INSPECTION_INVALID = "ReturnInspectionInvalid"


def business_failure(error_type: str, message: str) -> ApplicationError:
    """A failure retrying cannot fix; the workflow compensates instead."""
    return ApplicationError(message, type=error_type, non_retryable=True)
