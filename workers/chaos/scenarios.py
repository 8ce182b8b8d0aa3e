"""The order mix of a chaos run: who pays how, what they buy, what support does meanwhile,
and the status each order must end in."""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from typing import Any

from workflows.order_contract import OrderTimings

HOT_SKU = "HOT-SNEAKER"
PLENTY = 1_000_000  # units of every ordinary SKU: only the hot SKU may run short
REFUND_MINOR = 500  # the goodwill refund support grants in the refund scenario
RETURNED_SKU = "TEE-BLK-M"

# Dev pace: the warehouse confirms within a second, the carrier scans every second, the
# return window and survey close within seconds, so an order ends in well under a minute.
FAST = OrderTimings(return_window_s=2, warehouse_autoconfirm_s=1, tracking_poll_s=1,
                    backorder_deadline_s=60, survey_after_s=1, survey_open_s=1, return_grace_s=1)
# Support cancels while the order waits in PICKING for a warehouse that never confirms.
MANUAL = replace(FAST, warehouse_autoconfirm_s=None)
# Long enough for support to refund, or to request and receive a return, through a
# dev-server restart. A return asked for late in the window stays open for its parcel for
# two more minutes: under a long run's load the receipt can come tens of seconds later, and
# an order whose receipt arrives in time closes at once, so the grace costs nothing else.
RETURNABLE = replace(FAST, return_window_s=30, return_grace_s=120)


@dataclass(frozen=True)
class Scenario:
    name: str
    expect: frozenset[str]  # the final statuses this order may end in
    payment: tuple[str, str] = ("card", "tok_visa")
    lines: tuple[tuple[str, int], ...] = (("TEE-BLK-M", 1),)
    shipping: str = "standard"
    action: str = ""  # "" | cancel | cancel_early | refund | return
    timings: OrderTimings = FAST
    weight: int = 1


def _ends(*statuses: str) -> frozenset[str]:
    return frozenset(statuses)


SCENARIOS = (
    Scenario("card", _ends("COMPLETED"), weight=3),
    Scenario("paypal express", _ends("COMPLETED"), payment=("paypal", "tok_mastercard"),
             shipping="express", weight=2),
    Scenario("invoice, two lines", _ends("COMPLETED"), payment=("invoice", ""),
             lines=(("MUG-LOGO", 2), ("TEE-BLK-M", 1)), weight=2),
    Scenario("gift card", _ends("COMPLETED"), payment=("gift_card", "gc_99999999"), weight=2),
    Scenario("flaky gateway", _ends("COMPLETED"), payment=("card", "tok_flaky"), weight=2),
    Scenario("hot SKU", _ends("COMPLETED", "FAILED"), lines=((HOT_SKU, 1),), weight=4),
    Scenario("declined", _ends("PAYMENT_FAILED"), payment=("card", "tok_declined")),
    Scenario("cancel while picking", _ends("CANCELLED"), action="cancel", timings=MANUAL,
             weight=2),
    # Cancelled while payment and stock are being worked on: a worker killed then must not
    # leave the events of the path not taken in the database.
    Scenario("cancel at once", _ends("CANCELLED"), action="cancel_early", weight=2),
    Scenario("goodwill refund", _ends("COMPLETED"), action="refund", timings=RETURNABLE),
    Scenario("return, refunded", _ends("COMPLETED"), lines=((RETURNED_SKU, 2),),
             action="return", timings=RETURNABLE),
)


@dataclass(frozen=True)
class PlannedOrder:
    order_id: str
    scenario: Scenario

    @property
    def customer_id(self) -> str:
        # One customer per order: the gateway's books and the sent messages are then the
        # order's own (invoice credit, authorizations, recipient address).
        return f"cus_{self.order_id.lower()}"

    @property
    def email(self) -> str:
        return f"{self.order_id.lower()}@chaos.example"

    def checkout(self) -> dict[str, Any]:
        method, token = self.scenario.payment
        return {
            "order_id": self.order_id,
            "customer": {"id": self.customer_id, "email": self.email, "name": "Chaos Monkey"},
            "currency": "EUR",
            "lines": [{"sku": sku, "quantity": qty} for sku, qty in self.scenario.lines],
            "shipping": {"method": self.scenario.shipping,
                         "address": {"name": "Chaos Monkey", "line1": "Unter den Linden 1",
                                     "city": "Berlin", "postal_code": "10117", "country": "DE"}},
            "payment": {"method": method, "token": token},
        }


def plan_orders(count: int, rng: random.Random, run: str) -> list[PlannedOrder]:
    """Every scenario at least once (when `count` allows), the rest drawn by weight, shuffled."""
    picks = list(SCENARIOS[:count])
    picks += rng.choices(SCENARIOS, weights=[s.weight for s in SCENARIOS],
                         k=max(0, count - len(picks)))
    rng.shuffle(picks)
    return [PlannedOrder(f"CH-{run}-{n:04d}", s) for n, s in enumerate(picks, start=1)]


def hot_stock(orders: list[PlannedOrder]) -> dict[str, int]:
    """Fewer hot units than hot orders, split over both warehouses."""
    wanted = sum(qty for o in orders for sku, qty in o.scenario.lines if sku == HOT_SKU)
    units = max(1, wanted * 2 // 3)
    return {"BER": (units + 1) // 2, "HAM": units // 2}


def catalogue(orders: list[PlannedOrder]) -> dict[str, Any]:
    """The run's catalogue: plenty of everything but the hot SKU."""
    hot = hot_stock(orders)
    return {
        "warehouses": [{"code": "BER", "name": "Berlin", "country": "DE", "priority": 1},
                       {"code": "HAM", "name": "Hamburg", "country": "DE", "priority": 2}],
        "products": [
            {"sku": "TEE-BLK-M", "name": "T-shirt black M", "price": "19.99", "currency": "EUR"},
            {"sku": "MUG-LOGO", "name": "Mug with logo", "price": "9.50", "currency": "EUR"},
            {"sku": HOT_SKU, "name": "Sneaker (limited)", "price": "89.00", "currency": "EUR"},
        ],
        "stock": [
            {"sku": "TEE-BLK-M", "warehouse": "BER", "on_hand": PLENTY},
            {"sku": "TEE-BLK-M", "warehouse": "HAM", "on_hand": PLENTY},
            {"sku": "MUG-LOGO", "warehouse": "BER", "on_hand": PLENTY},
            *({"sku": HOT_SKU, "warehouse": wh, "on_hand": units} for wh, units in hot.items()
              if units),
        ],
    }
