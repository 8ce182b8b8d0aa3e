"""Pricing a checkout from the server's catalogue, and refusing it naming the faulty field."""

from __future__ import annotations

from dataclasses import replace

import pytest

from domain.catalogue import PAYMENT_METHODS, Catalogue, Product, ShippingMethod, price_order
from domain.errors import DomainError, InvalidOrder
from domain.money import Money
from domain.order import (
    MAX_GRAND_TOTAL,
    MAX_LINES,
    Address,
    CheckoutRequest,
    Customer,
    OrderLine,
    RequestedLine,
)


def eur(cents: int) -> Money:
    return Money(cents, "EUR")


CATALOGUE = Catalogue(
    currency="EUR",
    products={
        "MUG-01": Product("MUG-01", "Enamel mug", eur(1299)),
        "TEE-M": Product("TEE-M", "T-shirt, medium", eur(2450)),
        "PIN-03": Product("PIN-03", "Enamel pin", eur(399)),
    },
    shipping_methods={
        "standard": ShippingMethod("standard", "dhl", eur(495), transit_days=3),
        "express": ShippingMethod("express", "ups", eur(1500), transit_days=1),
    },
)

CUSTOMER = Customer(id="c-1", email="ada@example.org", name="Ada Lovelace")
ADDRESS = Address(name="Ada Lovelace", line1="1 Analytical St", city="London",
                  postal_code="N1 1AA", country="GB")


def checkout(*lines: tuple[str, int], **changes: object) -> CheckoutRequest:
    request = CheckoutRequest(
        order_id="o-1", customer=CUSTOMER, currency="EUR",
        lines=tuple(RequestedLine(sku, qty) for sku, qty in lines or [("MUG-01", 1)]),
        shipping_method="standard", address=ADDRESS, payment_method="card",
        payment_token="tok_visa",
    )
    return replace(request, **changes)  # type: ignore[arg-type]


def refusal(request: CheckoutRequest) -> InvalidOrder:
    with pytest.raises(InvalidOrder) as caught:
        price_order(request, CATALOGUE)
    return caught.value


def test_lines_are_priced_from_the_catalogue_with_the_product_name() -> None:
    priced = price_order(checkout(("MUG-01", 2), ("PIN-03", 3)), CATALOGUE)

    assert priced.lines == (
        OrderLine("MUG-01", "Enamel mug", 2, eur(1299)),
        OrderLine("PIN-03", "Enamel pin", 3, eur(399)),
    )
    assert [line.total for line in priced.lines] == [eur(2598), eur(1197)]


def test_totals_are_the_sum_of_the_lines_plus_the_shipping_price() -> None:
    priced = price_order(checkout(("MUG-01", 2), ("TEE-M", 1), ("PIN-03", 3)), CATALOGUE)

    assert priced.totals.subtotal == eur(2 * 1299 + 2450 + 3 * 399)
    assert priced.totals.shipping == eur(495)
    assert priced.totals.grand_total == eur(2 * 1299 + 2450 + 3 * 399 + 495)


def test_the_chosen_shipping_method_sets_the_carrier_and_shipping_price() -> None:
    priced = price_order(checkout(("TEE-M", 1), shipping_method="express"), CATALOGUE)

    assert priced.shipping_method == "express"
    assert priced.carrier == "ups"
    assert priced.totals.shipping == eur(1500)
    assert priced.totals.grand_total == eur(2450 + 1500)


def test_the_same_sku_on_two_lines_is_merged_into_one_line() -> None:
    priced = price_order(checkout(("PIN-03", 1), ("MUG-01", 1), ("PIN-03", 2)), CATALOGUE)

    assert [(line.sku, line.quantity) for line in priced.lines] == [("PIN-03", 3), ("MUG-01", 1)]
    assert priced.totals.subtotal == eur(3 * 399 + 1299)


def test_an_order_over_the_grand_total_limit_is_refused_naming_the_lines() -> None:
    gold = Catalogue("EUR", {"BAR": Product("BAR", "Gold bar", eur(MAX_GRAND_TOTAL))},
                     CATALOGUE.shipping_methods)

    with pytest.raises(InvalidOrder) as refused:
        price_order(checkout(("BAR", 1)), gold)

    assert refused.value.field == "lines"
    assert "over the limit" in refused.value.message


def test_an_order_over_the_line_limit_is_refused_by_the_domain_too() -> None:
    lines = [(sku, 1) for sku in CATALOGUE.products] * (MAX_LINES // 3 + 1)

    with pytest.raises(InvalidOrder) as refused:
        price_order(replace(checkout(), lines=tuple(RequestedLine(s, q) for s, q in lines)),
                    CATALOGUE)

    assert refused.value.field == "lines"


def test_the_priced_order_carries_who_where_and_how_to_pay_unchanged() -> None:
    request = checkout(("MUG-01", 1), payment_method="paypal", payment_token="pp-42")

    priced = price_order(request, CATALOGUE)

    assert priced.order_id == "o-1"
    assert priced.customer == CUSTOMER
    assert priced.address == ADDRESS
    assert priced.currency == "EUR"
    assert priced.payment_method == "paypal"
    assert priced.payment_token == "pp-42"
    assert priced.campaign == "" and priced.allow_backorder is False


@pytest.mark.parametrize("method", sorted(PAYMENT_METHODS))
def test_every_known_payment_method_is_accepted(method: str) -> None:
    assert price_order(checkout(payment_method=method), CATALOGUE).payment_method == method


def test_an_unknown_sku_is_refused_naming_its_line() -> None:
    error = refusal(checkout(("MUG-01", 1), ("TEE-M", 1), ("NOPE-9", 1)))

    assert error.field == "lines[2].sku"
    assert "unknown SKU 'NOPE-9'" in error.message
    assert str(error).startswith("lines[2].sku: ")


@pytest.mark.parametrize("quantity", [0, -1])
def test_a_quantity_below_one_is_refused_naming_its_line(quantity: int) -> None:
    error = refusal(checkout(("MUG-01", 1), ("TEE-M", quantity)))

    assert error.field == "lines[1].quantity"
    assert error.message == "must be at least 1"


def test_the_first_faulty_line_is_the_one_named() -> None:
    error = refusal(checkout(("MUG-01", 0), ("NOPE-9", 1)))

    assert error.field == "lines[0].quantity"


def test_an_unknown_sku_is_reported_before_its_quantity() -> None:
    assert refusal(checkout(("NOPE-9", 0))).field == "lines[0].sku"


def test_a_currency_other_than_the_catalogues_is_refused() -> None:
    error = refusal(checkout(currency="USD"))

    assert error.field == "currency"
    assert "'USD'" in error.message and "'EUR'" in error.message


def test_an_unknown_payment_method_is_refused_listing_the_known_ones() -> None:
    error = refusal(checkout(payment_method="bitcoin"))

    assert error.field == "payment.method"
    assert "'bitcoin'" in error.message
    assert "card, gift_card, invoice, paypal" in error.message


def test_an_unknown_shipping_method_is_refused_listing_the_catalogues_methods() -> None:
    error = refusal(checkout(shipping_method="teleport"))

    assert error.field == "shipping.method"
    assert "'teleport'" in error.message
    assert "express, standard" in error.message


def test_the_order_level_fields_are_checked_before_the_lines() -> None:
    bad_everywhere = checkout(("NOPE-9", 0), currency="USD", payment_method="x",
                              shipping_method="y")

    assert refusal(bad_everywhere).field == "currency"
    assert refusal(replace(bad_everywhere, currency="EUR")).field == "payment.method"
    assert refusal(replace(bad_everywhere, currency="EUR", payment_method="card")).field == (
        "shipping.method"
    )


def test_an_invalid_order_is_a_domain_error() -> None:
    assert isinstance(refusal(checkout(currency="USD")), DomainError)


def test_prices_follow_the_catalogue_currencys_exponent() -> None:
    yen = Catalogue(
        currency="JPY",
        products={"TEA": Product("TEA", "Sencha", Money(1200, "JPY"))},
        shipping_methods={"post": ShippingMethod("post", "japan-post", Money(800, "JPY"), 2)},
    )
    request = checkout(("TEA", 3), currency="JPY", shipping_method="post")

    priced = price_order(request, yen)

    assert priced.currency == "JPY"
    assert priced.totals.grand_total == Money(4400, "JPY")
    assert str(priced.totals.grand_total) == "4400 JPY"



def test_every_field_the_catalogue_refuses_is_named_at_once() -> None:
    error = refusal(checkout(("NOPE-9", 1), ("MUG-01", 1), ("GONE-1", 0),
                             currency="USD", shipping_method="drone"))

    assert [error.field, *(field for field, _ in error.more)] == [
        "currency", "shipping.method", "lines[0].sku", "lines[2].sku", "lines[2].quantity"]
    assert str(error).startswith("currency: 'USD' is not the catalogue's currency 'EUR'; ")
