"""The order as the business sees it: who buys what, shipped where, paid how."""

from __future__ import annotations

from dataclasses import dataclass

from domain.money import Money

ADDRESS_REQUIRED = ("name", "line1", "city", "postal_code", "country")

# An order's limits, so its sums stay far inside the database's 64-bit money columns and its
# workflow's payloads stay small. Lines naming the same SKU are merged into one.
MAX_LINES = 100
MAX_UNITS_PER_LINE = 1_000
MAX_UNITS = MAX_LINES * MAX_UNITS_PER_LINE  # in the whole order, after merging
MAX_GRAND_TOTAL = 10**12  # minor units: 10,000,000,000.00 in a two-decimal currency


@dataclass(frozen=True)
class Customer:
    id: str
    email: str
    name: str


@dataclass(frozen=True)
class Address:
    name: str
    line1: str
    city: str
    postal_code: str
    country: str
    line2: str = ""


@dataclass(frozen=True)
class RequestedLine:
    """A line as the storefront sends it: a SKU and how many, never a price."""

    sku: str
    quantity: int


def merged_lines(lines: tuple[RequestedLine, ...]) -> tuple[RequestedLine, ...]:
    """One line per SKU, in the order each SKU first appears, with the quantities added."""
    quantities: dict[str, int] = {}
    for line in lines:
        quantities[line.sku] = quantities.get(line.sku, 0) + line.quantity
    return tuple(RequestedLine(sku, quantity) for sku, quantity in quantities.items())


@dataclass(frozen=True)
class CheckoutRequest:
    """A structurally valid checkout payload, not yet checked against the catalogue."""

    order_id: str
    customer: Customer
    currency: str
    lines: tuple[RequestedLine, ...]
    shipping_method: str
    address: Address
    payment_method: str
    payment_token: str
    campaign: str = ""  # a promotion code: may draw on the campaign's held stock
    allow_backorder: bool = False  # the customer accepts waiting for stock that is not there


@dataclass(frozen=True)
class OrderLine:
    sku: str
    name: str
    quantity: int
    unit_price: Money

    @property
    def total(self) -> Money:
        return self.unit_price * self.quantity


@dataclass(frozen=True)
class Totals:
    subtotal: Money
    shipping: Money
    grand_total: Money


@dataclass(frozen=True)
class PricedOrder:
    """An order priced from the server's catalogue: what the workflow carries out."""

    order_id: str
    customer: Customer
    currency: str
    lines: tuple[OrderLine, ...]
    shipping_method: str
    carrier: str
    address: Address
    payment_method: str
    payment_token: str
    totals: Totals
    campaign: str = ""
    allow_backorder: bool = False
    backorderable_skus: tuple[str, ...] = ()  # SKUs the catalogue lets wait for stock


def value_of(order: PricedOrder, quantities: dict[str, int]) -> Money:
    """What `quantities` of the order's SKUs cost at the order's own prices."""
    prices = {line.sku: line.unit_price for line in order.lines}
    return sum((prices[sku] * qty for sku, qty in sorted(quantities.items())),
               Money.zero(order.currency))
