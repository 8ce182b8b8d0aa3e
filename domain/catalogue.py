"""The catalogue the server prices orders from, and the check of a checkout against it."""

from __future__ import annotations

from dataclasses import dataclass

from domain.errors import InvalidOrder
from domain.money import Money
from domain.order import CheckoutRequest, OrderLine, PricedOrder, Totals

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
    """Checks a checkout against the catalogue and prices it; raises InvalidOrder naming the field."""
    if request.currency != catalogue.currency:
        raise InvalidOrder(
            "currency", f"{request.currency!r} is not the catalogue's currency {catalogue.currency!r}"
        )
    if request.payment_method not in PAYMENT_METHODS:
        raise InvalidOrder(
            "payment.method",
            f"unknown payment method {request.payment_method!r}; "
            f"expected one of {', '.join(sorted(PAYMENT_METHODS))}",
        )
    method = catalogue.shipping_methods.get(request.shipping_method)
    if method is None:
        raise InvalidOrder(
            "shipping.method",
            f"unknown shipping method {request.shipping_method!r}; "
            f"expected one of {', '.join(sorted(catalogue.shipping_methods))}",
        )
    lines = tuple(_price_line(index, line.sku, line.quantity, catalogue)
                  for index, line in enumerate(request.lines))
    subtotal = sum((line.total for line in lines), Money.zero(catalogue.currency))
    totals = Totals(subtotal=subtotal, shipping=method.price, grand_total=subtotal + method.price)
    return PricedOrder(
        order_id=request.order_id, customer=request.customer, currency=catalogue.currency,
        lines=lines, shipping_method=method.code, carrier=method.carrier,
        address=request.address, payment_method=request.payment_method,
        payment_token=request.payment_token, totals=totals, campaign=request.campaign,
        allow_backorder=request.allow_backorder,
        backorderable_skus=tuple(sorted(
            line.sku for line in lines if catalogue.products[line.sku].backorderable)),
    )


def _price_line(index: int, sku: str, quantity: int, catalogue: Catalogue) -> OrderLine:
    product = catalogue.products.get(sku)
    if product is None:
        raise InvalidOrder(f"lines[{index}].sku", f"unknown SKU {sku!r}")
    if quantity < 1:
        raise InvalidOrder(f"lines[{index}].quantity", "must be at least 1")
    return OrderLine(sku=sku, name=product.name, quantity=quantity, unit_price=product.price)
