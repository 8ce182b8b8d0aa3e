"""Order statuses: the happy path, the terminal states and when a customer may still cancel."""

from __future__ import annotations

import itertools

import pytest

from domain.status import (
    AFTER_DELIVERY,
    CANCELLABLE,
    HAPPY_PATH,
    TERMINAL,
    OrderStatus,
    can_move,
    cancel_refusal,
    next_on_happy_path,
    progress_rank,
)

S = OrderStatus
NOT_YET_SHIPPED = [S.PLACED, S.PAYMENT_AUTHORIZED, S.BACKORDERED, S.STOCK_RESERVED,
                   S.PAYMENT_CAPTURED, S.PICKING, S.PACKED]
BEFORE_CAPTURE = [S.PLACED, S.PAYMENT_AUTHORIZED, S.STOCK_RESERVED]
FAILURES = [S.CANCELLED, S.PAYMENT_FAILED, S.FAILED]


def test_the_happy_path_runs_from_placed_to_completed_in_business_order() -> None:
    assert HAPPY_PATH == (
        S.PLACED, S.PAYMENT_AUTHORIZED, S.STOCK_RESERVED, S.PAYMENT_CAPTURED,
        S.PICKING, S.PACKED, S.SHIPPED, S.DELIVERED, S.COMPLETED,
    )


def test_statuses_are_strings_equal_to_their_names() -> None:
    for status in OrderStatus:
        assert status == status.name
        assert OrderStatus(status.value) is status


@pytest.mark.parametrize(("current", "target"), list(itertools.pairwise(HAPPY_PATH)))
def test_each_step_may_move_to_the_next_on_the_happy_path(
    current: OrderStatus, target: OrderStatus
) -> None:
    assert next_on_happy_path(current) == target
    assert can_move(current, target)


def test_completed_is_the_end_of_the_happy_path() -> None:
    assert next_on_happy_path(S.COMPLETED) is None


@pytest.mark.parametrize(
    ("current", "target"),
    [
        (a, b)
        for i, a in enumerate(HAPPY_PATH)
        for j, b in enumerate(HAPPY_PATH)
        if j != i + 1
    ],
)
def test_the_happy_path_cannot_skip_a_step_stand_still_or_go_back(
    current: OrderStatus, target: OrderStatus
) -> None:
    assert not can_move(current, target)


def test_completed_cancelled_and_both_failures_are_the_terminal_statuses() -> None:
    assert {S.COMPLETED, S.CANCELLED, S.PAYMENT_FAILED, S.FAILED} == TERMINAL


@pytest.mark.parametrize(
    ("current", "target"), list(itertools.product(sorted(TERMINAL), list(OrderStatus)))
)
def test_a_terminal_order_never_moves_again(current: OrderStatus, target: OrderStatus) -> None:
    assert not can_move(current, target)


@pytest.mark.parametrize("current", NOT_YET_SHIPPED)
def test_an_order_that_has_not_shipped_may_be_cancelled_or_fail(current: OrderStatus) -> None:
    assert can_move(current, S.CANCELLED)
    assert can_move(current, S.FAILED)


@pytest.mark.parametrize("current", BEFORE_CAPTURE)
def test_payment_may_fail_until_it_has_been_captured(current: OrderStatus) -> None:
    assert can_move(current, S.PAYMENT_FAILED)


@pytest.mark.parametrize("current", [S.PAYMENT_CAPTURED, S.PICKING, S.PACKED, S.SHIPPED,
                                     S.DELIVERED])
def test_payment_can_no_longer_fail_once_captured(current: OrderStatus) -> None:
    assert not can_move(current, S.PAYMENT_FAILED)


def test_a_shipped_order_may_fail_but_not_be_cancelled() -> None:
    assert can_move(S.SHIPPED, S.FAILED)
    assert not can_move(S.SHIPPED, S.CANCELLED)


@pytest.mark.parametrize("target", FAILURES)
def test_a_delivered_order_can_only_complete(target: OrderStatus) -> None:
    assert can_move(S.DELIVERED, S.COMPLETED)
    assert not can_move(S.DELIVERED, target)


def test_orders_are_cancellable_exactly_until_they_ship() -> None:
    assert set(NOT_YET_SHIPPED) == CANCELLABLE


@pytest.mark.parametrize("status", NOT_YET_SHIPPED)
def test_cancelling_before_shipping_is_allowed(status: OrderStatus) -> None:
    assert cancel_refusal(status) is None


@pytest.mark.parametrize("status", [S.SHIPPED, S.PARTIALLY_SHIPPED])
def test_cancel_after_shipping_is_refused_because_the_parcel_left_the_warehouse(
    status: OrderStatus,
) -> None:
    reason = cancel_refusal(status)
    assert reason == (
        f"order is {status.value}: it has left the warehouse and can no longer be cancelled"
    )


@pytest.mark.parametrize("status", sorted(TERMINAL))
def test_cancelling_a_finished_order_is_refused_naming_its_final_status(
    status: OrderStatus,
) -> None:
    assert cancel_refusal(status) == f"order is already {status.value}"


@pytest.mark.parametrize("status", list(OrderStatus))
def test_an_order_is_cancellable_exactly_when_it_may_move_to_cancelled(
    status: OrderStatus,
) -> None:
    assert (cancel_refusal(status) is None) == can_move(status, S.CANCELLED)


def test_an_authorized_order_may_wait_for_stock_and_then_hold_it() -> None:
    assert can_move(S.PAYMENT_AUTHORIZED, S.BACKORDERED)
    assert can_move(S.BACKORDERED, S.STOCK_RESERVED)
    assert not can_move(S.BACKORDERED, S.PAYMENT_CAPTURED)


def test_a_split_order_is_partly_shipped_between_picking_and_shipped() -> None:
    assert can_move(S.PICKING, S.PARTIALLY_SHIPPED)
    assert can_move(S.PACKED, S.PARTIALLY_SHIPPED)
    assert can_move(S.PARTIALLY_SHIPPED, S.SHIPPED)
    assert not can_move(S.PARTIALLY_SHIPPED, S.CANCELLED)
    assert cancel_refusal(S.PARTIALLY_SHIPPED) is not None


def test_progress_rank_orders_detours_between_their_neighbours() -> None:
    assert progress_rank(S.PACKED) < progress_rank(S.PARTIALLY_SHIPPED) < progress_rank(S.SHIPPED)
    assert (progress_rank(S.PAYMENT_AUTHORIZED) < progress_rank(S.BACKORDERED)
            < progress_rank(S.STOCK_RESERVED))


@pytest.mark.parametrize("status", sorted(AFTER_DELIVERY))
def test_cancel_after_delivery_points_to_a_return(status: OrderStatus) -> None:
    assert cancel_refusal(status) == (
        f"order is {status.value}: it has been delivered; open a return instead")


def test_returns_come_and_go_while_the_window_is_open() -> None:
    assert can_move(S.DELIVERED, S.RETURN_REQUESTED)
    assert can_move(S.RETURN_REQUESTED, S.RETURN_RECEIVED)
    assert can_move(S.RETURN_RECEIVED, S.REFUNDED)
    assert can_move(S.REFUNDED, S.RETURN_REQUESTED)
    assert can_move(S.RETURN_RECEIVED, S.DELIVERED)  # rejected, or the exchange arrived
    assert can_move(S.REFUNDED, S.COMPLETED)


def test_a_return_cannot_be_requested_before_delivery_nor_after_completion() -> None:
    assert not can_move(S.SHIPPED, S.RETURN_REQUESTED)
    assert not can_move(S.COMPLETED, S.RETURN_REQUESTED)
    assert not can_move(S.DELIVERED, S.RETURN_RECEIVED)


def test_an_order_whose_parcels_never_arrived_may_end_refunded() -> None:
    assert can_move(S.SHIPPED, S.REFUNDED)
    assert not can_move(S.PACKED, S.REFUNDED)


def test_after_delivery_statuses_rank_after_delivered_and_before_completion() -> None:
    for status in AFTER_DELIVERY - {S.DELIVERED}:
        assert progress_rank(S.DELIVERED) < progress_rank(status) < progress_rank(S.COMPLETED)
