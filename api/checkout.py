"""The storefront's checkout payload: parsed and checked with pydantic, then handed to the
domain as a CheckoutRequest. Errors name every bad field, as `lines[0].quantity`."""

from __future__ import annotations

import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from domain.errors import InvalidOrder
from domain.order import Address, CheckoutRequest, Customer, RequestedLine

# PostgreSQL text cannot hold NUL: an order carrying one could never be recorded.
NO_NUL = r"^[^\x00]*$"
NonEmpty = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200,
                                            pattern=NO_NUL)]
Text = Annotated[str, StringConstraints(max_length=200, pattern=NO_NUL)]
ORDER_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
OrderId = Annotated[str, StringConstraints(pattern=ORDER_ID_PATTERN)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CustomerIn(_Strict):
    id: NonEmpty
    email: Annotated[str, StringConstraints(
        max_length=200, pattern=r"^[^@\s\x00]+@[^@\s\x00]+\.[^@\s\x00]+$")]
    name: NonEmpty


class AddressIn(_Strict):
    name: NonEmpty
    line1: NonEmpty
    line2: Text = ""
    city: NonEmpty
    postal_code: NonEmpty
    country: Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]


class LineIn(_Strict):
    sku: NonEmpty
    quantity: Annotated[int, Field(strict=True, ge=1, le=10_000)]


class ShippingIn(_Strict):
    method: NonEmpty
    address: AddressIn


class PaymentIn(_Strict):
    method: NonEmpty
    token: Text = ""


class CheckoutPayload(_Strict):
    order_id: OrderId | None = None
    customer: CustomerIn
    currency: Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]
    lines: Annotated[list[LineIn], Field(min_length=1, max_length=200)]
    shipping: ShippingIn
    payment: PaymentIn
    campaign: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,32}$")] | None = None
    allow_backorder: bool = False


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str


class InvalidCheckout(InvalidOrder):
    """A checkout with one or more bad fields; `field` and `message` are the first of them."""

    def __init__(self, errors: Sequence[FieldError]) -> None:
        super().__init__(errors[0].field, errors[0].message)
        self.errors = tuple(errors)

    def __str__(self) -> str:
        return "; ".join(f"{e.field}: {e.message}" for e in self.errors)


def field_errors(error: InvalidOrder) -> tuple[FieldError, ...]:
    """Every field an InvalidOrder names: all of a checkout's, or all the catalogue's."""
    if isinstance(error, InvalidCheckout):
        return error.errors
    return tuple(FieldError(field, message)
                 for field, message in ((error.field, error.message), *error.more))


def new_order_id() -> str:
    return f"ORD-{secrets.token_hex(6).upper()}"


def _field_path(location: tuple[int | str, ...]) -> str:
    path = ""
    for part in location:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path or "body"


def parse_checkout(raw: str | bytes | dict[str, Any]) -> CheckoutRequest:
    """Parses JSON text or a dict into a CheckoutRequest; raises InvalidOrder naming the
    field, or InvalidCheckout naming every field that breaks the payload's schema."""
    try:
        data = json.loads(raw) if isinstance(raw, str | bytes) else raw
    except json.JSONDecodeError as error:
        raise InvalidOrder("body", f"malformed JSON: {error.msg} at line {error.lineno}") from None
    except UnicodeDecodeError:
        raise InvalidOrder("body", "malformed JSON: not UTF-8 text") from None
    try:
        payload = CheckoutPayload.model_validate(data)
    except ValidationError as error:
        raise InvalidCheckout([FieldError(_field_path(e["loc"]), e["msg"])
                               for e in error.errors()]) from None
    return CheckoutRequest(
        order_id=payload.order_id or new_order_id(),
        customer=Customer(**payload.customer.model_dump()),
        currency=payload.currency,
        lines=tuple(RequestedLine(line.sku, line.quantity) for line in payload.lines),
        shipping_method=payload.shipping.method,
        address=Address(**payload.shipping.address.model_dump()),
        payment_method=payload.payment.method,
        payment_token=payload.payment.token,
        campaign=(payload.campaign or "").upper(),
        allow_backorder=payload.allow_backorder,
    )
