"""A small async Python client of the fulfil HTTP API, for Python storefronts."""

from client.errors import (
    FieldError,
    FulfilError,
    InvalidOrder,
    NotAuthorized,
    NotFound,
    OrderRefused,
    ServerError,
    Unreachable,
)
from client.fulfil_client import Backoff, FulfilClient, new_idempotency_key
from client.results import (
    Money,
    Order,
    OrderPage,
    OrderSummary,
    PlacedOrder,
    ReturnAuthorization,
)

__all__ = [
    "Backoff", "FieldError", "FulfilClient", "FulfilError", "InvalidOrder", "Money",
    "NotAuthorized", "NotFound", "Order", "OrderPage", "OrderRefused", "OrderSummary",
    "PlacedOrder", "ReturnAuthorization", "ServerError", "Unreachable", "new_idempotency_key",
]
