"""Who may do what through the HTTP API: each key has one role, each role a set of rights."""

from __future__ import annotations

from enum import StrEnum


class Right(StrEnum):
    PLACE_ORDER = "place_order"
    READ_ORDER = "read_order"
    # The storefront shows a signed-in customer their own orders; searching across customers
    # (by email, order id, status, dates) is support's.
    LIST_CUSTOMER_ORDERS = "list_customer_orders"
    LIST_ORDERS = "list_orders"
    CANCEL_ORDER = "cancel_order"
    REFUND_ORDER = "refund_order"
    CONFIRM_PICK = "confirm_pick"
    CONFIRM_PACK = "confirm_pack"
    READ_STOCK = "read_stock"
    RECEIVE_STOCK = "receive_stock"
    OPEN_RETURN = "open_return"
    RECEIVE_RETURN = "receive_return"
    DECIDE_RETURN = "decide_return"  # accept one held for review, or reject
    RESOLVE_DELIVERY = "resolve_delivery"  # reship or refund a parcel that did not arrive
    RATE_ORDER = "rate_order"  # the customer's survey answer, through the storefront
    RETRY_STEP = "retry_step"  # run again a step that failed beyond retry, its cause fixed


class Role(StrEnum):
    STOREFRONT = "storefront"
    SUPPORT = "support"
    WAREHOUSE = "warehouse"
    ADMIN = "admin"


_STOREFRONT = frozenset({Right.PLACE_ORDER, Right.READ_ORDER, Right.LIST_CUSTOMER_ORDERS,
                         Right.RATE_ORDER})
RIGHTS: dict[Role, frozenset[Right]] = {
    Role.STOREFRONT: _STOREFRONT,
    # Support reads stock to tell a customer when a backordered item comes in.
    Role.SUPPORT: _STOREFRONT | {Right.LIST_ORDERS, Right.CANCEL_ORDER, Right.REFUND_ORDER,
                                 Right.READ_STOCK, Right.OPEN_RETURN, Right.DECIDE_RETURN,
                                 Right.RESOLVE_DELIVERY, Right.RETRY_STEP},
    Role.WAREHOUSE: frozenset({Right.READ_ORDER, Right.CONFIRM_PICK, Right.CONFIRM_PACK,
                               Right.READ_STOCK, Right.RECEIVE_STOCK, Right.RECEIVE_RETURN}),
    Role.ADMIN: frozenset(Right),
}


def may(role: str, right: Right) -> bool:
    """True when a key of `role` may exercise `right`; unknown roles may do nothing."""
    try:
        return right in RIGHTS[Role(role)]
    except ValueError:
        return False
