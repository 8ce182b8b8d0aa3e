"""The storefront's checkout payload: parsed and checked with pydantic, then handed to the
domain as a CheckoutRequest. Errors name every bad field, as `lines[0].quantity`."""

from __future__ import annotations

import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from api.numbers import Whole
from api.text import Matching, Name, OptionalName, Reference, error_message
from domain.errors import InvalidOrder
from domain.order import (
    MAX_LINES,
    MAX_UNITS_PER_LINE,
    Address,
    CheckoutRequest,
    Customer,
    RequestedLine,
    merged_lines,
)
from domain.text_rules import MAX_CODE

# PostgreSQL text cannot hold NUL: an order carrying one could never be recorded. Kept for
# the routes that still name it; api/text.py holds the full rules.
NO_NUL = r"^[^\x00]*$"
ORDER_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
OrderId = Annotated[str, Matching(ORDER_ID_PATTERN)]
Sku = Annotated[str, Matching(r"^[A-Za-z0-9][A-Za-z0-9._-]*$", MAX_CODE)]
# domain.catalogue.PAYMENT_METHODS, spelt out for the type checker (a unit test compares them).
PaymentMethod = Literal["card", "gift_card", "invoice", "paypal"]
# JSON nested deeper than this is no checkout (a checkout is 4 levels deep): refused before
# parsing, so a hostile body cannot exhaust the parser's stack.
MAX_JSON_DEPTH = 32


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CustomerIn(_Strict):
    id: Name
    email: Annotated[str, Matching(r"^[^@\s\x00-\x1f\x7f-\x9f]+@[^@\s\x00-\x1f\x7f-\x9f]+"
                                   r"\.[^@\s\x00-\x1f\x7f-\x9f]+$", 200)]
    name: Name


class AddressIn(_Strict):
    name: Name
    line1: Name
    line2: OptionalName = ""
    city: Name
    postal_code: Name
    country: Annotated[str, Matching(r"^[A-Z]{2}$")]


class LineIn(_Strict):
    sku: Sku
    quantity: Annotated[int, Whole(1, MAX_UNITS_PER_LINE)]


class ShippingIn(_Strict):
    method: Annotated[str, Matching(r"^[A-Za-z0-9][A-Za-z0-9._-]*$", MAX_CODE)]
    address: AddressIn


class PaymentIn(_Strict):
    method: PaymentMethod
    token: Reference = ""


class CheckoutPayload(_Strict):
    """A checkout: at most 100 lines of 1 to 1,000 units; lines naming the same SKU are
    merged into one."""

    order_id: OrderId | None = None
    customer: CustomerIn
    currency: Annotated[str, Matching(r"^[A-Z]{3}$")]
    lines: Annotated[list[LineIn], Field(min_length=1, max_length=MAX_LINES)]
    shipping: ShippingIn
    payment: PaymentIn
    campaign: Annotated[str, Matching(r"^[A-Za-z0-9_-]{1,32}$")] | None = None
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


def _finite(text: str) -> float:
    number = float(text)
    if number in (float("inf"), float("-inf")):
        raise ValueError(f"number {text[:20]} is out of range")
    return number


def _depth(text: str) -> int:
    """How deeply the JSON text nests arrays and objects (brackets in strings aside)."""
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            escaped, in_string = (False, in_string) if escaped else (char == "\\", char != '"')
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def parse_json(raw: str | bytes) -> Any:
    """JSON text as Python values; InvalidOrder on the body when it is malformed, nested
    deeper than MAX_JSON_DEPTH, or holds a number no float can hold (`1e999999`)."""
    try:
        text = raw.decode() if isinstance(raw, bytes) else raw
        if _depth(text) > MAX_JSON_DEPTH:
            raise _malformed(f"nested deeper than {MAX_JSON_DEPTH} levels")
        return json.loads(text, parse_float=_finite, parse_constant=_no_constant)
    except json.JSONDecodeError as error:
        raise _malformed(f"{error.msg} at line {error.lineno}") from None
    except UnicodeDecodeError:
        raise _malformed("not UTF-8 text") from None
    except ValueError as error:
        raise _malformed(str(error)) from None


def _malformed(why: str) -> InvalidCheckout:
    return InvalidCheckout([FieldError("body", f"malformed JSON: {why}")])


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def parse_checkout(raw: str | bytes | dict[str, Any]) -> CheckoutRequest:
    """Parses JSON text or a dict into a CheckoutRequest; raises InvalidOrder naming the
    field, or InvalidCheckout naming every field that breaks the payload's schema."""
    data = parse_json(raw) if isinstance(raw, str | bytes) else raw
    try:
        payload = CheckoutPayload.model_validate(data)
    except ValidationError as error:
        raise InvalidCheckout([FieldError(_field_path(e["loc"]), error_message(e))
                               for e in error.errors()]) from None
    return CheckoutRequest(
        order_id=payload.order_id or new_order_id(),
        customer=Customer(**payload.customer.model_dump()),
        currency=payload.currency,
        lines=merged_lines(tuple(RequestedLine(line.sku, line.quantity)
                                 for line in payload.lines)),
        shipping_method=payload.shipping.method,
        address=Address(**payload.shipping.address.model_dump()),
        payment_method=payload.payment.method,
        payment_token=payload.payment.token,
        campaign=(payload.campaign or "").upper(),
        allow_backorder=payload.allow_backorder,
    )
