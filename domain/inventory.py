"""Stock per SKU and warehouse: what is salable, and which changes the stock rules allow."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from domain.errors import InvalidStockChange


@dataclass(frozen=True)
class StockPosition:
    """One SKU in one warehouse. Salable is derived, never stored."""

    on_hand: int
    reserved: int
    safety_stock: int = 0
    campaign_held: int = 0
    incoming: int = 0
    reorder_point: int = 0

    @property
    def salable(self) -> int:
        """What ordinary orders may take: safety stock and campaign holds are held back."""
        return max(0, self.on_hand - self.reserved - self.safety_stock - self.campaign_held)


# The most units one receipt, expected delivery or adjustment may move: far inside the
# ledger's 32-bit deltas, and beyond any real delivery.
MAX_STOCK_CHANGE = 1_000_000


class ReorderChange(Enum):
    FELL_TO_POINT = "fell_to_point"
    ROSE_ABOVE_POINT = "rose_above_point"


def check_receipt(quantity: int) -> None:
    if quantity <= 0:
        raise InvalidStockChange(f"a receipt needs a quantity above 0, got {quantity}")
    _check_size("a receipt", quantity)


def check_incoming(quantity: int) -> None:
    if quantity <= 0:
        raise InvalidStockChange(f"expected stock needs a quantity above 0, got {quantity}")
    _check_size("expected stock", quantity)


def _check_size(what: str, units: int) -> None:
    if abs(units) > MAX_STOCK_CHANGE:
        raise InvalidStockChange(f"{what} may move at most {MAX_STOCK_CHANGE} units, got {units}")


def check_adjustment(delta: int | None, counted: int | None) -> None:
    """An adjustment is a correction by `delta` or a cycle count of `counted`, not both."""
    if (delta is None) == (counted is None):
        raise InvalidStockChange("an adjustment needs either a delta or a counted quantity")
    if delta == 0:
        raise InvalidStockChange("an adjustment by 0 changes nothing")
    if counted is not None and counted < 0:
        raise InvalidStockChange(f"a counted quantity may not be below 0, got {counted}")
    _check_size("an adjustment", delta if delta is not None else counted or 0)


def adjusted_on_hand(position: StockPosition, *, delta: int | None = None,
                     counted: int | None = None) -> int:
    """The on-hand figure after a correction by `delta` or a cycle count of `counted`."""
    check_adjustment(delta, counted)
    after = counted if counted is not None else position.on_hand + (delta or 0)
    if after < 0:
        raise InvalidStockChange(f"adjusting below 0: on hand would be {after}")
    if after < position.reserved:
        raise InvalidStockChange(
            f"adjusting below reserved: on hand would be {after}, {position.reserved} reserved")
    return after


def check_policy(safety_stock: int | None, reorder_point: int | None) -> None:
    if safety_stock is None and reorder_point is None:
        raise InvalidStockChange("a stock policy change needs a safety stock or a reorder point")
    if safety_stock is not None and safety_stock < 0:
        raise InvalidStockChange(f"safety stock may not be below 0, got {safety_stock}")
    if reorder_point is not None and reorder_point < 0:
        raise InvalidStockChange(f"a reorder point may not be below 0, got {reorder_point}")


def crossed_reorder_point(before_salable: int, after_salable: int, reorder_point: int) -> bool:
    """True when salable falls to or below the reorder point from above."""
    return before_salable > reorder_point >= after_salable


def reorder_change(before: StockPosition, after: StockPosition) -> ReorderChange | None:
    """Whether a change took the level down to its reorder point or back above it."""
    # Headroom above the point, so raising the point counts like selling the same units.
    headroom_before = before.salable - before.reorder_point
    headroom_after = after.salable - after.reorder_point
    if crossed_reorder_point(headroom_before, headroom_after, 0):
        return ReorderChange.FELL_TO_POINT
    if crossed_reorder_point(headroom_after, headroom_before, 0):
        return ReorderChange.ROSE_ABOVE_POINT
    return None
