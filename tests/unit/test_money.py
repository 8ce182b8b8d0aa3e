"""Money: integer minor units with a currency, read from decimal strings, never a float."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import pytest

from domain.errors import InvalidMoney
from domain.money import CURRENCY_EXPONENTS, Money, exponent


@pytest.mark.parametrize(
    ("currency", "places"), [("EUR", 2), ("USD", 2), ("GBP", 2), ("JPY", 0), ("KRW", 0), ("KWD", 3)]
)
def test_each_currency_has_its_iso_4217_exponent(currency: str, places: int) -> None:
    assert exponent(currency) == places


def test_an_unknown_currency_has_no_exponent() -> None:
    with pytest.raises(InvalidMoney, match="unknown currency 'XYZ'"):
        exponent("XYZ")


def test_money_in_an_unknown_currency_is_refused() -> None:
    with pytest.raises(InvalidMoney, match="unknown currency"):
        Money(100, "XYZ")


def test_currency_codes_are_case_sensitive() -> None:
    with pytest.raises(InvalidMoney):
        Money(100, "eur")


@pytest.mark.parametrize("amount", [19.99, 1.0, Decimal("19.99"), "1999", None])
def test_an_amount_that_is_not_an_integer_is_refused(amount: object) -> None:
    with pytest.raises(InvalidMoney, match="integer of minor units"):
        Money(amount, "EUR")  # type: ignore[arg-type]


def test_a_boolean_amount_is_refused_although_bool_is_an_int() -> None:
    with pytest.raises(InvalidMoney):
        Money(True, "EUR")


def test_zero_is_no_minor_units_in_the_given_currency() -> None:
    assert Money.zero("JPY") == Money(0, "JPY")


@pytest.mark.parametrize(
    ("text", "currency", "minor"),
    [
        ("19.99", "EUR", 1999),
        ("19.9", "EUR", 1990),
        ("19", "EUR", 1900),
        ("0.01", "EUR", 1),
        ("0", "EUR", 0),
        ("1500", "JPY", 1500),
        ("1.234", "KWD", 1234),
        ("1.2", "KWD", 1200),
        ("  7.50  ", "GBP", 750),
        ("-0.05", "EUR", -5),
        ("1e3", "JPY", 1000),
    ],
)
def test_a_decimal_string_is_read_into_minor_units_of_its_currency(
    text: str, currency: str, minor: int
) -> None:
    assert Money.parse(text, currency) == Money(minor, currency)


def test_trailing_zeros_beyond_the_exponent_are_not_extra_decimals() -> None:
    assert Money.parse("19.9900", "EUR") == Money(1999, "EUR")
    assert Money.parse("1500.00", "JPY") == Money(1500, "JPY")


@pytest.mark.parametrize(
    ("text", "currency"),
    [("19.999", "EUR"), ("0.001", "USD"), ("1.5", "JPY"), ("0.1", "KRW"), ("1.2345", "KWD")],
)
def test_more_decimals_than_the_currency_allows_are_refused_not_rounded(
    text: str, currency: str
) -> None:
    with pytest.raises(InvalidMoney, match=f"more decimals than {currency} allows"):
        Money.parse(text, currency)


@pytest.mark.parametrize("text", ["", "abc", "19,99", "1.2.3", "NaN", "Infinity", "-inf", "sNaN"])
def test_text_that_is_not_a_finite_amount_is_refused(text: str) -> None:
    with pytest.raises(InvalidMoney, match="is not an amount"):
        Money.parse(text, "EUR")


def test_parsing_in_an_unknown_currency_is_refused() -> None:
    with pytest.raises(InvalidMoney, match="unknown currency"):
        Money.parse("1.00", "XYZ")


def test_adding_money_of_one_currency_adds_the_minor_units() -> None:
    assert Money(1999, "EUR") + Money(1, "EUR") == Money(2000, "EUR")


def test_subtracting_money_of_one_currency_may_go_negative() -> None:
    assert Money(500, "EUR") - Money(750, "EUR") == Money(-250, "EUR")


def test_multiplying_by_a_whole_quantity_scales_the_amount() -> None:
    assert Money(1999, "EUR") * 3 == Money(5997, "EUR")


def test_multiplying_by_a_fraction_is_refused_because_it_would_make_a_float() -> None:
    with pytest.raises(InvalidMoney):
        Money(1999, "EUR") * 1.5  # type: ignore[operator]


def test_money_can_be_summed_from_a_zero_of_its_currency() -> None:
    prices = [Money(100, "USD"), Money(250, "USD"), Money(5, "USD")]
    assert sum(prices, Money.zero("USD")) == Money(355, "USD")


@pytest.mark.parametrize(
    "combine",
    [
        lambda a, b: a + b,
        lambda a, b: a - b,
        lambda a, b: a < b,
        lambda a, b: a <= b,
        lambda a, b: a > b,
        lambda a, b: a >= b,
    ],
    ids=["add", "sub", "lt", "le", "gt", "ge"],
)
def test_mixing_currencies_is_refused(combine: Callable[[Money, Money], object]) -> None:
    with pytest.raises(InvalidMoney, match="cannot combine"):
        combine(Money(100, "EUR"), Money(100, "USD"))


def test_amounts_of_one_currency_compare_by_minor_units() -> None:
    small, large = Money(999, "EUR"), Money(1000, "EUR")
    assert small < large
    assert small <= large
    assert large > small
    assert large >= small
    assert small <= Money(999, "EUR")
    assert not large < small


def test_equal_amounts_in_different_currencies_are_not_equal() -> None:
    assert Money(100, "EUR") != Money(100, "USD")


def test_money_is_immutable() -> None:
    price = Money(100, "EUR")
    with pytest.raises(AttributeError):
        price.amount = 200  # type: ignore[misc]


@pytest.mark.parametrize(
    ("money", "text"),
    [
        (Money(1999, "EUR"), "19.99 EUR"),
        (Money(5, "EUR"), "0.05 EUR"),
        (Money(0, "USD"), "0.00 USD"),
        (Money(-250, "GBP"), "-2.50 GBP"),
        (Money(1500, "JPY"), "1500 JPY"),
        (Money(1234, "KWD"), "1.234 KWD"),
        (Money(1, "KWD"), "0.001 KWD"),
    ],
)
def test_money_prints_with_exactly_its_currencys_decimals(money: Money, text: str) -> None:
    assert str(money) == text


def test_to_decimal_gives_the_major_unit_value() -> None:
    assert Money(1999, "EUR").to_decimal() == Decimal("19.99")
    assert Money(1500, "JPY").to_decimal() == Decimal("1500")


@pytest.mark.parametrize("currency", sorted(CURRENCY_EXPONENTS))
def test_printing_then_parsing_gives_back_the_same_money(currency: str) -> None:
    money = Money(123456, currency)
    text, printed_currency = str(money).split(" ")
    assert Money.parse(text, printed_currency) == money
