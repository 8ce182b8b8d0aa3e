"""The catalogue the server prices orders from, and the check of a checkout against it."""

from __future__ import annotations

from dataclasses import dataclass

from domain.errors import InvalidOrder
from domain.money import Money
from domain.order import (
    MAX_GRAND_TOTAL,
    MAX_LINES,
    MAX_UNITS,
    CheckoutRequest,
    OrderLine,
    PricedOrder,
    Totals,
    merged_lines,
)

PAYMENT_METHODS: frozenset[str] = frozenset({"card", "paypal", "invoice", "gift_card"})


@dataclass(frozen=True)
class Product:
    sku: str
    name: str
    price: Money
    backorderable: bool = False


@dataclass(frozen=True)
class ShippingMethod:
    code: str
    carrier: str
    price: Money
    transit_days: int


@dataclass(frozen=True)
class Catalogue:
    currency: str
    products: dict[str, Product]
    shipping_methods: dict[str, ShippingMethod]


def price_order(request: CheckoutRequest, catalogue: Catalogue) -> PricedOrder:
    """Checks a checkout against the catalogue and prices it; raises InvalidOrder naming
    every field the catalogue refuses."""
    problems = [*_order_problems(request, catalogue), *_line_problems(request, catalogue)]
    if problems:
        (field, message), *more = problems
        raise InvalidOrder(field, message, more=tuple(more))
    method = catalogue.shipping_methods[request.shipping_method]
    lines = tuple(OrderLine(sku=line.sku, name=catalogue.products[line.sku].name,
                            quantity=line.quantity, unit_price=catalogue.products[line.sku].price)
                  for line in merged_lines(request.lines))
    subtotal = sum((line.total for line in lines), Money.zero(catalogue.currency))
    totals = Totals(subtotal=subtotal, shipping=method.price, grand_total=subtotal + method.price)
    if totals.grand_total.amount > MAX_GRAND_TOTAL:
        raise InvalidOrder("lines", f"the order's total {totals.grand_total} is over the limit of "
                                    f"{Money(MAX_GRAND_TOTAL, catalogue.currency)}")
    return PricedOrder(
        order_id=request.order_id, customer=request.customer, currency=catalogue.currency,
        lines=lines, shipping_method=method.code, carrier=method.carrier,
        address=request.address, payment_method=request.payment_method,
        payment_token=request.payment_token, totals=totals, campaign=request.campaign,
        allow_backorder=request.allow_backorder,
        backorderable_skus=tuple(sorted(
            line.sku for line in lines if catalogue.products[line.sku].backorderable)),
    )


def _order_problems(request: CheckoutRequest, catalogue: Catalogue) -> list[tuple[str, str]]:
    problems = []
    if request.currency != catalogue.currency:
        problems.append(("currency", f"{request.currency!r} is not the catalogue's currency "
                                     f"{catalogue.currency!r}"))
    if request.payment_method not in PAYMENT_METHODS:
        problems.append(("payment.method", f"unknown payment method {request.payment_method!r}; "
                                           f"expected one of {', '.join(sorted(PAYMENT_METHODS))}"))
    if request.shipping_method not in catalogue.shipping_methods:
        problems.append(("shipping.method",
                         f"unknown shipping method {request.shipping_method!r}; "
                         f"expected one of {', '.join(sorted(catalogue.shipping_methods))}"))
    return problems


def _line_problems(request: CheckoutRequest, catalogue: Catalogue) -> list[tuple[str, str]]:
    problems = []
    if len(request.lines) > MAX_LINES:
        problems.append(("lines", f"at most {MAX_LINES} lines, not {len(request.lines)}"))
    units = sum(line.quantity for line in request.lines)
    if units > MAX_UNITS:
        problems.append(("lines", f"at most {MAX_UNITS} units in an order, not {units}"))
    for index, line in enumerate(request.lines):
        if line.sku not in catalogue.products:
            problems.append((f"lines[{index}].sku", f"unknown SKU {line.sku!r}"))
        if line.quantity < 1:
            problems.append((f"lines[{index}].quantity", "must be at least 1"))
    return problems
