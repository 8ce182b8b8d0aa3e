"""When support may refund an order, and how much."""

from __future__ import annotations

import pytest

from domain.errors import InvalidMoney
from domain.money import Money
from domain.refunds import refund_refusal


def eur(cents: int) -> Money:
    return Money(cents, "EUR")


def test_a_partial_refund_of_a_captured_payment_is_allowed() -> None:
    assert refund_refusal(eur(500), captured=eur(2000), refunded=eur(0)) is None


def test_refunding_the_whole_captured_amount_is_allowed() -> None:
    assert refund_refusal(eur(2000), captured=eur(2000), refunded=eur(0)) is None


def test_refunding_exactly_the_remaining_balance_is_allowed() -> None:
    assert refund_refusal(eur(1500), captured=eur(2000), refunded=eur(500)) is None


def test_over_refund_is_refused_with_the_refundable_balance() -> None:
    reason = refund_refusal(eur(2001), captured=eur(2000), refunded=eur(0))

    assert reason == "refund of 20.01 EUR exceeds the refundable balance of 20.00 EUR"


def test_earlier_refunds_reduce_the_refundable_balance() -> None:
    reason = refund_refusal(eur(1000), captured=eur(2000), refunded=eur(1500))

    assert reason == "refund of 10.00 EUR exceeds the refundable balance of 5.00 EUR"


def test_a_fully_refunded_order_cannot_be_refunded_again() -> None:
    reason = refund_refusal(eur(1), captured=eur(2000), refunded=eur(2000))

    assert reason == "refund of 0.01 EUR exceeds the refundable balance of 0.00 EUR"


@pytest.mark.parametrize("cents", [0, -1, -500])
def test_a_zero_or_negative_refund_is_refused(cents: int) -> None:
    reason = refund_refusal(eur(cents), captured=eur(2000), refunded=eur(0))

    assert reason == "refund amount must be positive"


def test_nothing_can_be_refunded_before_payment_is_captured() -> None:
    reason = refund_refusal(eur(500), captured=eur(0), refunded=eur(0))

    assert reason == "nothing has been captured yet, so there is nothing to refund"


def test_a_refund_in_another_currency_is_refused() -> None:
    reason = refund_refusal(Money(500, "USD"), captured=eur(2000), refunded=eur(0))

    assert reason == "refund currency USD differs from the order's EUR"


def test_a_wrong_currency_is_reported_before_a_non_positive_amount() -> None:
    reason = refund_refusal(Money(0, "USD"), captured=eur(0), refunded=eur(0))

    assert reason is not None and reason.startswith("refund currency USD")


def test_a_non_positive_amount_is_reported_before_an_empty_capture() -> None:
    assert refund_refusal(eur(0), captured=eur(0), refunded=eur(0)) == (
        "refund amount must be positive"
    )


def test_the_balance_is_shown_in_the_currencys_own_decimals() -> None:
    reason = refund_refusal(Money(1001, "JPY"), captured=Money(1000, "JPY"),
                            refunded=Money(0, "JPY"))

    assert reason == "refund of 1001 JPY exceeds the refundable balance of 1000 JPY"


def test_a_refunded_total_in_another_currency_is_an_invalid_money_error() -> None:
    with pytest.raises(InvalidMoney, match="cannot combine"):
        refund_refusal(eur(100), captured=eur(2000), refunded=Money(0, "USD"))
