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

# Failures no retry can fix, found by workers/permanent_failures.py whichever activity hit
# them: bookkeeping and undo steps stop retrying and the order is flagged for attention.
PERMANENT_DATA_ERROR = "PermanentDataError"  # a value the database refuses (NUL, out of range)
CONSTRAINT_VIOLATION = "ConstraintViolation"  # not an idempotent duplicate
DATABASE_PROGRAMMING_ERROR = "DatabaseProgrammingError"  # SQL the database cannot run
PERMANENT_FAILURES = frozenset({PERMANENT_DATA_ERROR, CONSTRAINT_VIOLATION,
                                DATABASE_PROGRAMMING_ERROR})
