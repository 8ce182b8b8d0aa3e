"""Who may do what through the HTTP API: each key has one role, each role a set of rights."""

from __future__ import annotations

from enum import StrEnum


class Right(StrEnum):
    PLACE_ORDER = "place_order"
    READ_ORDER = "read_order"
    LIST_ORDERS = "list_orders"
    CANCEL_ORDER = "cancel_order"
    REFUND_ORDER = "refund_order"


class Role(StrEnum):
    STOREFRONT = "storefront"
    SUPPORT = "support"
    WAREHOUSE = "warehouse"
    ADMIN = "admin"


_STOREFRONT = frozenset({Right.PLACE_ORDER, Right.READ_ORDER})
RIGHTS: dict[Role, frozenset[Right]] = {
    Role.STOREFRONT: _STOREFRONT,
    Role.SUPPORT: _STOREFRONT | {Right.LIST_ORDERS, Right.CANCEL_ORDER, Right.REFUND_ORDER},
    # The warehouse reads the orders it picks; its confirmations come with a later slice.
    Role.WAREHOUSE: frozenset({Right.READ_ORDER}),
    Role.ADMIN: frozenset(Right),
}


def may(role: str, right: Right) -> bool:
    """True when a key of `role` may exercise `right`; unknown roles may do nothing."""
    try:
        return right in RIGHTS[Role(role)]
    except ValueError:
        return False
