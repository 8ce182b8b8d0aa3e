"""The stock rules without a database: salable stock, adjustments, reorder points."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.errors import InvalidStockChange
from domain.inventory import (
    ReorderChange,
    StockPosition,
    adjusted_on_hand,
    crossed_reorder_point,
    reorder_change,
)


def test_salable_is_on_hand_less_reserved_safety_stock_and_campaign_holds() -> None:
    assert StockPosition(on_hand=20, reserved=5, safety_stock=3, campaign_held=4).salable == 8


def test_salable_is_never_below_zero() -> None:
    assert StockPosition(on_hand=5, reserved=5, safety_stock=2).salable == 0


def test_incoming_stock_is_not_salable_yet() -> None:
    assert StockPosition(on_hand=5, reserved=0, incoming=100).salable == 5


@pytest.mark.parametrize(("before", "after", "point", "crossed"), [
    (5, 3, 3, True),    # falls onto the point
    (5, 0, 3, True),    # falls through it
    (3, 2, 3, False),   # was already at the point
    (6, 4, 3, False),   # still above
    (2, 5, 3, False),   # rises
    (1, 0, 0, True),    # a sell-out crosses a reorder point of 0
])
def test_crossing_the_reorder_point_means_falling_to_it_from_above(
    before: int, after: int, point: int, crossed: bool
) -> None:
    assert crossed_reorder_point(before, after, point) is crossed


def test_raising_the_reorder_point_above_salable_counts_as_falling_to_it() -> None:
    before = StockPosition(on_hand=10, reserved=0, reorder_point=3)

    assert reorder_change(before, StockPosition(10, 0, reorder_point=10)) is (
        ReorderChange.FELL_TO_POINT)
    assert reorder_change(StockPosition(10, 0, reorder_point=10), before) is (
        ReorderChange.ROSE_ABOVE_POINT)
    assert reorder_change(before, StockPosition(9, 0, reorder_point=3)) is None


@given(st.integers(0, 50), st.integers(0, 50), st.integers(-60, 60))
def test_an_adjustment_never_leaves_less_on_hand_than_reserved(
    on_hand: int, reserved: int, delta: int
) -> None:
    position = StockPosition(max(on_hand, reserved), reserved)
    try:
        after = adjusted_on_hand(position, delta=delta)
    except InvalidStockChange:
        assert delta == 0 or position.on_hand + delta < reserved
    else:
        assert after == position.on_hand + delta >= reserved
