"""`fulfil demo`: a scripted set of orders that shows every path of the engine."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Any

from rich.console import Console
from rich.table import Table

from activities.db.backorder_repository import BackorderRepository
from activities.db.outbox_repository import OutboxRepository
from api.aftercare import AftercareService
from api.orders import OrderService
from api.stock import StockService
from domain.status import TERMINAL, OrderStatus, progress_rank
from workers.render import order_json
from workers.runtime import Services
from workflows.order_contract import OrderView

WAIT_FOR_STATUS_S = 180.0
WAIT_FOR_MESSAGES_S = 10.0
Action = Callable[[OrderService, str], Awaitable[Any]]


@dataclass(frozen=True)
class Scenario:
    name: str
    expect: str
    lines: tuple[tuple[str, int], ...] = (("TEE-BLK-M", 1),)
    payment: tuple[str, str] = ("card", "tok_visa")
    postal_code: str = "10117"
    shipping: str = "standard"
    then: tuple[str, Action] | None = field(default=None)  # (wait for status, support action)
    manual_warehouse: bool = False  # the order waits in PICKING until someone acts


async def _cancel(orders: OrderService, order_id: str) -> Any:
    return await orders.cancel(order_id, "customer changed their mind", actor="demo-support")


async def _refund(orders: OrderService, order_id: str) -> Any:
    return await orders.refund(order_id, "5.00", "late delivery goodwill", actor="demo-support")


async def _deliver_scarf(orders: OrderService, order_id: str) -> Any:
    """Goods-in books a delivery for every scarf on backorder; the receipt fills them oldest
    first (a scarf order of an earlier, interrupted demo run goes before this one)."""
    async with orders.session_factory() as session:
        waiting = await BackorderRepository(session).waiting_units("SCARF-RED")
    stock = StockService(orders.session_factory, orders.client)
    return await stock.receive("SCARF-RED", "BER", waiting, reference=f"PO-{order_id}",
                               actor="demo-goods-in")


async def _return_too_small(orders: OrderService, order_id: str) -> Any:
    """The customer sends one shirt back; the warehouse finds it as new: refunded."""
    aftercare = AftercareService(orders)
    opened = await aftercare.request_return(order_id, {"TEE-BLK-M": 1}, "SIZE_TOO_SMALL",
                                            actor="demo-support")
    return await aftercare.receive_return(opened.rma, {"TEE-BLK-M": 1}, "resellable",
                                          actor="demo-goods-in")


async def _refund_undeliverable(orders: OrderService, order_id: str) -> Any:
    """Support refunds the parcel the carrier brought back, once it waits for a decision."""
    deadline = time.monotonic() + WAIT_FOR_STATUS_S
    while not any(s.awaiting_decision for s in (await orders.view(order_id)).shipments):
        if time.monotonic() > deadline:
            return None
        await asyncio.sleep(0.25)
    return await AftercareService(orders).resolve_delivery(order_id, "refund",
                                                           actor="demo-support")


# Received at the start of every run, so repeated demos never run the shelves empty.
RESTOCK = (("TEE-BLK-M", "BER", 7), ("TEE-WHT-L", "BER", 1), ("MUG-LOGO", "BER", 4),
           ("HOODIE-GRY-M", "HAM", 1))

SCENARIOS = (
    Scenario("card payment, delivered", "DELIVERED"),
    Scenario("PayPal, express, delivered", "DELIVERED", payment=("paypal", "tok_visa"),
             shipping="express"),
    Scenario("invoice, two lines, delivered", "DELIVERED", payment=("invoice", ""),
             lines=(("MUG-LOGO", 2), ("TEE-WHT-L", 1))),
    Scenario("gift card, delivered", "DELIVERED", payment=("gift_card", "gc_99999999")),
    Scenario("card declined", "PAYMENT_FAILED", payment=("card", "tok_declined")),
    Scenario("insufficient funds", "PAYMENT_FAILED", payment=("card", "tok_insufficient_funds")),
    Scenario("flaky gateway, retried, charged once", "DELIVERED", payment=("card", "tok_flaky")),
    Scenario("cancelled by support while picking", "CANCELLED", then=("PICKING", _cancel),
             manual_warehouse=True),
    Scenario("partial refund 5.00", "DELIVERED", then=("PAYMENT_CAPTURED", _refund)),
    Scenario("carrier rejects the address", "FAILED", postal_code="00000"),
    Scenario("not enough stock", "FAILED", lines=(("CAP-NAVY", 50),)),
    Scenario("split: mugs from Berlin, hoodie from Hamburg", "DELIVERED",
             lines=(("MUG-LOGO", 2), ("HOODIE-GRY-M", 1))),
    Scenario("backordered until goods-in receives it", "DELIVERED",
             lines=(("SCARF-RED", 1),), then=("BACKORDERED", _deliver_scarf)),
    Scenario("returned as too small, restocked, refunded", "REFUNDED",
             then=("DELIVERED", _return_too_small)),
    Scenario("first delivery attempt failed, delivered next try", "DELIVERED",
             postal_code="99001"),
    Scenario("sent back by the carrier, restocked, refunded", "COMPLETED", postal_code="99002",
             then=("SHIPPED", _refund_undeliverable)),
)


def _checkout(scenario: Scenario, order_id: str, run: str) -> dict[str, Any]:
    method, token = scenario.payment
    return {
        "order_id": order_id,
        "customer": {"id": f"cus_demo_{run}", "email": "ada@example.com", "name": "Ada Lovelace"},
        "currency": "EUR",
        "lines": [{"sku": sku, "quantity": qty} for sku, qty in scenario.lines],
        "shipping": {"method": scenario.shipping,
                     "address": {"name": "Ada Lovelace", "line1": "Unter den Linden 1",
                                 "city": "Berlin", "postal_code": scenario.postal_code,
                                 "country": "DE"}},
        "payment": {"method": method, "token": token},
    }


def _reached(status: str, wanted: str) -> bool:
    """True once the order is at `wanted`, further along the happy path, or closed."""
    current = OrderStatus(status)
    return current in TERMINAL or progress_rank(current) >= progress_rank(OrderStatus(wanted))


async def _wait_for(orders: OrderService, order_id: str, wanted: str) -> OrderView:
    deadline = time.monotonic() + WAIT_FOR_STATUS_S
    while True:
        view = await orders.view(order_id)
        if _reached(view.status, wanted) or time.monotonic() > deadline:
            return view
        await asyncio.sleep(0.25)


async def _play(services: dict[bool, OrderService], scenario: Scenario, order_id: str,
                run: str) -> OrderView:
    orders = services[scenario.manual_warehouse]
    await orders.place(_checkout(scenario, order_id, run))
    if scenario.then is not None:
        status, action = scenario.then
        await _wait_for(orders, order_id, status)
        await action(orders, order_id)
    return await _wait_for(orders, order_id, scenario.expect)


async def run_demo(services: Services, console: Console, *, as_json: bool = False) -> bool:
    """Places every scenario at once, waits for each outcome, prints the summary."""
    # Demo pace: the simulated warehouse confirms within a second, the carrier moves on
    # every second, so every order settles in well under a minute.
    timings = replace(services.settings.timings, warehouse_autoconfirm_s=1, tracking_poll_s=1)
    orders = {manual: OrderService(
        services.client, services.session_factory, services.settings.task_queue,
        replace(timings, warehouse_autoconfirm_s=None) if manual else timings)
        for manual in (False, True)}
    run = time.strftime("%m%d%H%M%S", time.gmtime())
    ids = [f"DEMO-{run}-{n:02d}" for n in range(1, len(SCENARIOS) + 1)]
    stock = StockService(services.session_factory)
    for sku, warehouse, quantity in RESTOCK:
        await stock.receive(sku, warehouse, quantity, reference=f"DEMO-{run}",
                            actor="demo-goods-in")
    if not as_json:
        console.print(f"placing {len(SCENARIOS)} demo orders (run {run}) ...")
    started = time.monotonic()
    views = await asyncio.gather(*(_play(orders, s, i, run) for s, i in zip(SCENARIOS, ids,
                                                                             strict=True)))
    if as_json:
        print(json.dumps([{"scenario": s.name, "expected": s.expect, **order_json(v)}
                          for s, v in zip(SCENARIOS, views, strict=True)], default=str))
    else:
        _print_summary(console, views, time.monotonic() - started)
        await _print_messages(services, console, ids)
    if services.temporal_ui and not as_json:
        console.print(f"Temporal UI: {services.temporal_ui} (run `fulfil dev` to keep it up)")
    return all(v.status == s.expect for v, s in zip(views, SCENARIOS, strict=True))


async def _print_messages(services: Services, console: Console, ids: list[str]) -> None:
    """Lets the outbox relay catch up with the last events, then counts the customer messages."""
    relay, deadline = services.outbox_relay(), time.monotonic() + WAIT_FOR_MESSAGES_S
    while True:
        await relay.run_once()
        async with services.session_factory() as session:
            counts = await OutboxRepository(session).count_by_status(ids)
        if counts["pending"] == 0 or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.25)
    console.print(f"customer messages: {counts['sent']} sent, {counts['pending']} waiting, "
                  f"{counts['failed']} failed (fulfil notifications list --order {ids[0]})")


def _print_summary(console: Console, views: list[OrderView], seconds: float) -> None:
    table = Table("scenario", "order", "expected", "status", "total", "captured", "refunded",
                  "ok", title=f"fulfil demo: {len(views)} orders in {seconds:.1f}s")
    for scenario, view in zip(SCENARIOS, views, strict=True):
        table.add_row(scenario.name, view.order.order_id, scenario.expect, view.status,
                      str(view.order.totals.grand_total), str(view.payment.captured),
                      str(view.payment.refunded),
                      "yes" if view.status == scenario.expect else "NO")
    console.print(table)


